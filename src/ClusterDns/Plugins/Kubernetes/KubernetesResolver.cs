using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Kubernetes;
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
public readonly record struct KubernetesResolution(KubernetesOutcome Outcome, DnsName? UpstreamTarget = null);

/// <summary>
/// The answer engine of the kubernetes plugin (docs/kubernetes-dns.md §2–§5): pure, immutable, built per (options, cluster state,
/// synced flag). Resolves into record lists first, so precomputed wire answers can be layered on later.
/// Per query it allocates only the records it returns (plus their target names).
/// </summary>
public sealed class KubernetesResolver
{
    private const int MaxChain = 10;
    private const uint VersionTtl = 28800;
    private static readonly IReadOnlyList<string> SchemaVersion = ["1.1.0"];

    [ThreadStatic]
    private static List<Item>? t_items;

    private readonly KubernetesOptions _options;
    private readonly KubernetesIndex _index;
    private readonly DnsName[] _zones;
    private readonly int[] _zoneLabels;
    private readonly bool[] _zoneReverse;
    private readonly DnsName[]? _fallthrough;
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
        _zones = new DnsName[options.Zones.Count];
        _zoneLabels = new int[_zones.Length];
        _zoneReverse = new bool[_zones.Length];
        for (var i = 0; i < _zones.Length; i++)
        {
            _zones[i] = DnsName.Parse(options.Zones[i]);
            _zoneLabels[i] = _zones[i].LabelCount;
            _zoneReverse[i] = KubernetesOptions.IsReverseZone(options.Zones[i]);
        }
        if (options.FallthroughZones is { } fall)
        {
            _fallthrough = new DnsName[fall.Count];
            for (var i = 0; i < fall.Count; i++)
            {
                _fallthrough[i] = DnsName.Parse(fall[i]);
            }
        }
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
        _zoneLabels = previous._zoneLabels;
        _zoneReverse = previous._zoneReverse;
        _fallthrough = previous._fallthrough;
    }

    public bool Synced { get; }

    /// <summary>Replies compiled from this resolver's index lineage (see <see cref="AnswerCache"/>).</summary>
    internal AnswerCache Answers { get; }

    /// <summary>Bound of <see cref="Answers"/> for this cluster's size.</summary>
    internal int CacheCapacity { get; }

    /// <summary>What the latest <see cref="Resolve"/> on this thread read (its reply's cache validity). Thread-static so
    /// the many lookup helpers need no extra parameter; Resolve is synchronous, callers read it right after.</summary>
    [ThreadStatic]
    private static Dependencies t_dependencies;

    internal static Dependencies LastDependencies => t_dependencies;

    private static void Depend(CacheToken token)
    {
        ref var d = ref t_dependencies;
        if (d.First is null || ReferenceEquals(d.First, token))
        {
            d.First = token;
        }
        else if (d.Second is null || ReferenceEquals(d.Second, token))
        {
            d.Second = token;
        }
        else
        {
            d.Overflow = true;
        }
    }

    private static void DependOnGeneration() => t_dependencies.Global = true;

    internal KubernetesIndex Index => _index;

    public KubernetesOptions Options => _options;

    /// <summary>Index of the longest plugin zone containing the (wire) name, or -1.</summary>
    public int MatchZone(ReadOnlySpan<byte> wire)
    {
        var best = -1;
        for (var i = 0; i < _zones.Length; i++)
        {
            if (DnsNameSpan.IsSubdomainOf(wire, _zones[i].Wire) && (best < 0 || _zoneLabels[i] > _zoneLabels[best]))
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>Answers <paramref name="qname"/>/<paramref name="qtype"/> into the three sections.</summary>
    public KubernetesResolution Resolve(DnsName qname, DnsType qtype, List<DnsRecord> answer, List<DnsRecord> authority, List<DnsRecord> additional)
    {
        t_dependencies = default;
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
        Span<int> offsets = stackalloc int[128];
        var q = new Query(qname.Wire, lower, offsets, _zoneLabels[zone], zone);
        DnsName? upstream = null;
        bool exists;
        if (q.IsNsDns())
        {
            DependOnGeneration(); // name-server entries
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
                    exists = Addresses(ref q, qname, qtype, 0, answer, ref upstream);
                    break;
                case DnsType.TXT:
                    if (q.BaseCount == 1 && q.Label(0).SequenceEqual("dns-version"u8))
                    {
                        answer.Add(new TxtRecord(SchemaVersion) { Name = qname, Ttl = VersionTtl });
                        exists = true;
                    }
                    else
                    {
                        // [Q1] (docs/kubernetes-dns.md) FOUND without items (apex, svc, ns.svc) is NXDOMAIN for TXT.
                        var items = Items();
                        exists = Lookup(ref q, items) && items.Count > 0;
                    }
                    break;
                case DnsType.CNAME:
                {
                    var items = Items();
                    exists = Lookup(ref q, items);
                    if (exists && items.Count > 0 && items[0].Kind == ItemKind.Name)
                    {
                        answer.Add(new CnameRecord(items[0].Target!) { Name = qname, Ttl = _ttl });
                    }
                    break;
                }
                case DnsType.SRV:
                    exists = Srv(ref q, qname, answer, additional);
                    break;
                case DnsType.PTR:
                    exists = _zoneReverse[zone] && TryReverseKey(ref q, out var key)
                        ? Ptr(key, qname, answer)
                        : Lookup(ref q, Items());
                    break;
                case DnsType.SOA:
                    // [Q3] (docs/kubernetes-dns.md) Any non-apex name is NODATA without an existence check.
                    DependOnGeneration(); // the serial
                    exists = true;
                    if (q.BaseCount == 0)
                    {
                        answer.Add(Soa(q.ZoneAsWritten()));
                    }
                    break;
                case DnsType.NS when q.BaseCount == 0:
                    DependOnGeneration(); // name-server entries
                    exists = true;
                    ApexNs(ref q, answer, additional);
                    break;
                default:
                    exists = Lookup(ref q, Items());
                    break;
            }
        }

        if (!exists)
        {
            answer.Clear();
            additional.Clear();
            if (FallsThrough(qname))
            {
                return new(KubernetesOutcome.Fallthrough);
            }
            authority.Add(Soa(q.ZoneAsWritten()));
            return new(Synced ? KubernetesOutcome.NameError : KubernetesOutcome.ServFail);
        }
        if (answer.Count == 0)
        {
            additional.Clear();
            authority.Add(Soa(q.ZoneAsWritten()));
            return new(KubernetesOutcome.NoData);
        }
        return new(KubernetesOutcome.Answer, upstream);
    }

    /// <summary>
    /// The AXFR stream of docs/kubernetes-dns.md §9 for <paramref name="zone"/>, or null when <paramref name="zone"/> is not exactly one
    /// of the forward zones ([DEV2] in docs/kubernetes-dns.md: sub-names and reverse zones are refused). An IXFR carrying the current serial gets
    /// the SOA alone.
    /// </summary>
    public List<DnsRecord>? Transfer(DnsName zone, uint? ixfrSerial)
    {
        var index = -1;
        for (var i = 0; i < _zones.Length; i++)
        {
            if (!_zoneReverse[i] && _zones[i] == zone)
            {
                index = i;
            }
        }
        if (index < 0)
        {
            return null;
        }
        var apex = _zones[index];
        var soa = Soa(apex);
        var records = new List<DnsRecord> { soa };
        if (ixfrSerial is { } serial && serial == soa.Serial)
        {
            return records;
        }

        var glue = new List<DnsRecord>();
        foreach (var entry in _index.NameServers)
        {
            if (KubernetesIndex.Target(null, entry.RelativeWire, apex) is not { } name)
            {
                continue;
            }
            if (!records.Exists(r => r is NsRecord ns && ns.Target == name))
            {
                records.Add(new NsRecord(name) { Name = apex, Ttl = _ttl });
            }
            // [Q14] (docs/kubernetes-dns.md) name-server glue is sent with TTL 0.
            glue.Add(entry.Address.AddressFamily == AddressFamily.InterNetwork
                ? new ARecord(entry.Address) { Name = name, Ttl = 0 }
                : new AaaaRecord(entry.Address) { Name = name, Ttl = 0 });
        }
        records.AddRange(glue);

        var services = new List<ServiceEntry>();
        foreach (var service in _index.Services)
        {
            if (_index.IsNamespaceExposed(service.Namespace))
            {
                services.Add(service);
            }
        }
        services.Sort(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Namespace, b.Namespace);
        });
        foreach (var service in services)
        {
            TransferService(service, apex, records);
        }
        records.Add(soa);
        return records;
    }

    private void TransferService(ServiceEntry service, DnsName apex, List<DnsRecord> records)
    {
        if (KubernetesIndex.Target(null, service.RelativeWire, apex) is not { } owner)
        {
            return;
        }
        switch (service.Kind)
        {
            case ServiceKind.ExternalName:
                if (service.ExternalTarget is { } target)
                {
                    records.Add(new CnameRecord(target) { Name = owner, Ttl = _ttl });
                }
                break;
            case ServiceKind.Headless:
                foreach (var slice in service.Slices)
                {
                    if (slice.Endpoints.Length == 0)
                    {
                        continue;
                    }
                    var weight = (ushort)(100 / slice.Endpoints.Length);
                    foreach (var ep in slice.Endpoints)
                    {
                        if (KubernetesIndex.Target(ep.Label, service.RelativeWire, apex) is not { } host)
                        {
                            continue;
                        }
                        records.Add(AddressRecord(owner, ep.Address));
                        records.Add(AddressRecord(host, ep.Address));
                        foreach (var port in slice.Ports)
                        {
                            if (port.Port >= 0 && port.Name.Length > 0 && PortOwner(port, owner) is { } srvOwner)
                            {
                                records.Add(new SrvRecord(0, weight, (ushort)port.Port, host) { Name = srvOwner, Ttl = _ttl });
                            }
                        }
                    }
                }
                break;
            default:
                if (service.ClusterIps.Length == 0)
                {
                    break;
                }
                foreach (var ip in service.ClusterIps)
                {
                    records.Add(AddressRecord(owner, ip));
                }
                foreach (var port in service.Ports)
                {
                    if (port.Port < 0)
                    {
                        continue; // [DEV3] (docs/kubernetes-dns.md) no "SRV ... 65535" for a port-less service
                    }
                    records.Add(new SrvRecord(0, 100, (ushort)port.Port, owner) { Name = owner, Ttl = _ttl });
                    if (port.Name.Length > 0 && PortOwner(port, owner) is { } srvOwner)
                    {
                        records.Add(new SrvRecord(0, 100, (ushort)port.Port, owner) { Name = srvOwner, Ttl = _ttl });
                    }
                }
                break;
        }
    }

    /// <summary><c>_name._proto.owner</c>, lower-case; null if it would be too long or not a valid name.</summary>
    private static DnsName? PortOwner(ServicePortInfo port, DnsName owner) =>
        DnsName.TryParse("_" + port.Name.ToLowerInvariant() + "._" + port.Protocol.ToLowerInvariant() + "." + owner, out var name) ? name : null;

    /// <summary>The negative-answer SOA for <paramref name="qname"/> (used when an upstream lookup produced nothing).</summary>
    public void AppendSoa(DnsName qname, List<DnsRecord> authority)
    {
        var zone = MatchZone(qname.Wire);
        if (zone >= 0)
        {
            authority.Add(Soa(qname.Parent(qname.LabelCount - _zoneLabels[zone])));
        }
    }

    private bool FallsThrough(DnsName qname)
    {
        if (_fallthrough is null)
        {
            return false;
        }
        if (_fallthrough.Length == 0)
        {
            return true;
        }
        foreach (var zone in _fallthrough)
        {
            if (qname.IsSubdomainOf(zone))
            {
                return true;
            }
        }
        return false;
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

    // ---- lookup (docs/kubernetes-dns.md §4) ----

    private bool Lookup(ref Query q, List<Item> items)
    {
        var n = q.BaseCount;
        if (n == 0)
        {
            return true; // apex
        }
        var last = q.Label(n - 1);
        var isSvc = last.SequenceEqual("svc"u8);
        var isPod = last.SequenceEqual("pod"u8);
        if (n == 1 && (isSvc || isPod))
        {
            return true; // structural
        }
        if ((!isSvc && !isPod) || n > 5)
        {
            return false; // invalid; k >= 3 labels left of the service is invalid too
        }
        if (_zoneReverse[q.ZoneIndex])
        {
            return false; // forward-shaped name under a reverse zone
        }
        var ns = q.Label(n - 2);
        Span<char> chars = stackalloc char[ns.Length];
        if (!ToName(ns, chars) || !_index.IsNamespaceExposed(chars))
        {
            return false;
        }
        return isPod ? PodLookup(ref q, ns, items) : ServiceLookup(ref q, ns, items);
    }

    private bool ServiceLookup(ref Query q, ReadOnlySpan<byte> ns, List<Item> items)
    {
        var n = q.BaseCount;
        if (n < 3)
        {
            return true; // <ns>.svc
        }
        var name = q.Label(n - 3);
        Span<char> key = stackalloc char[name.Length + 1 + ns.Length];
        if (!ToName(name, key) || !ToName(ns, key[(name.Length + 1)..]))
        {
            return false;
        }
        key[name.Length] = '.';
        var service = _index.FindService(key);
        if (service is null)
        {
            return false;
        }
        Depend(service);

        ReadOnlySpan<byte> endpoint = default, port = default, protocol = default;
        var hasEndpoint = n == 4;
        var hasPort = n == 5;
        if (hasEndpoint)
        {
            endpoint = q.Label(0);
        }
        else if (hasPort)
        {
            port = StripUnderscore(q.Label(0));
            protocol = StripUnderscore(q.Label(1));
        }

        if (_options.IgnoreEmptyService && service.Kind == ServiceKind.ClusterIP && service.ReadyCount == 0)
        {
            return false;
        }
        if (service.Kind == ServiceKind.ExternalName)
        {
            if (hasEndpoint || hasPort || service.ExternalTarget is null)
            {
                return false;
            }
            items.Add(new Item(ItemKind.Name, null, 0, service, null, service.ExternalTarget));
            return true;
        }

        var found = false;
        if (service.Kind == ServiceKind.Headless || hasEndpoint)
        {
            foreach (var slice in service.Slices)
            {
                foreach (var ep in slice.Endpoints)
                {
                    if (hasEndpoint && !endpoint.SequenceEqual(ep.NameBytes))
                    {
                        continue;
                    }
                    foreach (var p in slice.Ports)
                    {
                        if (PortMatches(p, port, protocol))
                        {
                            items.Add(new Item(ItemKind.Endpoint, ep.Address, p.Port, service, ep, null));
                            found = true;
                        }
                    }
                }
            }
            return found;
        }

        foreach (var p in service.Ports)
        {
            if (!PortMatches(p, port, protocol))
            {
                continue;
            }
            found = true;
            foreach (var ip in service.ClusterIps)
            {
                items.Add(new Item(ItemKind.Service, ip, p.Port, service, null, null));
            }
        }
        return found;
    }

    private bool PodLookup(ref Query q, ReadOnlySpan<byte> ns, List<Item> items)
    {
        DependOnGeneration(); // pod answers follow the pod set (and its absence)
        if (_options.PodMode == PodMode.Disabled)
        {
            return false; // [Q11] (docs/kubernetes-dns.md) even <ns>.pod.<zone>
        }
        var n = q.BaseCount;
        if (n < 3)
        {
            return true;
        }
        var ip = DecodePodLabel(q.Label(n - 3));
        if (ip is null)
        {
            return false;
        }
        if (_options.PodMode == PodMode.Verified)
        {
            Span<char> chars = stackalloc char[ns.Length];
            ToName(ns, chars);
            if (!_index.HasPod(KubernetesIndex.ToKey(ip), chars))
            {
                return false;
            }
        }
        items.Add(new Item(ItemKind.Pod, ip, 0, null, null, null));
        return true;
    }

    private static ReadOnlySpan<byte> StripUnderscore(ReadOnlySpan<byte> label) =>
        label.Length > 0 && label[0] == '_' ? label[1..] : label;

    private static bool PortMatches(ServicePortInfo p, ReadOnlySpan<byte> port, ReadOnlySpan<byte> protocol) =>
        (port.IsEmpty || Ascii.EqualsIgnoreCase(port, p.Name)) && (protocol.IsEmpty || Ascii.EqualsIgnoreCase(protocol, p.Protocol));

    /// <summary>Kubernetes object names are [a-z0-9-]; anything else cannot match (and keeps keys unambiguous).</summary>
    private static bool ToName(ReadOnlySpan<byte> label, Span<char> chars)
    {
        for (var i = 0; i < label.Length; i++)
        {
            var b = label[i];
            if (!(char.IsAsciiLetterLower((char)b) || char.IsAsciiDigit((char)b) || b == '-'))
            {
                return false;
            }
            chars[i] = (char)b;
        }
        return true;
    }

    /// <summary><c>1-2-3-4</c> (exactly three dashes, no <c>--</c>) is IPv4; anything else is IPv6 with <c>-</c> for <c>:</c>.</summary>
    internal static IPAddress? DecodePodLabel(ReadOnlySpan<byte> label)
    {
        if (label.IsEmpty)
        {
            return null;
        }
        var dashes = label.Count((byte)'-');
        if (dashes == 3 && label.IndexOf("--"u8) < 0)
        {
            Span<byte> v4 = stackalloc byte[4];
            var part = 0;
            var start = 0;
            for (var i = 0; i <= label.Length; i++)
            {
                if (i < label.Length && label[i] != '-')
                {
                    continue;
                }
                if (!TryOctet(label[start..i], out v4[part]))
                {
                    return null;
                }
                part++;
                start = i + 1;
            }
            return new IPAddress(v4);
        }
        Span<char> text = stackalloc char[label.Length];
        for (var i = 0; i < label.Length; i++)
        {
            var c = (char)label[i];
            if (!(char.IsAsciiHexDigit(c) || c == '-' || c == '.'))
            {
                return null;
            }
            text[i] = c == '-' ? ':' : c;
        }
        return text.Contains(':') && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : null;
    }

    // Decimal 0..255 without leading zeros, as Go's net.ParseIP.
    private static bool TryOctet(ReadOnlySpan<byte> digits, out byte value)
    {
        value = 0;
        if (digits.Length is 0 or > 3 || (digits.Length > 1 && digits[0] == '0'))
        {
            return false;
        }
        var v = 0;
        foreach (var d in digits)
        {
            if (!char.IsAsciiDigit((char)d))
            {
                return false;
            }
            v = v * 10 + (d - '0');
        }
        if (v > 255)
        {
            return false;
        }
        value = (byte)v;
        return true;
    }

    // ---- A / AAAA and ExternalName chasing (docs/kubernetes-dns.md §5.4, §5.6) ----

    private bool Addresses(ref Query q, DnsName owner, DnsType type, int depth, List<DnsRecord> answer, ref DnsName? upstream)
    {
        if (q.BaseCount == 0)
        {
            return true; // apex: NODATA
        }
        var items = Items();
        if (!Lookup(ref q, items))
        {
            return false;
        }
        DnsName? cname = null;
        var family = type == DnsType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        foreach (var item in items)
        {
            if (item.Kind == ItemKind.Name)
            {
                cname ??= item.Target;
            }
            else if (item.Address!.AddressFamily == family && !HasAddress(answer, owner, item.Address))
            {
                answer.Add(AddressRecord(owner, item.Address));
            }
        }
        if (cname is not null)
        {
            Chase(owner, cname, q.ZoneIndex, type, depth, answer, ref upstream);
        }
        return true;
    }

    private void Chase(DnsName owner, DnsName target, int zone, DnsType type, int depth, List<DnsRecord> answer, ref DnsName? upstream)
    {
        if (target.IsSubdomainOf(owner) || depth >= MaxChain)
        {
            return;
        }
        var cname = new CnameRecord(target) { Name = owner, Ttl = _ttl };
        if (!target.IsSubdomainOf(_zones[zone]))
        {
            answer.Add(cname);
            upstream = target;
            return;
        }
        // [Q9] (docs/kubernetes-dns.md) In-zone target: the CNAME appears only when the target yields records.
        var chased = new List<DnsRecord>();
        Span<byte> lower = stackalloc byte[target.WireLength];
        Span<int> offsets = stackalloc int[128];
        var tq = new Query(target.Wire, lower, offsets, _zoneLabels[zone], zone);
        if (tq.IsNsDns())
        {
            NameServerAddresses(ref tq, target, type, chased);
        }
        else
        {
            Addresses(ref tq, target, type, depth + 1, chased, ref upstream);
        }
        if (chased.Count > 0)
        {
            answer.Add(cname);
            answer.AddRange(chased);
        }
    }

    private DnsRecord AddressRecord(DnsName owner, IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? new ARecord(address) { Name = owner, Ttl = _ttl }
            : new AaaaRecord(address) { Name = owner, Ttl = _ttl };

    private static bool HasAddress(List<DnsRecord> records, DnsName owner, IPAddress address)
    {
        foreach (var r in records)
        {
            var a = r switch
            {
                ARecord x => x.Address,
                AaaaRecord x => x.Address,
                _ => null,
            };
            if (a is not null && a.Equals(address) && r.Name.Equals(owner))
            {
                return true;
            }
        }
        return false;
    }

    // ---- SRV (docs/kubernetes-dns.md §5.5) ----

    private bool Srv(ref Query q, DnsName qname, List<DnsRecord> answer, List<DnsRecord> additional)
    {
        var items = Items();
        if (!Lookup(ref q, items))
        {
            return false;
        }
        var count = 0;
        foreach (var item in items)
        {
            if (item.Kind != ItemKind.Name)
            {
                count++;
            }
        }
        if (count == 0)
        {
            return true;
        }
        var weight = (ushort)Math.Max(1, 100 / count); // [Q6] (docs/kubernetes-dns.md) pre-dedup count, priority 0
        DnsName? zw = null;
        Span<byte> wire = stackalloc byte[DnsName.MaxWireLength];
        foreach (var item in items)
        {
            if (item.Kind == ItemKind.Name || item.Port < 0)
            {
                continue;
            }
            zw ??= q.ZoneAsWritten();
            var length = item.Kind switch
            {
                ItemKind.Service => Concat(wire, [], item.Service!.RelativeWire, zw.Wire),
                ItemKind.Endpoint => Concat(wire, item.Endpoint!.Label, item.Service!.RelativeWire, zw.Wire),
                _ => Concat(wire, [], q.Lower[q.LabelOffset(q.BaseCount - 3)..q.ZoneOffset], zw.Wire),
            };
            if (length < 0)
            {
                continue;
            }
            var target = Existing(answer, additional, wire[..length]) ?? DnsName.FromValidatedWire(wire[..length]);
            var port = (ushort)item.Port;
            if (!HasSrv(answer, target, port))
            {
                answer.Add(new SrvRecord(0, weight, port, target) { Name = qname, Ttl = _ttl });
            }
            if (!HasAddress(additional, target, item.Address!))
            {
                additional.Add(AddressRecord(target, item.Address!));
            }
        }
        return true;
    }

    private static int Concat(Span<byte> wire, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> zone)
    {
        var length = a.Length + b.Length + zone.Length;
        if (length > DnsName.MaxWireLength)
        {
            return -1;
        }
        a.CopyTo(wire);
        b.CopyTo(wire[a.Length..]);
        zone.CopyTo(wire[(a.Length + b.Length)..]);
        return length;
    }

    /// <summary>Reuses a target name already emitted in this answer instead of allocating it again.</summary>
    private static DnsName? Existing(List<DnsRecord> answer, List<DnsRecord> additional, ReadOnlySpan<byte> wire)
    {
        foreach (var r in answer)
        {
            if (r is SrvRecord srv && srv.Target.Wire.SequenceEqual(wire))
            {
                return srv.Target;
            }
        }
        foreach (var r in additional)
        {
            if (r.Name.Wire.SequenceEqual(wire))
            {
                return r.Name;
            }
        }
        return null;
    }

    private static bool HasSrv(List<DnsRecord> answer, DnsName target, ushort port)
    {
        foreach (var r in answer)
        {
            if (r is SrvRecord srv && srv.Port == port && ReferenceEquals(srv.Target, target))
            {
                return true;
            }
        }
        return false;
    }

    // ---- PTR (docs/kubernetes-dns.md §5.7) ----

    private static bool TryReverseKey(ref Query q, out UInt128 key)
    {
        key = 0;
        var n = q.LabelCount;
        if (n == 6 && q.Label(4).SequenceEqual("in-addr"u8) && q.Label(5).SequenceEqual("arpa"u8))
        {
            Span<byte> v4 = stackalloc byte[4];
            for (var i = 0; i < 4; i++)
            {
                if (!TryOctet(q.Label(i), out v4[3 - i]))
                {
                    return false;
                }
            }
            key = KubernetesIndex.ToKey(new IPAddress(v4));
            return true;
        }
        if (n == 34 && q.Label(32).SequenceEqual("ip6"u8) && q.Label(33).SequenceEqual("arpa"u8))
        {
            for (var i = 31; i >= 0; i--)
            {
                var label = q.Label(i);
                if (label.Length != 1 || !char.IsAsciiHexDigit((char)label[0]))
                {
                    return false;
                }
                key = (key << 4) | (uint)HexValue(label[0]);
            }
            return true;
        }
        return false;
    }

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private bool Ptr(UInt128 key, DnsName qname, List<DnsRecord> answer)
    {
        var entry = _index.FindPtr(key);
        if (entry is null)
        {
            return false;
        }
        Depend(entry);
        if (entry.ServiceRelative is { } relative)
        {
            answer.Add(new PtrRecord(KubernetesIndex.Target(null, relative, _index.PrimaryZone)!) { Name = qname, Ttl = _ttl });
            return true;
        }
        foreach (var target in entry.Endpoints)
        {
            answer.Add(new PtrRecord(target) { Name = qname, Ttl = _ttl });
        }
        return entry.Endpoints.Length > 0;
    }

    // ---- NS and ns.dns (docs/kubernetes-dns.md §5.9) ----

    private void ApexNs(ref Query q, List<DnsRecord> answer, List<DnsRecord> additional)
    {
        var zw = q.ZoneAsWritten();
        foreach (var entry in _index.NameServers)
        {
            var name = FindNsTarget(answer, entry.RelativeWire, zw);
            if (name is null)
            {
                name = KubernetesIndex.Target(null, entry.RelativeWire, zw);
                if (name is null)
                {
                    continue;
                }
                answer.Add(new NsRecord(name) { Name = zw, Ttl = _ttl });
            }
            additional.Add(AddressRecord(name, entry.Address));
        }
    }

    private static DnsName? FindNsTarget(List<DnsRecord> answer, byte[] relative, DnsName zw)
    {
        foreach (var r in answer)
        {
            if (r is NsRecord ns && ns.Target.WireLength == relative.Length + zw.WireLength && ns.Target.Wire.StartsWith(relative))
            {
                return ns.Target;
            }
        }
        return null;
    }

    private void NameServerAddresses(ref Query q, DnsName owner, DnsType type, List<DnsRecord> answer)
    {
        var family = type == DnsType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        foreach (var entry in _index.NameServers)
        {
            if (entry.Address.AddressFamily == family && !HasAddress(answer, owner, entry.Address))
            {
                answer.Add(AddressRecord(owner, entry.Address));
            }
        }
    }

    /// <summary>Index objects one reply was computed from: up to two service/PTR entries, plus the index generation
    /// when <see cref="Global"/> (or whenever the reply is negative, since every SOA carries the serial).</summary>
    internal struct Dependencies
    {
        public CacheToken? First;
        public CacheToken? Second;
        public bool Global;
        /// <summary>More entries than a cached reply can track (long CNAME chains): do not cache.</summary>
        public bool Overflow;
    }

    private enum ItemKind : byte
    {
        Service,
        Endpoint,
        Pod,
        Name,
    }

    /// <summary>ADDR(ip, port, key) or NAME(target) of docs/kubernetes-dns.md §4.</summary>
    private readonly record struct Item(ItemKind Kind, IPAddress? Address, int Port, ServiceEntry? Service, EndpointEntry? Endpoint, DnsName? Target);

    /// <summary>The query name split at its zone: original and lower-case wire with label offsets.</summary>
    private ref struct Query
    {
        private readonly Span<int> _offsets;
        private readonly ReadOnlySpan<byte> _original;

        public Query(ReadOnlySpan<byte> original, Span<byte> lower, Span<int> offsets, int zoneLabels, int zoneIndex)
        {
            _original = original;
            original.CopyTo(lower);
            DnsNameSpan.ToLower(lower);
            Lower = lower;
            _offsets = offsets;
            var n = 0;
            for (var i = 0; lower[i] != 0 && n < offsets.Length; i += lower[i] + 1)
            {
                offsets[n++] = i;
            }
            LabelCount = n;
            BaseCount = n - zoneLabels;
            ZoneOffset = BaseCount < n ? offsets[BaseCount] : lower.Length - 1;
            ZoneIndex = zoneIndex;
        }

        public ReadOnlySpan<byte> Lower { get; }

        public int LabelCount { get; }

        /// <summary>Labels left of the zone.</summary>
        public int BaseCount { get; }

        public int ZoneOffset { get; }

        public int ZoneIndex { get; }

        public readonly int LabelOffset(int index) => _offsets[index];

        public readonly ReadOnlySpan<byte> Label(int index)
        {
            var at = _offsets[index];
            return Lower.Slice(at + 1, Lower[at]);
        }

        /// <summary><c>ns.dns.&lt;zone&gt;</c>, any case [DEV1] (docs/kubernetes-dns.md).</summary>
        public readonly bool IsNsDns() => BaseCount == 2 && Label(0).SequenceEqual("ns"u8) && Label(1).SequenceEqual("dns"u8);

        /// <summary>The zone labels in the client's case (SOA owner, SRV/NS targets).</summary>
        public readonly DnsName ZoneAsWritten() => DnsName.FromValidatedWire(_original[ZoneOffset..]);
    }
}
