using System.Buffers.Binary;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Log;

/// <summary>
/// CoreDNS's <c>response.Typify</c> + <c>Classify</c> read straight from the written reply bytes (no parse into
/// objects): NOERROR with answers or a delegation is success; NXDOMAIN+SOA or NODATA (NOERROR+SOA) is denial;
/// anything else — SERVFAIL, NXDOMAIN without SOA, updates, transfers, no reply at all — is error.
/// Expired-RRSIG detection (DO replies) is not done: ClusterDns serves no signed data.
/// </summary>
internal static class ReplyClassifier
{
    public static ResponseClass Classify(ReadOnlySpan<byte> reply, bool written)
    {
        if (!written || reply.Length < DnsHeader.Size)
        {
            return ResponseClass.Error;
        }
        var flags = BinaryPrimitives.ReadUInt16BigEndian(reply[2..]);
        var opcode = (flags >> 11) & 0xF;
        if (opcode is (int)DnsOpcode.Update or (int)DnsOpcode.Notify)
        {
            return ResponseClass.Error; // Update / Meta
        }
        var rcode = flags & 0xF;
        var questions = BinaryPrimitives.ReadUInt16BigEndian(reply[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(reply[6..]);
        var authorities = BinaryPrimitives.ReadUInt16BigEndian(reply[8..]);
        var position = DnsHeader.Size;
        for (var i = 0; i < questions; i++)
        {
            if (!SkipName(reply, ref position) || position + 4 > reply.Length)
            {
                return ResponseClass.Error;
            }
            if (i == 0 && BinaryPrimitives.ReadUInt16BigEndian(reply[position..]) is (ushort)DnsType.AXFR or (ushort)DnsType.IXFR)
            {
                return ResponseClass.Error; // Meta
            }
            position += 4;
        }
        if (answers > 0 && rcode == (int)DnsRcode.NoError)
        {
            return ResponseClass.Success;
        }
        for (var i = 0; i < answers; i++)
        {
            if (!SkipRecord(reply, ref position, out _))
            {
                return ResponseClass.Error;
            }
        }
        var soa = false;
        var ns = 0;
        for (var i = 0; i < authorities; i++)
        {
            if (!SkipRecord(reply, ref position, out var type))
            {
                break; // a truncated authority section classifies on what was read
            }
            if (type == DnsType.SOA)
            {
                soa = true;
            }
            else if (type == DnsType.NS)
            {
                ns++;
            }
        }
        return rcode switch
        {
            (int)DnsRcode.NoError when soa => ResponseClass.Denial, // NODATA
            (int)DnsRcode.NXDomain when soa => ResponseClass.Denial, // NXDOMAIN
            (int)DnsRcode.ServFail or (int)DnsRcode.NotImp => ResponseClass.Error,
            (int)DnsRcode.NoError => ResponseClass.Success, // delegation or plain NOERROR
            _ => ResponseClass.Error,
        };
    }

    private static bool SkipRecord(ReadOnlySpan<byte> message, ref int position, out DnsType type)
    {
        type = DnsType.None;
        if (!SkipName(message, ref position) || position + 10 > message.Length)
        {
            return false;
        }
        type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(message[position..]);
        var length = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 8)..]);
        position += 10 + length;
        return position <= message.Length;
    }

    private static bool SkipName(ReadOnlySpan<byte> message, ref int position)
    {
        while (position < message.Length)
        {
            var length = message[position];
            if (length == 0)
            {
                position++;
                return true;
            }
            if ((length & 0xC0) == 0xC0)
            {
                position += 2; // a pointer ends the name
                return position <= message.Length;
            }
            position += length + 1;
        }
        return false;
    }
}
