using ClusterDns.Protocol;

namespace ClusterDns.Plugins.ZoneFiles;

/// <summary>What a lookup concluded (CoreDNS's file.Result).</summary>
public enum FileResult : byte
{
    Success,
    NameError,
    Delegation,
    NoData,
    ServerFailure,
}

/// <summary>The sections of an answer, plus a CNAME target outside the zone still to be resolved through the server.</summary>
public sealed record FileAnswer(List<DnsRecord> Answer, List<DnsRecord> Authority, List<DnsRecord> Additional, FileResult Result,
    DnsName? ExternalTarget = null);

/// <summary>
/// One loaded zone, immutable: the apex SOA and NS kept apart (as CoreDNS's Apex) and every other record by lower-case
/// owner, plus the names that exist only as ancestors (empty non-terminals). <see cref="Lookup"/> follows CoreDNS's
/// file/lookup.go: delegations found walking down from the apex, exact names, CNAME chains inside the zone, wildcards,
/// NODATA and NXDOMAIN with the SOA.
/// </summary>
public sealed class FileZone
{
    private readonly Dictionary<string, List<DnsRecord>> _names;
    private readonly HashSet<string> _nonTerminals;

    private FileZone(DnsName origin, SoaRecord soa, List<DnsRecord> apexNs, Dictionary<string, List<DnsRecord>> names,
        HashSet<string> nonTerminals, List<DnsRecord> all, string fileName)
    {
        Origin = origin;
        Soa = soa;
        ApexNs = apexNs;
        _names = names;
        _nonTerminals = nonTerminals;
        All = all;
        FileName = fileName;
    }

    public DnsName Origin { get; }

    public SoaRecord Soa { get; }

    public IReadOnlyList<DnsRecord> ApexNs { get; }

    /// <summary>Every record in file order (the SOA included), for transfers.</summary>
    public IReadOnlyList<DnsRecord> All { get; }

    public string FileName { get; }

    public static FileZone Create(DnsName origin, List<DnsRecord> records, string fileName)
    {
        SoaRecord? soa = null;
        var apexNs = new List<DnsRecord>();
        var names = new Dictionary<string, List<DnsRecord>>(StringComparer.Ordinal);
        var nonTerminals = new HashSet<string>(StringComparer.Ordinal);
        var all = new List<DnsRecord>();
        foreach (var record in records)
        {
            var isApex = record.Name.Equals(origin);
            if (isApex && record is SoaRecord s)
            {
                if (soa is null)
                {
                    soa = s;
                    all.Add(s);
                }
                continue;
            }
            all.Add(record);
            if (isApex && record is NsRecord)
            {
                apexNs.Add(record);
                continue;
            }
            var key = Key(record.Name);
            if (!names.TryGetValue(key, out var list))
            {
                names[key] = list = [];
            }
            list.Add(record);
            for (var parent = record.Name.Parent(); parent.LabelCount > origin.LabelCount; parent = parent.Parent())
            {
                nonTerminals.Add(Key(parent));
            }
        }
        if (soa is null)
        {
            throw new FormatException($"file \"{fileName}\" has no SOA record for origin {origin}");
        }
        return new FileZone(origin, soa, apexNs, names, nonTerminals, all, fileName);
    }

    private static string Key(DnsName name) => name.ToLowerInvariant().ToString();

