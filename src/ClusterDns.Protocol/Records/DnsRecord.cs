using System.Globalization;

namespace ClusterDns.Protocol;

/// <summary>
/// A resource record: owner, class, TTL and typed data. Immutable (C# records), value equality with
/// names compared case-insensitively. Each type lives in its own file and knows its RDATA wire and
/// presentation forms; unknown types are kept as opaque RDATA (<see cref="UnknownRecord"/>, RFC 3597).
/// </summary>
public abstract record DnsRecord
{
    public required DnsName Name { get; init; }

    public uint Ttl { get; init; }

    public DnsClass Class { get; init; } = DnsClass.IN;

    public abstract DnsType Type { get; }

    /// <summary>Writes RDATA only (no length). False when the buffer is full.</summary>
    public abstract bool TryWriteData(ref DnsWriter writer);

    /// <summary>RDATA in presentation (zone-file) form.</summary>
    public abstract string DataText();

    /// <summary>Zone-file form, tab separated as dig and miekg/dns print it. Sealed: otherwise every derived
    /// record would get the compiler's <c>TypeName { ... }</c> ToString instead.</summary>
    public sealed override string ToString() =>
        $"{Name}\t{Ttl.ToString(CultureInfo.InvariantCulture)}\t{Class.ToText()}\t{Type.ToText()}\t{DataText()}";

    /// <summary>Writes owner, type, class, TTL, RDLENGTH and RDATA. On failure the writer is rewound.</summary>
    public bool TryWrite(ref DnsWriter writer)
    {
        var start = writer.Position;
        if (writer.TryWriteName(Name)
            && writer.TryWriteUInt16((ushort)Type)
            && writer.TryWriteUInt16((ushort)Class)
            && writer.TryWriteUInt32(Ttl)
            && writer.TryReserveLength(out var lengthOffset)
            && TryWriteData(ref writer))
        {
            writer.PatchLength(lengthOffset);
            return true;
        }
        writer.Position = start;
        return false;
    }

    /// <summary>Reads one record at the reader's position.</summary>
    public static bool TryRead(ref DnsReader reader, out DnsRecord? record)
    {
        record = null;
        if (!reader.TryReadName(out var name)
            || !reader.TryReadUInt16(out var type)
            || !reader.TryReadUInt16(out var @class)
            || !reader.TryReadUInt32(out var ttl)
            || !reader.TryReadUInt16(out var length)
            || reader.Remaining < length)
        {
            return false;
        }
        var dataStart = reader.Position;
        var dataEnd = dataStart + length;
        record = RecordDataReader.Read((DnsType)type, ref reader, dataEnd, name, ttl, (DnsClass)@class);
        if (record is null || reader.Position != dataEnd)
        {
            record = null;
            return false;
        }
        return true;
    }

    /// <summary>Parses one record in zone-file form: <c>owner [ttl] [class] type rdata</c> (absolute names).</summary>
    public static DnsRecord Parse(string text) => ZoneText.ParseRecord(text);

    /// <summary>A copy with another TTL.</summary>
    public DnsRecord WithTtl(uint ttl) => this with { Ttl = ttl };
}
