using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Immutable snapshot of what the DNS lookup needs from the cluster. Every With*/Without* returns a new snapshot
/// sharing structure with this one (O(log n) per change), so writers can publish by swapping one reference.
/// </summary>
/// <remarks>
/// Memory: the maps are <see cref="CompactTrie{T, TKey}"/>s that hold the model records themselves (≈ 10–15 B per
/// entry); index values for one key are one record or an array, never a one-element array; the by-address indexes
/// hold one small (address, value) pair per address, the address string being the model's own.
/// </remarks>
public sealed partial class ClusterState
{
    private readonly ImmutableDictionary<string, string> _namespaces;
    private readonly CompactTrie<ServiceInfo, ServiceByName> _services;
    private readonly CompactTrie<Keyed<ServiceInfo>, ByAddress<ServiceInfo>> _servicesByIp;
    private readonly CompactTrie<EndpointSliceInfo, SliceByName> _slices;
    private readonly CompactTrie<EndpointSliceInfo, SliceByService> _slicesByService;
    private readonly CompactTrie<Keyed<EndpointSliceInfo>, ByAddress<EndpointSliceInfo>> _slicesByReadyAddress;
    private readonly CompactTrie<PodInfo, PodByName> _pods;
    private readonly CompactTrie<PodInfo, PodByIp> _podsByIp;
    private readonly MulticlusterData _multicluster;

