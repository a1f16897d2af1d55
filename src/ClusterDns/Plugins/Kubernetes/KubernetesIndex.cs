using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Validity mark for precompiled replies (<see cref="AnswerCache"/>): an index object that answers were computed from.
/// When a newer index replaces it, it is superseded before that index is published; a cached reply is served only
/// while every token it depends on is still current (one volatile read each), so nothing stale is ever served.
/// </summary>
internal abstract class CacheToken
{
    private volatile bool _superseded;

    public bool IsCurrent => !_superseded;

    public void Supersede() => _superseded = true;
}

/// <summary>Stands for everything not owned by one service or PTR entry: serial (in every SOA), namespaces, which
/// services/PTR addresses exist, pods and name servers. Replaced when any of those change.</summary>
internal sealed class IndexGeneration : CacheToken;

/// <summary>One ready endpoint address with its endpoint name EN (docs/kubernetes-dns.md §1), lowercase, as a wire label.</summary>
internal sealed class EndpointEntry(IPAddress address, string name)
{
    public IPAddress Address { get; } = address;

    /// <summary>Length-prefixed label, ready to be copied in front of a service name (the name itself is not kept:
    /// queries compare against the label bytes).</summary>
    public byte[] Label { get; } = KubernetesIndex.ToLabel(name);

    public ReadOnlySpan<byte> NameBytes => Label.AsSpan(1);

    public bool SameContent(EndpointEntry other) => Address.Equals(other.Address) && Label.AsSpan().SequenceEqual(other.Label);
}

internal sealed class SliceEntry(ServicePortInfo[] ports, EndpointEntry[] endpoints)
{
    public ServicePortInfo[] Ports { get; } = ports;

    public EndpointEntry[] Endpoints { get; } = endpoints;

    public bool SameContent(SliceEntry other)
    {
        if (!KubernetesIndex.SamePorts(Ports, other.Ports) || Endpoints.Length != other.Endpoints.Length)
        {
            return false;
        }
        for (var i = 0; i < Endpoints.Length; i++)
        {
            if (!Endpoints[i].SameContent(other.Endpoints[i]))
            {
                return false;
            }
        }
        return true;
    }
}

