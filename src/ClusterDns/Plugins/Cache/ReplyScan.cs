using System.Buffers.Binary;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Cache;

/// <summary>CoreDNS's response.Type classification, as the cache uses it.</summary>
internal enum ReplyType : byte
{
    NoError,
    NameError,
    ServerError,
    NoData,
    Delegation,
    Meta,
    Update,
    OtherError,
}

/// <summary>
/// What the cache needs to know about a written reply, read straight from its wire bytes (no object model):
/// classification, minimal TTL, where every TTL field is, and where the OPT record sits so it can be left out.
/// </summary>
internal struct ReplyScan
{
    public ushort Flags;
    public int Rcode;
    public int QuestionCount;
    public int QuestionEnd;
    public DnsType QType;
    public DnsClass QClass;
    public int NameLength;
    public ReplyType Type;
    /// <summary>Minimum TTL over all RRs except OPT, capped at 3600 (dnsutil.MinimalTTL); -1 when there are no such RRs.</summary>
    public long MinTtl;
    public int RecordCount;
    public int OptStart;
    public int OptEnd;

    public readonly bool Truncated => (Flags & DnsHeader.TcBit) != 0;

    /// <summary>Scans <paramref name="message"/>. TTL offsets of non-OPT records go to <paramref name="ttlOffsets"/>
    /// (sized by the caller to the record count). Returns false for a malformed message.</summary>
    public static bool TryScan(ReadOnlySpan<byte> message, Span<byte> nameBuffer, Span<ushort> ttlOffsets, out ReplyScan scan)
    {
        scan = default;
        scan.OptStart = -1;
        if (!DnsHeader.TryRead(message, out var header))
        {
            return false;
        }
        scan.Flags = header.Flags;
        scan.QuestionCount = header.QuestionCount;
        var reader = new DnsReader(message, DnsHeader.Size);
        for (var i = 0; i < header.QuestionCount; i++)
        {
            if (!reader.TryReadName(nameBuffer, out var length) || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out var @class))
            {
                return false;
            }
            if (i == 0)
            {
                scan.NameLength = length;
                scan.QType = (DnsType)type;
                scan.QClass = (DnsClass)@class;
                scan.QuestionEnd = reader.Position;
            }
        }
        var total = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
        if (total > ttlOffsets.Length)
        {
            return false;
        }
        var minTtl = long.MaxValue;
        var soa = false;
        var ns = 0;
        var extendedRcode = 0;
        var offsets = 0;
        for (var i = 0; i < total; i++)
        {
            var start = reader.Position;
            if (!reader.TrySkipName() || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out _))
            {
                return false;
            }
            var ttlOffset = reader.Position;
            if (!reader.TryReadUInt32(out var ttl) || !reader.TryReadUInt16(out var rdLength) || reader.Remaining < rdLength)
            {
                return false;
            }
            reader.Position += rdLength;
            if ((DnsType)type == DnsType.OPT && i >= header.AnswerCount + header.AuthorityCount)
            {
                // Hop-by-hop: never stored, never counted; its TTL field carries the extended rcode.
                scan.OptStart = start;
                scan.OptEnd = reader.Position;
                extendedRcode = (int)(ttl >> 24);
                continue;
            }
            if (i >= header.AnswerCount && i < header.AnswerCount + header.AuthorityCount)
            {
                if ((DnsType)type == DnsType.SOA)
                {
                    soa = true;
                }
                else if ((DnsType)type == DnsType.NS)
                {
                    ns++;
                }
            }
            minTtl = Math.Min(minTtl, ttl);
            ttlOffsets[offsets++] = (ushort)ttlOffset;
        }
        scan.RecordCount = offsets;
        scan.Rcode = header.Rcode | (extendedRcode << 4);
        scan.MinTtl = offsets == 0 ? -1 : Math.Min(minTtl, 3600);
        scan.Type = Classify(header, scan, soa, ns);
        return true;
    }

    private static ReplyType Classify(in DnsHeader header, in ReplyScan scan, bool soa, int ns)
    {
        if (header.Opcode == DnsOpcode.Update)
        {
            return ReplyType.Update;
        }
        if (header.Opcode == DnsOpcode.Notify || (scan.QuestionCount > 0 && scan.QType is DnsType.AXFR or DnsType.IXFR))
        {
            return ReplyType.Meta;
        }
        var rcode = (DnsRcode)scan.Rcode;
        if (header.AnswerCount > 0 && rcode == DnsRcode.NoError)
        {
            return ReplyType.NoError;
        }
        if (soa && rcode == DnsRcode.NoError)
        {
            return ReplyType.NoData;
        }
        if (soa && rcode == DnsRcode.NXDomain)
        {
            return ReplyType.NameError;
        }
        if (rcode is DnsRcode.ServFail or DnsRcode.NotImp)
        {
            return ReplyType.ServerError;
        }
        if (ns > 0 && rcode == DnsRcode.NoError)
        {
            return ReplyType.Delegation;
        }
        return rcode == DnsRcode.NoError ? ReplyType.NoError : ReplyType.OtherError;
    }

    /// <summary>Upper bound of records in a message of this length (each takes at least 11 octets).</summary>
    public static int MaxRecords(ReadOnlySpan<byte> message)
    {
        if (message.Length < DnsHeader.Size)
        {
            return 0;
        }
        var counts = BinaryPrimitives.ReadUInt16BigEndian(message[6..]) + BinaryPrimitives.ReadUInt16BigEndian(message[8..])
            + BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        return Math.Min(counts, message.Length / 11 + 1);
    }
}