    /// <summary>Answers <paramref name="qname"/> (lower-case, inside the zone) for <paramref name="qtype"/>.</summary>
    public FileAnswer Lookup(DnsName qname, DnsType qtype)
    {
        var key = qname.ToString();
        if (qtype == DnsType.SOA && qname.Equals(Origin))
        {
            return new([Soa], [.. ApexNs], [], FileResult.Success);
        }
        if (qtype == DnsType.NS && qname.Equals(Origin))
        {
            return new([.. ApexNs], [], Glue(ApexNs), FileResult.Success);
        }
        List<DnsRecord>? wild = null;
        List<DnsRecord>? elem = null;
        var found = false;
        // Walk from the apex down to qname: the first delegation on the way wins; remember the deepest wildcard.
        for (var labels = Origin.LabelCount; labels <= qname.LabelCount; labels++)
        {
            var part = qname.Parent(qname.LabelCount - labels);
            found = _names.TryGetValue(part.ToString(), out elem);
            if (!found)
            {
                if (labels > 0 && _names.TryGetValue(part.Parent().Prepend("*").ToString(), out var w))
                {
                    wild = w;
                }
                continue;
            }
            var ns = OfType(elem!, DnsType.NS);
            if (ns.Count > 0)
            {
                if (qtype == DnsType.DS && labels == qname.LabelCount)
                {
                    continue;
                }
                return new([], ns, Glue(ns), FileResult.Delegation);
            }
        }
        if (found)
        {
            var cname = OfType(elem!, DnsType.CNAME);
            if (cname.Count > 0 && qtype != DnsType.CNAME)
            {
                return Chase(cname, qtype);
            }
            var rrs = OfType(elem!, qtype);
            if (rrs.Count == 0)
            {
                return new([], [Soa], [], FileResult.NoData);
            }
            return new(rrs, [.. ApexNs], Additional(rrs), FileResult.Success);
        }
        if (wild is not null)
        {
            var cname = ForWildcard(wild, DnsType.CNAME, qname);
            if (cname.Count > 0)
            {
                return Chase(cname, qtype);
            }
            var rrs = ForWildcard(wild, qtype, qname);
            return rrs.Count == 0 ? new([], [Soa], [], FileResult.Success) : new(rrs, [.. ApexNs], [], FileResult.Success);
        }
        // An empty non-terminal exists (NOERROR), anything else does not (NXDOMAIN); both carry the SOA.
        return new([], [Soa], [], _nonTerminals.Contains(key) ? FileResult.Success : FileResult.NameError);
    }

    /// <summary>CoreDNS's externalLookup: follow CNAMEs inside the zone (at most 8 more), then take the target's records
    /// of the asked type; a target outside the tree is left for the server to resolve.</summary>
    private FileAnswer Chase(List<DnsRecord> cname, DnsType qtype)
    {
        var answer = new List<DnsRecord>(cname);
        var target = ((CnameRecord)cname[0]).Target;
        for (var i = 0; ; i++)
        {
            if (!_names.TryGetValue(Key(target), out var elem))
            {
                return new(answer, [.. ApexNs], [], FileResult.Success, target);
            }
            var next = OfType(elem, DnsType.CNAME);
            if (next.Count == 0)
            {
                answer.AddRange(OfType(elem, qtype));
                return new(answer, [.. ApexNs], [], FileResult.Success);
            }
            answer.AddRange(next);
            target = ((CnameRecord)next[0]).Target;
            if (i >= 8)
            {
                return new(answer, [.. ApexNs], [], FileResult.Success);
            }
        }
    }

    /// <summary>A and AAAA of in-zone NS targets.</summary>
    private List<DnsRecord> Glue(IReadOnlyList<DnsRecord> ns)
    {
        var glue = new List<DnsRecord>();
        foreach (var record in ns)
        {
            if (record is NsRecord { Target: var target } && _names.TryGetValue(Key(target), out var elem))
            {
                glue.AddRange(OfType(elem, DnsType.A));
                glue.AddRange(OfType(elem, DnsType.AAAA));
            }
        }
        return glue;
    }

    /// <summary>A and AAAA of in-zone MX and SRV targets (CoreDNS's additionalProcessing).</summary>
    private List<DnsRecord> Additional(List<DnsRecord> answer)
    {
        var extra = new List<DnsRecord>();
        foreach (var record in answer)
        {
            var target = record switch
            {
                MxRecord mx => mx.Exchange,
                SrvRecord srv => srv.Target,
                _ => null,
            };
            if (target is null || !target.IsSubdomainOf(Origin) || !_names.TryGetValue(Key(target), out var elem))
            {
                continue;
            }
            extra.AddRange(OfType(elem, DnsType.A));
            extra.AddRange(OfType(elem, DnsType.AAAA));
        }
        return extra;
    }

    private static List<DnsRecord> OfType(List<DnsRecord> records, DnsType type)
    {
        var result = new List<DnsRecord>();
        foreach (var record in records)
        {
            if (record.Type == type)
            {
                result.Add(record);
            }
        }
        return result;
    }

    private static List<DnsRecord> ForWildcard(List<DnsRecord> records, DnsType type, DnsName qname)
    {
        var result = new List<DnsRecord>();
        foreach (var record in records)
        {
            if (record.Type == type)
            {
                result.Add(record with { Name = qname });
            }
        }
        return result;
    }
}
