using System.Net;

namespace ClusterDns.Protocol;

/// <summary>Decodes RDATA by type. Returns null on malformed data; the caller checks that exactly RDLENGTH was consumed.</summary>
internal static class RecordDataReader
{
    public static DnsRecord? Read(DnsType type, ref DnsReader reader, int end, DnsName name, uint ttl, DnsClass @class)
    {
        DnsRecord? record = type switch
        {
            DnsType.A => ReadAddress(ref reader, end, 4) is { } a ? new ARecord(a) { Name = name } : null,
            DnsType.AAAA => ReadAddress(ref reader, end, 16) is { } a6 ? new AaaaRecord(a6) { Name = name } : null,
            DnsType.CNAME => ReadName(ref reader, end) is { } c ? new CnameRecord(c) { Name = name } : null,
            DnsType.NS => ReadName(ref reader, end) is { } ns ? new NsRecord(ns) { Name = name } : null,
            DnsType.PTR => ReadName(ref reader, end) is { } p ? new PtrRecord(p) { Name = name } : null,
            DnsType.DNAME => ReadName(ref reader, end) is { } d ? new DnameRecord(d) { Name = name } : null,
            DnsType.MX => ReadMx(ref reader, end, name),
            DnsType.SRV => ReadSrv(ref reader, end, name),
            DnsType.SOA => ReadSoa(ref reader, end, name),
            DnsType.TXT => ReadTxt(ref reader, end, name),
            DnsType.HINFO => ReadHinfo(ref reader, end, name),
            DnsType.OPT => ReadOpt(ref reader, end),
            _ => ReadUnknown(type, ref reader, end, name),
        };
        return record is null ? null : record with { Name = name, Ttl = ttl, Class = @class };
    }

    private static IPAddress? ReadAddress(ref DnsReader reader, int end, int size) =>
        end - reader.Position == size && reader.TryReadBytes(size, out var bytes) ? new IPAddress(bytes) : null;

    private static DnsName? ReadName(ref DnsReader reader, int end) =>
        reader.TryReadName(out var name) && reader.Position <= end ? name : null;

    private static MxRecord? ReadMx(ref DnsReader reader, int end, DnsName owner) =>
        reader.TryReadUInt16(out var preference) && ReadName(ref reader, end) is { } exchange
            ? new MxRecord(preference, exchange) { Name = owner }
            : null;

    private static SrvRecord? ReadSrv(ref DnsReader reader, int end, DnsName owner) =>
        reader.TryReadUInt16(out var priority) && reader.TryReadUInt16(out var weight) && reader.TryReadUInt16(out var port)
        && ReadName(ref reader, end) is { } target
            ? new SrvRecord(priority, weight, port, target) { Name = owner }
            : null;

    private static SoaRecord? ReadSoa(ref DnsReader reader, int end, DnsName owner)
    {
        if (ReadName(ref reader, end) is not { } mname || ReadName(ref reader, end) is not { } rname
            || end - reader.Position != 20
            || !reader.TryReadUInt32(out var serial) || !reader.TryReadUInt32(out var refresh) || !reader.TryReadUInt32(out var retry)
            || !reader.TryReadUInt32(out var expire) || !reader.TryReadUInt32(out var minimum))
        {
            return null;
        }
        return new SoaRecord(mname, rname, serial, refresh, retry, expire, minimum) { Name = owner };
    }

    private static TxtRecord? ReadTxt(ref DnsReader reader, int end, DnsName owner)
    {
        var strings = new List<string>(1);
        while (reader.Position < end)
        {
            if (!CharacterString.TryRead(ref reader, end, out var text))
            {
                return null;
            }
            strings.Add(text);
        }
        return new TxtRecord(strings) { Name = owner };
    }

    private static HinfoRecord? ReadHinfo(ref DnsReader reader, int end, DnsName owner) =>
        CharacterString.TryRead(ref reader, end, out var cpu) && CharacterString.TryRead(ref reader, end, out var os)
            ? new HinfoRecord(cpu, os) { Name = owner }
            : null;

    private static OptRecord? ReadOpt(ref DnsReader reader, int end)
    {
        var options = new List<EdnsOption>();
        while (reader.Position < end)
        {
            if (!reader.TryReadUInt16(out var code) || !reader.TryReadUInt16(out var length) || reader.Position + length > end
                || !reader.TryReadBytes(length, out var data))
            {
                return null;
            }
            options.Add(new EdnsOption(code, data.ToArray()));
        }
        return new OptRecord { Name = DnsName.Root, Options = options };
    }

    private static UnknownRecord? ReadUnknown(DnsType type, ref DnsReader reader, int end, DnsName owner) =>
        reader.TryReadBytes(end - reader.Position, out var data) ? new UnknownRecord(type, data.ToArray()) { Name = owner } : null;
}
