using System.Net;
using ClusterDns.Corefile;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

public enum KubernetesOutcome : byte
{
    /// <summary>The name is outside every plugin zone: hand the query on untouched.</summary>
    NotInZone,
    /// <summary>NOERROR with answer records (possibly pending an upstream lookup).</summary>
    Answer,
    /// <summary>NOERROR, empty answer, SOA in authority.</summary>
    NoData,
    /// <summary>NXDOMAIN, SOA in authority.</summary>
    NameError,
    /// <summary>Would be NXDOMAIN but fallthrough covers the name: call the next handler.</summary>
    Fallthrough,
    /// <summary>Would be NXDOMAIN while the API is not synced (docs/kubernetes-dns.md §8.3): SERVFAIL + SOA.</summary>
    ServFail,
    /// <summary>AXFR/IXFR: REFUSED, left to the server to write.</summary>
    Refused,
}

/// <summary>What <see cref="KubernetesResolver.Resolve"/> decided. With <see cref="UpstreamTarget"/> set the answer ends
/// in a CNAME to an out-of-zone name that the caller resolves through the server's chain (docs/kubernetes-dns.md §5.6).</summary>
public readonly record struct KubernetesResolution(KubernetesOutcome Outcome, DnsName? UpstreamTarget = null)
{
    /// <summary>The index objects the reply was computed from: how long a cached copy of it stays valid.</summary>
    internal CacheDependencies Dependencies { get; init; }
}

/// <summary>
/// The answer engine of the kubernetes plugin: immutable, built per (options, index, synced flag) and replaced as a
/// whole when the cluster changes. Resolves a question into the three record lists and reports the index objects
/// the reply was computed from (<see cref="KubernetesResolution.Dependencies"/>), so the plugin can encode the reply
/// once and serve identical questions from its <see cref="AnswerCache"/> while those objects are current; this path
/// runs only on a cache miss. Per call it allocates only the records it returns (plus their target names).
/// The query-name grammar is <see cref="KubernetesName"/>; the files of this partial class are named for what they
/// answer (lookup of names to index objects, addresses, SRV, reverse, name servers), zone transfer is
/// <see cref="KubernetesZoneTransfer"/>.
/// </summary>
public sealed partial class KubernetesResolver
{
    private const int MaxChain = 10;
    private const uint VersionTtl = 28800;
    private static readonly IReadOnlyList<string> SchemaVersion = ["1.1.0"];

    // Scratch list for lookups, one per thread and cleared per use, so a miss allocates no list.
    [ThreadStatic]
    private static List<Item>? t_items;

    private readonly KubernetesOptions _options;
    private readonly KubernetesIndex _index;
    private readonly ZoneSet _zones;
    private readonly bool[] _zoneReverse;
    private readonly bool[] _zoneMulticluster;
    private readonly Fallthrough _fallthrough;
    private readonly uint _ttl;

    public KubernetesResolver(KubernetesOptions options, ClusterState state, bool synced, IReadOnlyList<IPAddress> localAddresses)
        : this(options, KubernetesIndex.Build(state, options, localAddresses), synced)
    {
    }

    internal KubernetesResolver(KubernetesOptions options, KubernetesIndex index, bool synced, AnswerCache? answers = null)
    {
        _options = options;
        _index = index;
        Synced = synced;
        Answers = answers ?? new AnswerCache();
        CacheCapacity = AnswerCache.CapacityFor(index.State);
        _ttl = options.Ttl;
        _zones = new ZoneSet(options.Zones);
        _zoneReverse = new bool[_zones.Count];
        _zoneMulticluster = new bool[_zones.Count];
        for (var i = 0; i < _zones.Count; i++)
        {
            _zoneMulticluster[i] = options.MulticlusterZones is { } mz && mz.Contains(options.Zones[i]);
            _zoneReverse[i] = KubernetesOptions.IsReverseZone(options.Zones[i]);
        }
        _fallthrough = options.Fallthrough;
    }

    /// <summary>The next resolver after an incremental change: same options and zones (copied, not re-parsed), new
    /// index, and the same reply cache — entries stay valid as long as their tokens do.</summary>
    internal KubernetesResolver(KubernetesResolver previous, KubernetesIndex index, bool synced, AnswerCache answers)
    {
        _options = previous._options;
        _index = index;
        Synced = synced;
        Answers = answers;
        CacheCapacity = AnswerCache.CapacityFor(index.State);
        _ttl = previous._ttl;
        _zones = previous._zones;
        _zoneReverse = previous._zoneReverse;
        _zoneMulticluster = previous._zoneMulticluster;
        _fallthrough = previous._fallthrough;
    }

    public bool Synced { get; }

    /// <summary>Replies compiled from this resolver's index lineage (see <see cref="AnswerCache"/>).</summary>
    internal AnswerCache Answers { get; }

    /// <summary>Bound of <see cref="Answers"/> for this cluster's size.</summary>
    internal int CacheCapacity { get; }

    internal KubernetesIndex Index => _index;

    public KubernetesOptions Options => _options;

    /// <summary>The plugin's zones (<see cref="KubernetesOptions.Zones"/>) and their longest-zone match.</summary>
    internal ZoneSet Zones => _zones;

    /// <summary>Index of the longest plugin zone containing the (wire) name, or -1.</summary>
    public int MatchZone(ReadOnlySpan<byte> wire) => _zones.Match(wire);