internal sealed class ServiceEntry : CacheToken, ITrieItem<ServiceEntry>
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public required ServiceKind Kind { get; init; }

    public required IPAddress[] ClusterIps { get; init; }

    public required ServicePortInfo[] Ports { get; init; }

    /// <summary>FQDN of a non-IP externalName, else null (docs/kubernetes-dns.md §4 b).</summary>
    public DnsName? ExternalTarget { get; init; }

    public required SliceEntry[] Slices { get; init; }

    /// <summary>Ready endpoint addresses over all slices (<c>ignore empty_service</c>).</summary>
    public int ReadyCount { get; init; }

    /// <summary><c>name.ns.svc</c> as wire labels without the root: SRV/NS targets append the zone as written.</summary>
    public required byte[] RelativeWire { get; init; }

    /// <summary>Hash of the key <c>name.ns</c> (see <see cref="KubernetesIndex.KeyHash"/>).</summary>
    public required ulong Hash { get; init; }

    public bool SameKey(ServiceEntry other) => Name == other.Name && Namespace == other.Namespace;

    /// <summary>Key <c>name.ns</c> compared without building the string.</summary>
    public bool HasKey(ReadOnlySpan<char> key) =>
        key.Length == Name.Length + 1 + Namespace.Length && key.StartsWith(Name) && key[Name.Length] == '.'
        && key[(Name.Length + 1)..].SequenceEqual(Namespace);

    /// <summary>Same answers: lets an event that changed nothing DNS-visible keep the old entry (and its cached replies).</summary>
    public bool SameContent(ServiceEntry other)
    {
        if (Kind != other.Kind || ReadyCount != other.ReadyCount || !Equals(ExternalTarget, other.ExternalTarget)
            || ClusterIps.Length != other.ClusterIps.Length || Slices.Length != other.Slices.Length || !KubernetesIndex.SamePorts(Ports, other.Ports))
        {
            return false;
        }
        for (var i = 0; i < ClusterIps.Length; i++)
        {
            if (!ClusterIps[i].Equals(other.ClusterIps[i]))
            {
                return false;
            }
        }
        for (var i = 0; i < Slices.Length; i++)
        {
            if (!Slices[i].SameContent(other.Slices[i]))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>A name-server entry (docs/kubernetes-dns.md §5.9): a relative name (<c>svc.ns.svc</c>, <c>EN.svc.ns.svc</c> or <c>ns.dns</c>) and an address.</summary>
internal readonly record struct NameServerEntry(byte[] RelativeWire, IPAddress Address);

internal sealed class PtrEntry(UInt128 key, byte[]? serviceRelative, DnsName[] endpoints) : CacheToken, ITrieItem<PtrEntry>
{
    public UInt128 Key { get; } = key;

    public ulong Hash { get; } = KubernetesIndex.IpHash(key);

    /// <summary>The ClusterIP service's <see cref="ServiceEntry.RelativeWire"/> (shared, not copied): the target
    /// <c>name.ns.svc.zone</c> is built when a reply is compiled, not kept as a name per service.</summary>
    public byte[]? ServiceRelative { get; } = serviceRelative;

    public DnsName[] Endpoints { get; } = endpoints;

    public bool SameKey(PtrEntry other) => Key == other.Key;

    public bool SameContent(PtrEntry other)
    {
        if (!ServiceRelative.AsSpan().SequenceEqual(other.ServiceRelative) || (ServiceRelative is null) != (other.ServiceRelative is null)
            || Endpoints.Length != other.Endpoints.Length)
        {
            return false;
        }
        for (var i = 0; i < Endpoints.Length; i++)
        {
            if (!Endpoints[i].Equals(other.Endpoints[i]))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Namespaces of the pods holding one IP (<c>pods verified</c>); one string in the common case, no array.</summary>
internal sealed class PodIpEntry(UInt128 key, string first, string[]? more) : ITrieItem<PodIpEntry>
{
    public UInt128 Key { get; } = key;

    public ulong Hash { get; } = KubernetesIndex.IpHash(key);

    public bool SameKey(PodIpEntry other) => Key == other.Key;

    public bool Has(ReadOnlySpan<char> ns)
    {
        if (ns.SequenceEqual(first))
        {
            return true;
        }
        if (more is not null)
        {
            foreach (var item in more)
            {
                if (ns.SequenceEqual(item))
                {
                    return true;
                }
            }
        }
        return false;
    }
}

/// <summary>
/// Query-shaped view of one <see cref="ClusterState"/> for one option set, read by any number of queries without
/// locks. Built in full once (and on relists); every later change goes through <see cref="Apply"/>, which rebuilds
/// only the changed services, the PTR entries of the addresses they had or have, the name-server entries when a
/// local address is involved, and the pod entries of changed pod IPs. Everything else (persistent tries) is
/// shared with the previous index, so one event costs work proportional to the object it changed.
/// </summary>
internal sealed class KubernetesIndex
{
    private static readonly ServicePortInfo[] SentinelPorts = [ServicePortInfo.Sentinel];
    private static readonly byte[] NsDnsWire = [2, (byte)'n', (byte)'s', 3, (byte)'d', (byte)'n', (byte)'s'];
    private static readonly DnsName[] NoNames = [];

    private readonly Context _context;
    private readonly HashSet<string> _namespaceSet;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _namespaces;
    private readonly HashTrie<ServiceEntry> _services;
    private readonly HashTrie<PtrEntry> _ptr;
    private readonly HashTrie<PodIpEntry> _pods;

    /// <summary>What stays fixed for a plugin instance: options, bound addresses, the parsed primary zone.</summary>
    private sealed class Context(KubernetesOptions options, IReadOnlyList<IPAddress> localAddresses)
    {
        public KubernetesOptions Options { get; } = options;

        public IReadOnlyList<IPAddress> LocalAddresses { get; } = localAddresses;

        public DnsName Primary { get; } = DnsName.Parse(options.PrimaryZone);

        /// <summary>Non-loopback bound addresses as keys: an event touching one of them recomputes the NS entries.</summary>
        public HashSet<UInt128> LocalKeys { get; } = LocalKeysOf(localAddresses);

        public bool PtrAllowed(string ns) => Options.Namespaces.Count == 0 || Options.Namespaces.Contains(ns);
    }

    private KubernetesIndex(Context context, ClusterState state, HashSet<string> namespaces, HashTrie<ServiceEntry> services,
        HashTrie<PtrEntry> ptr, HashTrie<PodIpEntry> pods, NameServerEntry[] nameServers, IndexGeneration generation, object lineage)
    {
        _context = context;
        Lineage = lineage;
        State = state;
        _namespaceSet = namespaces;
        _namespaces = namespaces.GetAlternateLookup<ReadOnlySpan<char>>();
        _services = services;
        _ptr = ptr;
        _pods = pods;
        NameServers = nameServers;
        Generation = generation;
    }

    /// <summary>The snapshot this index reflects (the "before" side of the next <see cref="Apply"/>).</summary>
    public ClusterState State { get; }

    public long Serial => State.Serial;

    public NameServerEntry[] NameServers { get; }

    /// <summary>Token of every cached reply that is not owned by one service/PTR entry (see <see cref="IndexGeneration"/>).</summary>
    public IndexGeneration Generation { get; }

    /// <summary>The first zone: where PTR and other generated targets live.</summary>
    public DnsName PrimaryZone => _context.Primary;

    public int ServiceCount => _services.Count;

    public int PtrCount => _ptr.Count;

    public static KubernetesIndex Build(ClusterState state, KubernetesOptions options, IReadOnlyList<IPAddress> localAddresses) =>
        Build(new Context(options, localAddresses), state);

    private static KubernetesIndex Build(Context context, ClusterState state)
    {
        var services = HashTrie<ServiceEntry>.Empty;
        foreach (var service in state.Services)
        {
            services = services.Set(BuildService(state, service, context.Options));
        }

        // PTR entries are computed per address from the state's address indexes, exactly as Apply recomputes them.
        var ptr = HashTrie<PtrEntry>.Empty;
        foreach (var service in state.Services)
        {
            if (!context.PtrAllowed(service.Namespace))
            {
                continue; // PTR honours only the namespaces list [Q10] (docs/kubernetes-dns.md)
            }
            foreach (var ip in service.ClusterIPs)
            {
                ptr = RefreshPtr(context, state, services, ptr, ip, out _);
            }
            foreach (var slice in state.GetSlices(service.Namespace, service.Name))
            {
                foreach (var ep in slice.Endpoints)
                {
                    if (ep.Ready && !ep.Addresses.IsDefaultOrEmpty)
                    {
                        foreach (var address in ep.Addresses)
                        {
                            ptr = RefreshPtr(context, state, services, ptr, address, out _);
                        }
                    }
                }
            }
        }

        var pods = HashTrie<PodIpEntry>.Empty;
        if (context.Options.PodMode == PodMode.Verified)
        {
            foreach (var pod in state.Pods)
            {
                pods = RefreshPod(state, pods, pod.PodIP);
            }
        }

        return new KubernetesIndex(context, state, BuildNamespaces(state, context.Options), services, ptr, pods,
            BuildNameServers(context, state, services), new IndexGeneration(), new object());
    }

    /// <summary>
    /// The index for <paramref name="newState"/>, which must be this index's <see cref="State"/> plus
    /// <paramref name="change"/>. Work is proportional to what the change touched; a relist, or a change that names
    /// nothing although the state moved (sources that cannot tell what changed), falls back to a full build.
    /// Tokens of replaced entries are superseded before the caller publishes the result.
    /// </summary>
    public KubernetesIndex Apply(ClusterState newState, ClusterChange change)
    {
        if (ReferenceEquals(newState, State))
        {
            return this;
        }
        var unknown = change.Services.Count == 0 && !change.NamespacesChanged && !change.PodsChanged;
        if (change.Relisted || unknown)
        {
            var rebuilt = Build(_context, newState);
            Generation.Supersede(); // old replies are not reachable via the new index's entries; drop them all
            return rebuilt;
        }

        var oldState = State;
        var options = _context.Options;
        var services = _services;
        var existenceChanged = false;
        List<ServiceEntry>? superseded = null;
        // Addresses whose PTR (and possibly NS) entries may differ: every IP the changed services had or have.
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (ns, name) in change.Services)
        {
            CollectAddresses(oldState, ns, name, addresses);
            CollectAddresses(newState, ns, name, addresses);
            var old = Find(services, name, ns);
            var info = newState.GetService(ns, name);
            if (info is null)
            {
                if (old is not null)
                {
                    services = services.Remove(old);
                    (superseded ??= []).Add(old);
                    existenceChanged = true;
                }
                continue;
            }
            var entry = BuildService(newState, info, options);
            if (old is not null && old.SameContent(entry))
            {
                continue; // nothing DNS-visible changed: keep the entry and the replies cached from it
            }
            services = services.Set(entry);
            if (old is null)
            {
                existenceChanged = true;
            }
            else
            {
                (superseded ??= []).Add(old);
            }
        }

        var ptr = _ptr;
        var touchesLocal = false;
        List<PtrEntry>? supersededPtr = null;
        foreach (var address in addresses)
        {
            ptr = RefreshPtr(_context, newState, services, ptr, address, out var replaced, out var keyChanged);
            if (replaced is not null)
            {
                (supersededPtr ??= []).Add(replaced);
            }
            existenceChanged |= keyChanged;
            if (!touchesLocal && _context.LocalKeys.Count > 0 && IPAddress.TryParse(address, out var ip) && _context.LocalKeys.Contains(ToKey(ip)))
            {
                touchesLocal = true;
            }
        }

        var nameServers = NameServers;
        if (touchesLocal)
        {
            var rebuilt = BuildNameServers(_context, newState, services);
            if (!SameNameServers(rebuilt, nameServers))
            {
                nameServers = rebuilt;
                existenceChanged = true;
            }
        }

        var pods = _pods;
        if (change.PodsChanged && options.PodMode == PodMode.Verified)
        {
            if (change.PodIps is { } ips)
            {
                foreach (var ip in ips)
                {
                    pods = RefreshPod(newState, pods, ip);
                }
            }
            else
            {
                pods = HashTrie<PodIpEntry>.Empty;
                foreach (var pod in newState.Pods)
                {
                    pods = RefreshPod(newState, pods, pod.PodIP);
                }
            }
        }

        var namespaces = change.NamespacesChanged ? BuildNamespaces(newState, options) : _namespaceSet;
        var generation = Generation;
        if (existenceChanged || change.PodsChanged || change.NamespacesChanged || newState.Serial != oldState.Serial)
        {
            generation = new IndexGeneration();
        }

        var next = new KubernetesIndex(_context, newState, namespaces, services, ptr, pods, nameServers, generation,
            change.NamespacesChanged ? new object() : Lineage);
        // Supersede last, once the replacement exists: replies cached from these can no longer be served.
        if (superseded is not null)
        {
            foreach (var entry in superseded)
            {
                entry.Supersede();
            }
        }
        if (supersededPtr is not null)
        {
            foreach (var entry in supersededPtr)
            {
                entry.Supersede();
            }
        }
        if (!ReferenceEquals(generation, Generation))
        {
            Generation.Supersede();
        }
        return next;
    }

    public bool IsNamespaceExposed(ReadOnlySpan<char> ns) => _namespaces.Contains(ns);

    /// <summary>Every service, in no particular order (zone transfer).</summary>
    public IEnumerable<ServiceEntry> Services => _services.Items();

    /// <summary>Identity of the entry lineage: changes when cached replies must all be dropped (full build,
    /// namespace change — positive replies depend on namespace exposure and carry no generation token).</summary>
    public object Lineage { get; }

    public ServiceEntry? FindService(ReadOnlySpan<char> key)
    {
        var slot = _services.Find(KeyHash(key));
        if (slot is ServiceEntry entry)
        {
            return entry.HasKey(key) ? entry : null;
        }
        if (slot is ServiceEntry[] entries)
        {
            foreach (var e in entries)
            {
                if (e.HasKey(key))
                {
                    return e;
                }
            }
        }
        return null;
    }

    public PtrEntry? FindPtr(UInt128 key) => FindIn(_ptr, key);

    public bool HasPod(UInt128 ip, ReadOnlySpan<char> ns)
    {
        var slot = _pods.Find(IpHash(ip));
        if (slot is PodIpEntry entry)
        {
            return entry.Key == ip && entry.Has(ns);
        }
        if (slot is PodIpEntry[] entries)
        {
            foreach (var e in entries)
            {
                if (e.Key == ip)
                {
                    return e.Has(ns);
                }
            }
        }
        return false;
    }

    /// <summary>FNV-1a over the key's chars with a murmur finaliser: the trie consumes the low bits first.</summary>
    public static ulong KeyHash(ReadOnlySpan<char> key)
    {
        var h = 14695981039346656037UL;
        foreach (var c in key)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return TrieHash.Mix(h);
    }

    private static ulong KeyHash(string name, string ns)
    {
        Span<char> key = stackalloc char[name.Length + 1 + ns.Length];
        name.CopyTo(key);
        key[name.Length] = '.';
        ns.CopyTo(key[(name.Length + 1)..]);
        return KeyHash(key);
    }

    public static ulong IpHash(UInt128 key) => TrieHash.Mix((ulong)key ^ ((ulong)(key >> 64) * 0x9E3779B97F4A7C15UL));

    /// <summary>IPv4 lives in the IPv4-mapped range so both families share one key space.</summary>
    public static UInt128 ToKey(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes.Clear();
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static byte[] ToLabel(string text)
    {
        var length = Math.Min(text.Length, DnsName.MaxLabelLength);
        var label = new byte[length + 1];
        label[0] = (byte)length;
        Encoding.Latin1.GetBytes(text.AsSpan(0, length), label.AsSpan(1));
        return label;
    }

    /// <summary>Builds <c>[label.]relative.zone</c>; null when the result would be too long.</summary>
    public static DnsName? Target(byte[]? label, ReadOnlySpan<byte> relative, DnsName zone)
    {
        var length = (label?.Length ?? 0) + relative.Length + zone.WireLength;
        if (length > DnsName.MaxWireLength)
        {
            return null;
        }
        Span<byte> wire = stackalloc byte[length];
        var at = 0;
        if (label is not null)
        {
            label.CopyTo(wire);
            at = label.Length;
        }
        relative.CopyTo(wire[at..]);
        zone.Wire.CopyTo(wire[(at + relative.Length)..]);
        return DnsName.FromValidatedWire(wire);
    }

    internal static bool SamePorts(ServicePortInfo[] a, ServicePortInfo[] b) => a.AsSpan().SequenceEqual(b);

    private static ServiceEntry? Find(HashTrie<ServiceEntry> services, string name, string ns)
    {
        var slot = services.Find(KeyHash(name, ns));
        if (slot is ServiceEntry entry)
        {
            return entry.Name == name && entry.Namespace == ns ? entry : null;
        }
        if (slot is ServiceEntry[] entries)
        {
            foreach (var e in entries)
            {
                if (e.Name == name && e.Namespace == ns)
                {
                    return e;
                }
            }
        }
        return null;
    }

    private static HashSet<string> BuildNamespaces(ClusterState state, KubernetesOptions options)
    {
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in state.Namespaces.Keys)
        {
            if (options.Namespaces.Count == 0 || options.Namespaces.Contains(ns))
            {
                namespaces.Add(ns);
            }
        }
        return namespaces;
    }

    /// <summary>Cluster IPs and ready endpoint addresses of one service (and its slices) in <paramref name="state"/>.</summary>
    private static void CollectAddresses(ClusterState state, string ns, string name, HashSet<string> addresses)
    {
        if (state.GetService(ns, name) is { } service && !service.ClusterIPs.IsDefaultOrEmpty)
        {
            foreach (var ip in service.ClusterIPs)
            {
                addresses.Add(ip);
            }
        }
        foreach (var slice in state.GetSlices(ns, name))
        {
            foreach (var ep in slice.Endpoints)
            {
                if (ep.Ready && !ep.Addresses.IsDefaultOrEmpty)
                {
                    foreach (var address in ep.Addresses)
                    {
                        addresses.Add(address);
                    }
                }
            }
        }
    }

    private static HashTrie<PtrEntry> RefreshPtr(Context context, ClusterState state, HashTrie<ServiceEntry> services,
        HashTrie<PtrEntry> ptr, string address, out PtrEntry? replaced) =>
        RefreshPtr(context, state, services, ptr, address, out replaced, out _);

    /// <summary>
    /// Recomputes the PTR entry of one address (docs/kubernetes-dns.md §5.7) from the state's address indexes: the first ClusterIP
    /// service holding it, else the endpoint names of every ready address equal to it. Unchanged content keeps the
    /// existing entry; <paramref name="keyChanged"/> says whether the address gained or lost its entry.
    /// </summary>
    private static HashTrie<PtrEntry> RefreshPtr(Context context, ClusterState state, HashTrie<ServiceEntry> services,
        HashTrie<PtrEntry> ptr, string address, out PtrEntry? replaced, out bool keyChanged)
    {
        replaced = null;
        keyChanged = false;
        if (!IPAddress.TryParse(address, out var ip))
        {
            return ptr;
        }
        var key = ToKey(ip);
        byte[]? service = null;
        foreach (var info in state.GetServicesByClusterIp(address))
        {
            if (context.PtrAllowed(info.Namespace) && Find(services, info.Name, info.Namespace) is { Kind: ServiceKind.ClusterIP } entry
                && Array.IndexOf(entry.ClusterIps, ip) >= 0)
            {
                service = entry.RelativeWire.Length + context.Primary.WireLength <= DnsName.MaxWireLength ? entry.RelativeWire : null;
                break;
            }
        }
        List<DnsName>? endpoints = null;
        if (service is null && !context.Options.NoEndpoints)
        {
            foreach (var slice in state.GetSlicesByReadyAddress(address))
            {
                if (!context.PtrAllowed(slice.Namespace) || Find(services, slice.ServiceName, slice.Namespace) is not { } entry
                    || entry.Kind == ServiceKind.ExternalName)
                {
                    continue;
                }
                foreach (var ep in slice.Endpoints)
                {
                    if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty || !ep.Addresses.Contains(address))
                    {
                        continue;
                    }
                    var label = ToLabel(EndpointName(ep, address, context.Options.EndpointPodNames));
                    if (Target(label, entry.RelativeWire, context.Primary) is { } target && (endpoints is null || !endpoints.Contains(target)))
                    {
                        (endpoints ??= []).Add(target);
                    }
                }
            }
        }

        var existing = FindIn(ptr, key);
        if (service is null && endpoints is null)
        {
            if (existing is null)
            {
                return ptr;
            }
            replaced = existing;
            keyChanged = true;
            return ptr.Remove(existing);
        }
        var fresh = new PtrEntry(key, service, endpoints is null ? NoNames : [.. endpoints]);
        if (existing is not null && existing.SameContent(fresh))
        {
            return ptr;
        }
        replaced = existing;
        keyChanged = existing is null;
        return ptr.Set(fresh);
    }

    private static PtrEntry? FindIn(HashTrie<PtrEntry> ptr, UInt128 key)
    {
        var slot = ptr.Find(IpHash(key));
        if (slot is PtrEntry entry)
        {
            return entry.Key == key ? entry : null;
        }
        if (slot is PtrEntry[] entries)
        {
            foreach (var e in entries)
            {
                if (e.Key == key)
                {
                    return e;
                }
            }
        }
        return null;
    }

    /// <summary>Recomputes which namespaces have a pod at <paramref name="address"/>.</summary>
    private static HashTrie<PodIpEntry> RefreshPod(ClusterState state, HashTrie<PodIpEntry> pods, string address)
    {
        if (address.Length == 0 || !IPAddress.TryParse(address, out var ip))
        {
            return pods;
        }
        var key = ToKey(ip);
        string? first = null;
        List<string>? more = null;
        foreach (var pod in state.GetPodsByIp(address))
        {
            if (first is null)
            {
                first = pod.Namespace;
            }
            else if (pod.Namespace != first && (more is null || !more.Contains(pod.Namespace)))
            {
                (more ??= []).Add(pod.Namespace);
            }
        }
        var probe = new PodIpEntry(key, first ?? "", more is null ? null : [.. more]);
        return first is null ? pods.Remove(probe) : pods.Set(probe);
    }

    private static ServiceEntry BuildService(ClusterState state, ServiceInfo s, KubernetesOptions options)
    {
        IPAddress[] ips = [];
        if (s.Kind == ServiceKind.ClusterIP && !s.ClusterIPs.IsDefaultOrEmpty)
        {
            var list = new List<IPAddress>(s.ClusterIPs.Length);
            foreach (var text in s.ClusterIPs)
            {
                if (IPAddress.TryParse(text, out var ip))
                {
                    list.Add(ip);
                }
            }
            ips = [.. list];
        }

        SliceEntry[] slices = [];
        var ready = 0;
        if (!options.NoEndpoints && s.Kind != ServiceKind.ExternalName)
        {
            var found = state.GetSlices(s.Namespace, s.Name);
            if (found.Count > 0)
            {
                slices = new SliceEntry[found.Count];
                for (var i = 0; i < found.Count; i++)
                {
                    var slice = found[i];
                    var endpoints = new List<EndpointEntry>(slice.Endpoints.IsDefault ? 0 : slice.Endpoints.Length);
                    foreach (var ep in slice.Endpoints)
                    {
                        if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty)
                        {
                            continue;
                        }
                        foreach (var address in ep.Addresses)
                        {
                            if (IPAddress.TryParse(address, out var ip))
                            {
                                endpoints.Add(new EndpointEntry(ip, EndpointName(ep, address, options.EndpointPodNames)));
                            }
                        }
                    }
                    ready += endpoints.Count;
                    slices[i] = new SliceEntry(Ports(slice.Ports), [.. endpoints]);
                }
            }
        }

        DnsName? external = null;
        if (s.Kind == ServiceKind.ExternalName && !string.IsNullOrEmpty(s.ExternalName) && !IPAddress.TryParse(s.ExternalName, out _))
        {
            var fqdn = s.ExternalName.EndsWith('.') ? s.ExternalName : s.ExternalName + ".";
            DnsName.TryParse(fqdn, out external);
        }

        var relative = new byte[s.Name.Length + s.Namespace.Length + 6];
        var at = 0;
        foreach (var part in (ReadOnlySpan<string>)[s.Name, s.Namespace, "svc"])
        {
            relative[at++] = (byte)part.Length;
            foreach (var c in part)
            {
                relative[at++] = (byte)char.ToLowerInvariant(c);
            }
        }

        return new ServiceEntry
        {
            Namespace = s.Namespace,
            Name = s.Name,
            Kind = s.Kind,
            ClusterIps = ips,
            Ports = Ports(s.Ports),
            ExternalTarget = external,
            Slices = slices,
            ReadyCount = ready,
            RelativeWire = relative,
            Hash = KeyHash(s.Name, s.Namespace),
        };
    }

    // Shares the model's array: both are immutable, so no per-service copy is needed.
    private static ServicePortInfo[] Ports(ImmutableArray<ServicePortInfo> ports) =>
        ports.IsDefaultOrEmpty ? SentinelPorts : ImmutableCollectionsMarshal.AsArray(ports)!;

    /// <summary>EN(EA), docs/kubernetes-dns.md §1: hostname, then (endpoint_pod_names) the pod name, then the dashed address.</summary>
    internal static string EndpointName(EndpointInfo ep, string address, bool podNames)
    {
        if (!string.IsNullOrEmpty(ep.Hostname))
        {
            return ep.Hostname.ToLowerInvariant();
        }
        if (podNames && !string.IsNullOrEmpty(ep.TargetRefName) && ep.TargetRefName.Length <= DnsName.MaxLabelLength)
        {
            return ep.TargetRefName.ToLowerInvariant();
        }
        if (address.Contains(':'))
        {
            var dashed = address.Replace(':', '-').ToLowerInvariant();
            return dashed.EndsWith('-') ? dashed + "0" : dashed;
        }
        return address.Replace('.', '-');
    }

    private static HashSet<UInt128> LocalKeysOf(IReadOnlyList<IPAddress> localAddresses)
    {
        var keys = new HashSet<UInt128>();
        foreach (var address in localAddresses)
        {
            if (!IPAddress.IsLoopback(address))
            {
                keys.Add(ToKey(address));
            }
        }
        return keys;
    }

    /// <summary>docs/kubernetes-dns.md §5.9, driven by the bound addresses: the slices holding one as a ready address give their
    /// service's ClusterIPs (or, headless, that slice's endpoints); none ⇒ <c>ns.dns</c> per bound address.</summary>
    private static NameServerEntry[] BuildNameServers(Context context, ClusterState state, HashTrie<ServiceEntry> services)
    {
        var entries = new List<NameServerEntry>();
        var options = context.Options;
        foreach (var local in context.LocalAddresses)
        {
            if (IPAddress.IsLoopback(local) || options.NoEndpoints)
            {
                continue;
            }
            foreach (var slice in state.GetSlicesByReadyAddress(local.ToString()))
            {
                if (Find(services, slice.ServiceName, slice.Namespace) is not { } service || service.Kind == ServiceKind.ExternalName)
                {
                    continue;
                }
                if (service.Kind == ServiceKind.Headless)
                {
                    foreach (var ep in slice.Endpoints)
                    {
                        if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty)
                        {
                            continue;
                        }
                        foreach (var address in ep.Addresses)
                        {
                            if (IPAddress.TryParse(address, out var ip))
                            {
                                var label = ToLabel(EndpointName(ep, address, options.EndpointPodNames));
                                Add(entries, [.. label, .. service.RelativeWire], ip);
                            }
                        }
                    }
                }
                else
                {
                    foreach (var ip in service.ClusterIps)
                    {
                        Add(entries, service.RelativeWire, ip);
                    }
                }
            }
        }
        if (entries.Count == 0)
        {
            foreach (var address in context.LocalAddresses)
            {
                if (!IPAddress.IsLoopback(address))
                {
                    Add(entries, NsDnsWire, address);
                }
            }
        }
        return [.. entries];
    }

    private static bool SameNameServers(NameServerEntry[] a, NameServerEntry[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (var i = 0; i < a.Length; i++)
        {
            if (!a[i].Address.Equals(b[i].Address) || !a[i].RelativeWire.AsSpan().SequenceEqual(b[i].RelativeWire))
            {
                return false;
            }
        }
        return true;
    }

    private static void Add(List<NameServerEntry> entries, byte[] relative, IPAddress address)
    {
        foreach (var e in entries)
        {
            if (e.Address.Equals(address) && e.RelativeWire.AsSpan().SequenceEqual(relative))
            {
                return;
            }
        }
        entries.Add(new NameServerEntry(relative, address));
    }
}
