using System.Buffers.Binary;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Minimal;

/// <summary>
/// CoreDNS <c>minimal</c>: a positive NOERROR reply written by the rest of the chain keeps only its header, question
/// and answer sections; the authority and additional sections go (the OPT record is written back bare, as CoreDNS's
/// server re-adds the request's). Denials (NXDOMAIN, NODATA), errors and delegations pass untouched. The cut is made
/// in the reply's wire bytes: no parse.
/// </summary>
public sealed class MinimalPlugin : DnsPlugin
{
    private const int OptLength = 11;

    public override string Name => "minimal";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        // A zone transfer is a stream of messages: left alone, as CoreDNS hands it the real writer.
        if (request.Type is DnsType.AXFR or DnsType.IXFR)
        {
            return NextAsync(request, cancellationToken);
        }
        var pending = NextAsync(request, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitAndMinimize(request, pending);
        }
        return new ValueTask<DnsResult>(Minimize(request, pending.Result));
    }

    private async ValueTask<DnsResult> AwaitAndMinimize(DnsRequest request, ValueTask<DnsResult> pending) =>
        Minimize(request, await pending.ConfigureAwait(false));

    private DnsResult Minimize(DnsRequest request, DnsResult result)
    {
        var response = request.Response;
        if (!response.Written || result.Error is not null)
        {
            return result;
        }
        var message = response.EditableBytes;
        var type = Typify(message, out var answerEnd);
        if (type == ReplyKind.Unhandled)
        {
            return result with { Error = $"plugin/minimal: unhandled response type \"{Kind(message)}\" for \"{request.QuestionName}\"" };
        }
        if (type != ReplyKind.NoError)
        {
            return result;
        }
        BinaryPrimitives.WriteUInt16BigEndian(message[8..], 0);
        var length = answerEnd;
        if (request.HasEdns && length + OptLength <= message.Length)
        {
            var opt = message.Slice(length, OptLength);
            opt[0] = 0; // root owner
            BinaryPrimitives.WriteUInt16BigEndian(opt[1..], (ushort)DnsType.OPT);
            BinaryPrimitives.WriteUInt16BigEndian(opt[3..], Math.Max(request.Info.UdpPayloadSize, (ushort)512));
            BinaryPrimitives.WriteUInt32BigEndian(opt[5..], request.DnssecOk ? OptRecord.DoBit : 0u);
            BinaryPrimitives.WriteUInt16BigEndian(opt[9..], 0);
            length += OptLength;
            BinaryPrimitives.WriteUInt16BigEndian(message[10..], 1);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(message[10..], 0);
        }
        response.Commit(length, response.Plugin);
        return result;
    }

    internal enum ReplyKind : byte
    {
        NoError,
        PassThrough,
        Unhandled,
    }

    private static string Kind(ReadOnlySpan<byte> message) =>
        ((BinaryPrimitives.ReadUInt16BigEndian(message[2..]) >> 11) & 0xF) == (int)DnsOpcode.Update ? "UPDATE" : "META";

    /// <summary>CoreDNS's response.Typify reduced to what minimal asks: plain NOERROR (cut), update or meta
    /// (unhandled), or anything else (denial, error, delegation: passed on). <paramref name="answerEnd"/> is where
    /// the answer section ends.</summary>
    internal static ReplyKind Typify(ReadOnlySpan<byte> message, out int answerEnd)
    {
        answerEnd = 0;
        if (!DnsHeader.TryRead(message, out var header))
        {
            return ReplyKind.PassThrough;
        }
        if (header.Opcode is DnsOpcode.Update or DnsOpcode.Notify)
        {
            return ReplyKind.Unhandled;
        }
        var reader = new DnsReader(message, DnsHeader.Size);
        for (var i = 0; i < header.QuestionCount; i++)
        {
            if (!reader.TrySkipName() || !reader.TryReadUInt16(out var qtype) || !reader.TryReadUInt16(out _))
            {
                return ReplyKind.PassThrough;
            }
            if (i == 0 && (DnsType)qtype is DnsType.AXFR or DnsType.IXFR)
            {
                return ReplyKind.Unhandled;
            }
        }
        for (var i = 0; i < header.AnswerCount; i++)
        {
            if (!SkipRecord(ref reader, out _))
            {
                return ReplyKind.PassThrough;
            }
        }
        answerEnd = reader.Position;
        var rcode = (DnsRcode)header.Rcode;
        if (header.AnswerCount > 0 && rcode == DnsRcode.NoError)
        {
            return ReplyKind.NoError;
        }
        var soa = false;
        var ns = 0;
        for (var i = 0; i < header.AuthorityCount; i++)
        {
            if (!SkipRecord(ref reader, out var type))
            {
                return ReplyKind.PassThrough;
            }
            soa |= type == DnsType.SOA;
            ns += type == DnsType.NS ? 1 : 0;
        }
        // NODATA / NXDOMAIN (SOA), errors and delegations (NS) pass; a bare NOERROR is cut.
        return rcode == DnsRcode.NoError && !soa && ns == 0 ? ReplyKind.NoError : ReplyKind.PassThrough;
    }

    private static bool SkipRecord(ref DnsReader reader, out DnsType type)
    {
        type = DnsType.None;
        if (!reader.TrySkipName() || !reader.TryReadUInt16(out var rrType) || !reader.TryReadUInt16(out _)
            || !reader.TryReadUInt32(out _) || !reader.TryReadUInt16(out var length) || reader.Remaining < length)
        {
            return false;
        }
        reader.Position += length;
        type = (DnsType)rrType;
        return true;
    }
}