    /// <summary>Answers <paramref name="qname"/>/<paramref name="qtype"/> into the three sections.</summary>
    public KubernetesResolution Resolve(DnsName qname, DnsType qtype, List<DnsRecord> answer, List<DnsRecord> authority, List<DnsRecord> additional)
    {
        var zone = MatchZone(qname.Wire);
        if (zone < 0)
        {
            return new(KubernetesOutcome.NotInZone);
        }
        if (qtype is DnsType.AXFR or DnsType.IXFR)
        {
            return new(KubernetesOutcome.Refused);
        }

        Span<byte> lower = stackalloc byte[qname.WireLength];
        Span<int> offsets = stackalloc int[KubernetesName.MaxLabels];
        var q = new KubernetesName(qname.Wire, lower, offsets, _zones.LabelCount(zone), zone);
        var dependencies = default(CacheDependencies);
        DnsName? upstream = null;
        bool exists;
        if (q.IsNsDns())
        {
            dependencies.AddGeneration(); // name-server entries
            exists = qtype is not (DnsType.TXT or DnsType.PTR);
            if (qtype is DnsType.A or DnsType.AAAA)
            {
                NameServerAddresses(ref q, qname, qtype, answer);
            }
        }
        else
        {
            switch (qtype)
            {
                case DnsType.A:
                case DnsType.AAAA:
                    exists = Addresses(ref q, qname, qtype, 0, answer, ref upstream, ref dependencies);
                    break;
                case DnsType.TXT:
                    if (q.IsDnsVersion())
                    {
                        answer.Add(new TxtRecord(SchemaVersion) { Name = qname, Ttl = VersionTtl });
                        exists = true;
                    }
                    else
                    {
                        // [Q1] (docs/kubernetes-dns.md) FOUND without items (apex, svc, ns.svc) is NXDOMAIN for TXT.
                        var items = Items();
                        exists = Lookup(ref q, items, ref dependencies) && items.Count > 0;
                    }
                    break;
                case DnsType.CNAME:
                {
                    var items = Items();
                    exists = Lookup(ref q, items, ref dependencies);
                    if (exists && items.Count > 0 && items[0].Kind == ItemKind.Name)
                    {
                        answer.Add(new CnameRecord(items[0].Target!) { Name = qname, Ttl = _ttl });
                    }
                    break;
                }
                case DnsType.SRV:
                    exists = Srv(ref q, qname, answer, additional, ref dependencies);
                    break;
                case DnsType.PTR:
                    exists = _zoneReverse[zone] && TryReverseKey(ref q, out var key)
                        ? Ptr(key, qname, answer, ref dependencies)
                        : Lookup(ref q, Items(), ref dependencies);
                    break;
                case DnsType.SOA:
                    // [Q3] (docs/kubernetes-dns.md) Any non-apex name is NODATA without an existence check.
                    dependencies.AddGeneration(); // the serial
                    exists = true;
                    if (q.BaseCount == 0)
                    {
                        answer.Add(Soa(q.ZoneAsWritten()));
                    }
                    break;
                case DnsType.NS when q.BaseCount == 0:
                    dependencies.AddGeneration(); // name-server entries
                    exists = true;
                    ApexNs(ref q, answer, additional);
                    break;
                default:
                    exists = Lookup(ref q, Items(), ref dependencies);
                    break;
            }
        }

        if (!exists)
        {
            answer.Clear();
            additional.Clear();
            if (_fallthrough.Through(qname))
            {
                return new(KubernetesOutcome.Fallthrough) { Dependencies = dependencies };
            }
            authority.Add(Soa(q.ZoneAsWritten()));
            return new(Synced ? KubernetesOutcome.NameError : KubernetesOutcome.ServFail) { Dependencies = dependencies };
        }
        if (answer.Count == 0)
        {
            additional.Clear();
            authority.Add(Soa(q.ZoneAsWritten()));
            return new(KubernetesOutcome.NoData) { Dependencies = dependencies };
        }
        return new(KubernetesOutcome.Answer, upstream) { Dependencies = dependencies };
    }

    /// <summary>
    /// The AXFR stream of docs/kubernetes-dns.md §9 for <paramref name="zone"/>, or null when <paramref name="zone"/> is not exactly one
    /// of the forward zones ([DEV2] in docs/kubernetes-dns.md: sub-names and reverse zones are refused). An IXFR carrying the current serial gets
    /// the SOA alone.
    /// </summary>
    public List<DnsRecord>? Transfer(DnsName zone, uint? ixfrSerial)
    {
        var index = _zones.IndexOf(zone);
        if (index < 0 || _zoneReverse[index])
        {
            return null;
        }
        var apex = _zones.Name(index);
        return KubernetesZoneTransfer.Records(_index, apex, Soa(apex), _ttl, ixfrSerial);
    }

    /// <summary>The negative-answer SOA for <paramref name="qname"/> (used when an upstream lookup produced nothing).</summary>
    public void AppendSoa(DnsName qname, List<DnsRecord> authority)
    {
        var zone = MatchZone(qname.Wire);
        if (zone >= 0)
        {
            authority.Add(Soa(qname.Parent(qname.LabelCount - _zones.LabelCount(zone))));
        }
    }

    private SoaRecord Soa(DnsName zw) =>
        new(Prefix("\u0002ns\u0003dns"u8, zw), Prefix("\u000ahostmaster"u8, zw), (uint)_index.Serial, 7200, 1800, 86400, _ttl)
        {
            Name = zw,
            Ttl = Math.Min(_ttl, 300),
        };

    private static DnsName Prefix(ReadOnlySpan<byte> labels, DnsName zone)
    {
        Span<byte> wire = stackalloc byte[labels.Length + zone.WireLength];
        labels.CopyTo(wire);
        zone.Wire.CopyTo(wire[labels.Length..]);
        return DnsName.FromValidatedWire(wire);
    }

    private static List<Item> Items()
    {
        var items = t_items ??= new List<Item>(16);
        items.Clear();
        return items;
    }
}