    public static ClusterState Empty { get; } = new(
        ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal),
        CompactTrie<ServiceInfo, ServiceByName>.Empty,
        CompactTrie<Keyed<ServiceInfo>, ByAddress<ServiceInfo>>.Empty,
        CompactTrie<EndpointSliceInfo, SliceByName>.Empty,
        CompactTrie<EndpointSliceInfo, SliceByService>.Empty,
        CompactTrie<Keyed<EndpointSliceInfo>, ByAddress<EndpointSliceInfo>>.Empty,
        CompactTrie<PodInfo, PodByName>.Empty,
        CompactTrie<PodInfo, PodByIp>.Empty,
        0,
        MulticlusterData.Empty);

    private ClusterState(
        ImmutableDictionary<string, string> namespaces,
        CompactTrie<ServiceInfo, ServiceByName> services,
        CompactTrie<Keyed<ServiceInfo>, ByAddress<ServiceInfo>> servicesByIp,
        CompactTrie<EndpointSliceInfo, SliceByName> slices,
        CompactTrie<EndpointSliceInfo, SliceByService> slicesByService,
        CompactTrie<Keyed<EndpointSliceInfo>, ByAddress<EndpointSliceInfo>> slicesByReadyAddress,
        CompactTrie<PodInfo, PodByName> pods,
        CompactTrie<PodInfo, PodByIp> podsByIp,
        long serial,
        MulticlusterData multicluster)
    {
        _multicluster = multicluster;
        _namespaces = namespaces;
        _services = services;
        _servicesByIp = servicesByIp;
        _slices = slices;
        _slicesByService = slicesByService;
        _slicesByReadyAddress = slicesByReadyAddress;
        _pods = pods;
        _podsByIp = podsByIp;
        Serial = serial;
    }

    /// <summary>Namespace name → name; only existence matters (docs/kubernetes-dns.md §7).</summary>
    public IReadOnlyDictionary<string, string> Namespaces => _namespaces;

    public IEnumerable<ServiceInfo> Services => _services.Items();

    public IEnumerable<EndpointSliceInfo> Slices => _slices.Items();

    public IEnumerable<PodInfo> Pods => _pods.Items();

    public int ServiceCount => _services.Count;

    public int SliceCount => _slices.Count;

    public int PodCount => _pods.Count;

    /// <summary>Unix seconds of the last DNS-relevant change (docs/kubernetes-dns.md §8.4); 0 before any.</summary>
    public long Serial { get; }

    public bool NamespaceExists(string ns) => _namespaces.ContainsKey(ns);

    public ServiceInfo? GetService(string ns, string name)
    {
        var slot = _services.Find(TrieHash.Of(ns, name));
        if (slot is ServiceInfo one)
        {
            return one.Namespace == ns && one.Name == name ? one : null;
        }
        if (slot is ServiceInfo[] many)
        {
            foreach (var s in many)
            {
                if (s.Namespace == ns && s.Name == name)
                {
                    return s;
                }
            }
        }
        return null;
    }

    public ItemList<EndpointSliceInfo> GetSlices(string ns, string service)
    {
        var slot = _slicesByService.Find(TrieHash.Of(ns, service));
        if (slot is EndpointSliceInfo one)
        {
            return one.Namespace == ns && one.ServiceName == service ? new(one) : default;
        }
        if (slot is not EndpointSliceInfo[] many)
        {
            return default;
        }
        var all = true;
        foreach (var s in many)
        {
            all &= s.Namespace == ns && s.ServiceName == service;
        }
        return all ? new(many) : FilterSlices(many, ns, service);
    }

    public EndpointSliceInfo? GetSlice(string ns, string name)
    {
        var slot = _slices.Find(TrieHash.Of(ns, name));
        if (slot is EndpointSliceInfo one)
        {
            return one.Namespace == ns && one.Name == name ? one : null;
        }
        if (slot is EndpointSliceInfo[] many)
        {
            foreach (var s in many)
            {
                if (s.Namespace == ns && s.Name == name)
                {
                    return s;
                }
            }
        }
        return null;
    }

    public PodInfo? GetPod(string ns, string name)
    {
        var slot = _pods.Find(TrieHash.Of(ns, name));
        if (slot is PodInfo one)
        {
            return one.Namespace == ns && one.Name == name ? one : null;
        }
        if (slot is PodInfo[] many)
        {
            foreach (var p in many)
            {
                if (p.Namespace == ns && p.Name == name)
                {
                    return p;
                }
            }
        }
        return null;
    }

    public ItemList<PodInfo> GetPodsByIp(string ip)
    {
        var slot = _podsByIp.Find(TrieHash.Of(ip));
        if (slot is PodInfo one)
        {
            return one.PodIP == ip ? new(one) : default;
        }
        if (slot is not PodInfo[] many)
        {
            return default;
        }
        var all = true;
        foreach (var p in many)
        {
            all &= p.PodIP == ip;
        }
        return all ? new(many) : new(many.Where(p => p.PodIP == ip).ToArray());
    }

    /// <summary>Services whose clusterIPs contain <paramref name="ip"/> (PTR, docs/kubernetes-dns.md §5.7).</summary>
    public ItemList<ServiceInfo> GetServicesByClusterIp(string ip) => new(Keyed<ServiceInfo>.Find(_servicesByIp, ip)?.Value);

    /// <summary>Slices holding <paramref name="ip"/> as a ready address (PTR and NS, docs/kubernetes-dns.md §5.7/§5.9).</summary>
    public ItemList<EndpointSliceInfo> GetSlicesByReadyAddress(string ip) =>
        new(Keyed<EndpointSliceInfo>.Find(_slicesByReadyAddress, ip)?.Value);

    public ClusterState WithNamespace(string name) =>
        _namespaces.ContainsKey(name) ? this : With(namespaces: _namespaces.SetItem(name, name));

    public ClusterState WithoutNamespace(string name) =>
        _namespaces.ContainsKey(name) ? With(namespaces: _namespaces.Remove(name)) : this;

    public ClusterState WithSerial(long serial) => serial == Serial ? this : With(serial: serial);

    public ClusterState WithService(ServiceInfo s)
    {
        s = ShareStrings(s);
        var byIp = _servicesByIp;
        if (GetService(s.Namespace, s.Name) is { } old)
        {
            byIp = RemoveIps(byIp, old);
        }
        foreach (var ip in s.ClusterIPs)
        {
            if (ip.Length > 0 && ip != "None")
            {
                byIp = Keyed<ServiceInfo>.Add(byIp, ip, s);
            }
        }
        return With(services: _services.Set(s, ServiceByName.HashOf(s), multi: false), servicesByIp: byIp);
    }

    public ClusterState WithoutService(string ns, string name)
    {
        if (GetService(ns, name) is not { } old)
        {
            return this;
        }
        return With(services: _services.Remove(old, ServiceByName.HashOf(old), byReference: false),
            servicesByIp: RemoveIps(_servicesByIp, old));
    }

    public ClusterState WithSlice(EndpointSliceInfo slice)
    {
        var state = WithoutSlice(slice.Namespace, slice.Name);
        slice = state.ShareStrings(slice);
        var bySvc = state._slicesByService.Set(slice, SliceByService.HashOf(slice), multi: true);
        var byAddr = state._slicesByReadyAddress;
        foreach (var ep in slice.Endpoints)
        {
            if (!ep.Ready)
            {
                continue;
            }
            foreach (var a in ep.Addresses)
            {
                if (!Keyed<EndpointSliceInfo>.Contains(byAddr, a, slice))
                {
                    byAddr = Keyed<EndpointSliceInfo>.Add(byAddr, a, slice);
                }
            }
        }

        return state.With(slices: state._slices.Set(slice, SliceByName.HashOf(slice), multi: false), slicesByService: bySvc,
            slicesByReadyAddress: byAddr);
    }

    public ClusterState WithoutSlice(string ns, string name)
    {
        if (GetSlice(ns, name) is not { } old)
        {
            return this;
        }
        var bySvc = _slicesByService.Remove(old, SliceByService.HashOf(old), byReference: true);
        var byAddr = _slicesByReadyAddress;
        foreach (var ep in old.Endpoints)
        {
            if (!ep.Ready)
            {
                continue;
            }
            foreach (var a in ep.Addresses)
            {
                byAddr = Keyed<EndpointSliceInfo>.Remove(byAddr, a, old);
            }
        }

        return With(slices: _slices.Remove(old, SliceByName.HashOf(old), byReference: false), slicesByService: bySvc,
            slicesByReadyAddress: byAddr);
    }

    public ClusterState WithPod(PodInfo pod)
    {
        var state = WithoutPod(pod.Namespace, pod.Name);
        pod = state.ShareStrings(pod);
        var byIp = state._podsByIp;
        if (pod.PodIP.Length > 0)
        {
            byIp = byIp.Set(pod, PodByIp.HashOf(pod), multi: true);
        }
        return state.With(pods: state._pods.Set(pod, PodByName.HashOf(pod), multi: false), podsByIp: byIp);
    }

    public ClusterState WithoutPod(string ns, string name)
    {
        if (GetPod(ns, name) is not { } old)
        {
            return this;
        }
        var byIp = old.PodIP.Length > 0 ? _podsByIp.Remove(old, PodByIp.HashOf(old), byReference: true) : _podsByIp;
        return With(pods: _pods.Remove(old, PodByName.HashOf(old), byReference: false), podsByIp: byIp);
    }

    /// <summary>Convenience for tests and snapshot loading.</summary>
    public static ClusterState Build(IEnumerable<string>? namespaces = null, IEnumerable<ServiceInfo>? services = null,
        IEnumerable<EndpointSliceInfo>? slices = null, IEnumerable<PodInfo>? pods = null, long serial = 0,
        IEnumerable<ServiceImportInfo>? imports = null, IEnumerable<McsSliceInfo>? mcsSlices = null)
    {
        var s = Empty;
        foreach (var ns in namespaces ?? [])
        {
            s = s.WithNamespace(ns);
        }
        foreach (var svc in services ?? [])
        {
            s = s.WithService(svc);
        }
        foreach (var sl in slices ?? [])
        {
            s = s.WithSlice(sl);
        }
        foreach (var p in pods ?? [])
        {
            s = s.WithPod(p);
        }
        foreach (var i in imports ?? [])
        {
            s = s.WithServiceImport(i);
        }
        foreach (var m in mcsSlices ?? [])
        {
            s = s.WithMcsSlice(m);
        }
        return s.WithSerial(serial);
    }

    // String sharing: a pod's name and IP are also its endpoint's targetRef name and address, and a slice's service
    // name is its service's name. Each arrives as its own deserialized copy; whichever object comes second takes the
    // strings the state already holds (content unchanged), so each string is kept once. Costs a lookup per object.
    private ServiceInfo ShareStrings(ServiceInfo s)
    {
        var slices = GetSlices(s.Namespace, s.Name);
        return slices.Count > 0 && !ReferenceEquals(slices[0].ServiceName, s.Name) ? s with { Name = slices[0].ServiceName } : s;
    }

    private EndpointSliceInfo ShareStrings(EndpointSliceInfo slice)
    {
        var serviceName = GetService(slice.Namespace, slice.ServiceName)?.Name ?? slice.ServiceName;
        var endpoints = slice.Endpoints;
        EndpointInfo[]? shared = null;
        if (!endpoints.IsDefault && _pods.Count > 0)
        {
            for (var i = 0; i < endpoints.Length; i++)
            {
                var ep = endpoints[i];
                if (ep.TargetRefName is not { } target || ep.Addresses.IsDefaultOrEmpty)
                {
                    continue;
                }
                PodInfo? pod = null;
                var at = 0;
                for (; at < ep.Addresses.Length && pod is null; at++)
                {
                    foreach (var p in GetPodsByIp(ep.Addresses[at]))
                    {
                        if (p.Name == target && p.Namespace == slice.Namespace) { pod = p; break; }
                    }
                }
                at--;
                if (pod is null || (ReferenceEquals(pod.Name, target) && ReferenceEquals(pod.PodIP, ep.Addresses[at])))
                {
                    continue;
                }
                shared ??= [.. endpoints];
                shared[i] = ep with { TargetRefName = pod.Name, Addresses = ep.Addresses.SetItem(at, pod.PodIP) };
            }
        }

        if (shared is null && ReferenceEquals(serviceName, slice.ServiceName))
        {
            return slice;
        }
        return slice with
        {
            ServiceName = serviceName,
            Endpoints = shared is null ? endpoints : ImmutableCollectionsMarshal.AsImmutableArray(shared),
        };
    }

    private PodInfo ShareStrings(PodInfo pod)
    {
        if (pod.PodIP.Length == 0)
        {
            return pod;
        }
        foreach (var slice in GetSlicesByReadyAddress(pod.PodIP))
        {
            if (slice.Namespace != pod.Namespace)
            {
                continue;
            }
            foreach (var ep in slice.Endpoints)
            {
                if (ep.TargetRefName != pod.Name)
                {
                    continue;
                }
                foreach (var a in ep.Addresses)
                {
                    if (a == pod.PodIP)
                    {
                        return ReferenceEquals(a, pod.PodIP) && ReferenceEquals(ep.TargetRefName, pod.Name) ? pod : new PodInfo(pod.Namespace, ep.TargetRefName, a);
                    }
                }
            }
        }
        return pod;
    }

    // A full 64-bit hash collision between two services; never on the hot path.
    private static ItemList<EndpointSliceInfo> FilterSlices(EndpointSliceInfo[] many, string ns, string service) =>
        new(many.Where(s => s.Namespace == ns && s.ServiceName == service).ToArray());

    private static CompactTrie<Keyed<ServiceInfo>, ByAddress<ServiceInfo>> RemoveIps(
        CompactTrie<Keyed<ServiceInfo>, ByAddress<ServiceInfo>> byIp, ServiceInfo old)
    {
        foreach (var ip in old.ClusterIPs)
        {
            byIp = Keyed<ServiceInfo>.Remove(byIp, ip, old);
        }
        return byIp;
    }

    private ClusterState With(
        ImmutableDictionary<string, string>? namespaces = null,
        CompactTrie<ServiceInfo, ServiceByName>? services = null,
        CompactTrie<Keyed<ServiceInfo>, ByAddress<ServiceInfo>>? servicesByIp = null,
        CompactTrie<EndpointSliceInfo, SliceByName>? slices = null,
        CompactTrie<EndpointSliceInfo, SliceByService>? slicesByService = null,
        CompactTrie<Keyed<EndpointSliceInfo>, ByAddress<EndpointSliceInfo>>? slicesByReadyAddress = null,
        CompactTrie<PodInfo, PodByName>? pods = null,
        CompactTrie<PodInfo, PodByIp>? podsByIp = null,
        long? serial = null,
        MulticlusterData? multicluster = null) =>
        new(namespaces ?? _namespaces, services ?? _services, servicesByIp ?? _servicesByIp, slices ?? _slices,
            slicesByService ?? _slicesByService, slicesByReadyAddress ?? _slicesByReadyAddress, pods ?? _pods,
            podsByIp ?? _podsByIp, serial ?? Serial, multicluster ?? _multicluster);


    private readonly struct ServiceByName : ITrieKey<ServiceInfo>
    {
        public static ulong HashOf(ServiceInfo s) => TrieHash.Of(s.Namespace, s.Name);

        public static bool SameKey(ServiceInfo a, ServiceInfo b) => a.Namespace == b.Namespace && a.Name == b.Name;
    }

    private readonly struct SliceByName : ITrieKey<EndpointSliceInfo>
    {
        public static ulong HashOf(EndpointSliceInfo s) => TrieHash.Of(s.Namespace, s.Name);

        public static bool SameKey(EndpointSliceInfo a, EndpointSliceInfo b) => a.Namespace == b.Namespace && a.Name == b.Name;
    }

    private readonly struct SliceByService : ITrieKey<EndpointSliceInfo>
    {
        public static ulong HashOf(EndpointSliceInfo s) => TrieHash.Of(s.Namespace, s.ServiceName);

        public static bool SameKey(EndpointSliceInfo a, EndpointSliceInfo b) =>
            a.Namespace == b.Namespace && a.ServiceName == b.ServiceName;
    }

    private readonly struct PodByName : ITrieKey<PodInfo>
    {
        public static ulong HashOf(PodInfo p) => TrieHash.Of(p.Namespace, p.Name);

        public static bool SameKey(PodInfo a, PodInfo b) => a.Namespace == b.Namespace && a.Name == b.Name;
    }

    private readonly struct PodByIp : ITrieKey<PodInfo>
    {
        public static ulong HashOf(PodInfo p) => TrieHash.Of(p.PodIP);

        public static bool SameKey(PodInfo a, PodInfo b) => a.PodIP == b.PodIP;
    }

    private readonly struct ByAddress<T> : ITrieKey<Keyed<T>> where T : class
    {
        public static ulong HashOf(Keyed<T> k) => TrieHash.Of(k.Key);

        public static bool SameKey(Keyed<T> a, Keyed<T> b) => a.Key == b.Key;
    }

    /// <summary>One address of a by-address index and its values: one <typeparamref name="T"/> or a <c>T[]</c>
    /// (in insertion order). The key is the model's own address string.</summary>
    private sealed class Keyed<T>(string key, object value) where T : class
    {
        public readonly string Key = key;
        public readonly object Value = value;

        public static Keyed<T>? Find(CompactTrie<Keyed<T>, ByAddress<T>> trie, string key) => Find(trie, key, TrieHash.Of(key));

        private static Keyed<T>? Find(CompactTrie<Keyed<T>, ByAddress<T>> trie, string key, ulong hash)
        {
            var slot = trie.Find(hash);
            if (slot is Keyed<T> one)
            {
                return one.Key == key ? one : null;
            }
            if (slot is Keyed<T>[] many)
            {
                foreach (var k in many)
                {
                    if (k.Key == key)
                    {
                        return k;
                    }
                }
            }
            return null;
        }

        public static bool Contains(CompactTrie<Keyed<T>, ByAddress<T>> trie, string key, T item)
        {
            foreach (var v in new ItemList<T>(Find(trie, key)?.Value))
            {
                if (ReferenceEquals(v, item))
                {
                    return true;
                }
            }
            return false;
        }

        public static CompactTrie<Keyed<T>, ByAddress<T>> Add(CompactTrie<Keyed<T>, ByAddress<T>> trie, string key, T item)
        {
            var hash = TrieHash.Of(key);
            var value = Find(trie, key, hash)?.Value switch
            {
                null => (object)item,
                T one => new[] { one, item },
                var many => (T[])[.. (T[])many, item],
            };
            return trie.Set(new Keyed<T>(key, value), hash, multi: false);
        }

        // Removes by reference: the caller always holds the exact instance that was indexed.
        public static CompactTrie<Keyed<T>, ByAddress<T>> Remove(CompactTrie<Keyed<T>, ByAddress<T>> trie, string key, T item)
        {
            var hash = TrieHash.Of(key);
            if (Find(trie, key, hash) is not { } current)
            {
                return trie;
            }
            if (current.Value is T one)
            {
                return ReferenceEquals(one, item) ? trie.Remove(current, hash, byReference: true) : trie;
            }
            var many = (T[])current.Value;
            var index = Array.FindIndex(many, v => ReferenceEquals(v, item));
            if (index < 0)
            {
                return trie;
            }
            object rest = many.Length == 2 ? many[1 - index] : (T[])[.. many.AsSpan(0, index), .. many.AsSpan(index + 1)];
            return trie.Set(new Keyed<T>(key, rest), hash, multi: false);
        }
    }
}
