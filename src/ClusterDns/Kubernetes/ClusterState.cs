using System.Collections.Immutable;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Immutable snapshot of what the DNS lookup needs from the cluster. Every With*/Without* returns a new snapshot
/// sharing structure with this one (O(log n) per change), so writers can publish by swapping one reference.
/// </summary>
public sealed class ClusterState
{
    private static readonly IReadOnlyList<EndpointSliceInfo> NoSlices = Array.Empty<EndpointSliceInfo>();
    private static readonly IReadOnlyList<PodInfo> NoPods = Array.Empty<PodInfo>();
    private static readonly IReadOnlyList<ServiceInfo> NoServices = Array.Empty<ServiceInfo>();

    private readonly ImmutableDictionary<string, string> _namespaces;
    private readonly ImmutableDictionary<(string, string), ServiceInfo> _services;
    private readonly ImmutableDictionary<string, IReadOnlyList<ServiceInfo>> _servicesByIp;
    private readonly ImmutableDictionary<(string, string), EndpointSliceInfo> _slices;
    // Index values are pre-boxed lists so lookups allocate nothing.
    private readonly ImmutableDictionary<(string, string), IReadOnlyList<EndpointSliceInfo>> _slicesByService;
    private readonly ImmutableDictionary<string, IReadOnlyList<EndpointSliceInfo>> _slicesByReadyAddress;
    private readonly ImmutableDictionary<(string, string), PodInfo> _pods;
    private readonly ImmutableDictionary<string, IReadOnlyList<PodInfo>> _podsByIp;

    public static ClusterState Empty { get; } = new(
        ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<(string, string), ServiceInfo>.Empty,
        ImmutableDictionary<string, IReadOnlyList<ServiceInfo>>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<(string, string), EndpointSliceInfo>.Empty,
        ImmutableDictionary<(string, string), IReadOnlyList<EndpointSliceInfo>>.Empty,
        ImmutableDictionary<string, IReadOnlyList<EndpointSliceInfo>>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableDictionary<(string, string), PodInfo>.Empty,
        ImmutableDictionary<string, IReadOnlyList<PodInfo>>.Empty.WithComparers(StringComparer.Ordinal),
        0);

    private ClusterState(
        ImmutableDictionary<string, string> namespaces,
        ImmutableDictionary<(string, string), ServiceInfo> services,
        ImmutableDictionary<string, IReadOnlyList<ServiceInfo>> servicesByIp,
        ImmutableDictionary<(string, string), EndpointSliceInfo> slices,
        ImmutableDictionary<(string, string), IReadOnlyList<EndpointSliceInfo>> slicesByService,
        ImmutableDictionary<string, IReadOnlyList<EndpointSliceInfo>> slicesByReadyAddress,
        ImmutableDictionary<(string, string), PodInfo> pods,
        ImmutableDictionary<string, IReadOnlyList<PodInfo>> podsByIp,
        long serial)
    {
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

    /// <summary>Namespace name → name; only existence matters (spec §7).</summary>
    public IReadOnlyDictionary<string, string> Namespaces => _namespaces;

    public IEnumerable<ServiceInfo> Services => _services.Values;

    public IEnumerable<EndpointSliceInfo> Slices => _slices.Values;

    public IEnumerable<PodInfo> Pods => _pods.Values;

    public int ServiceCount => _services.Count;

    public int SliceCount => _slices.Count;

    public int PodCount => _pods.Count;

    /// <summary>Unix seconds of the last DNS-relevant change (spec §8.4); 0 before any.</summary>
    public long Serial { get; }

    public bool NamespaceExists(string ns) => _namespaces.ContainsKey(ns);

    public ServiceInfo? GetService(string ns, string name) => _services.GetValueOrDefault((ns, name));

    public IReadOnlyList<EndpointSliceInfo> GetSlices(string ns, string service) =>
        _slicesByService.TryGetValue((ns, service), out var list) ? list : NoSlices;

    public EndpointSliceInfo? GetSlice(string ns, string name) => _slices.GetValueOrDefault((ns, name));

    public PodInfo? GetPod(string ns, string name) => _pods.GetValueOrDefault((ns, name));

    public IReadOnlyList<PodInfo> GetPodsByIp(string ip) => _podsByIp.TryGetValue(ip, out var list) ? list : NoPods;

    /// <summary>Services whose clusterIPs contain <paramref name="ip"/> (PTR, spec §5.7).</summary>
    public IReadOnlyList<ServiceInfo> GetServicesByClusterIp(string ip) =>
        _servicesByIp.TryGetValue(ip, out var list) ? list : NoServices;

    /// <summary>Slices holding <paramref name="ip"/> as a ready address (PTR and NS, spec §5.7/§5.9).</summary>
    public IReadOnlyList<EndpointSliceInfo> GetSlicesByReadyAddress(string ip) =>
        _slicesByReadyAddress.TryGetValue(ip, out var list) ? list : NoSlices;

    public ClusterState WithNamespace(string name) =>
        _namespaces.ContainsKey(name) ? this : With(namespaces: _namespaces.SetItem(name, name));

    public ClusterState WithoutNamespace(string name) =>
        _namespaces.ContainsKey(name) ? With(namespaces: _namespaces.Remove(name)) : this;

    public ClusterState WithSerial(long serial) => serial == Serial ? this : With(serial: serial);

    public ClusterState WithService(ServiceInfo s)
    {
        var key = (s.Namespace, s.Name);
        var byIp = _servicesByIp;
        if (_services.TryGetValue(key, out var old))
            byIp = RemoveIps(byIp, old);
        foreach (var ip in s.ClusterIPs)
            if (ip.Length > 0 && ip != "None") byIp = Index.Add(byIp, ip, s);
        return With(services: _services.SetItem(key, s), servicesByIp: byIp);
    }

    public ClusterState WithoutService(string ns, string name)
    {
        if (!_services.TryGetValue((ns, name), out var old)) return this;
        return With(services: _services.Remove((ns, name)), servicesByIp: RemoveIps(_servicesByIp, old));
    }

    public ClusterState WithSlice(EndpointSliceInfo slice)
    {
        var state = WithoutSlice(slice.Namespace, slice.Name);
        var bySvc = Index.Add(state._slicesByService, (slice.Namespace, slice.ServiceName), slice);
        var byAddr = state._slicesByReadyAddress;
        foreach (var ep in slice.Endpoints)
        {
            if (!ep.Ready) continue;
            foreach (var a in ep.Addresses)
                if (!Index.Contains(byAddr, a, slice)) byAddr = Index.Add(byAddr, a, slice);
        }

        return state.With(slices: state._slices.SetItem((slice.Namespace, slice.Name), slice), slicesByService: bySvc,
            slicesByReadyAddress: byAddr);
    }

    public ClusterState WithoutSlice(string ns, string name)
    {
        if (!_slices.TryGetValue((ns, name), out var old)) return this;
        var bySvc = Index.Remove(_slicesByService, (ns, old.ServiceName), old);
        var byAddr = _slicesByReadyAddress;
        foreach (var ep in old.Endpoints)
        {
            if (!ep.Ready) continue;
            foreach (var a in ep.Addresses) byAddr = Index.Remove(byAddr, a, old);
        }

        return With(slices: _slices.Remove((ns, name)), slicesByService: bySvc, slicesByReadyAddress: byAddr);
    }

    public ClusterState WithPod(PodInfo pod)
    {
        var state = WithoutPod(pod.Namespace, pod.Name);
        var byIp = state._podsByIp;
        if (pod.PodIP.Length > 0) byIp = Index.Add(byIp, pod.PodIP, pod);
        return state.With(pods: state._pods.SetItem((pod.Namespace, pod.Name), pod), podsByIp: byIp);
    }

    public ClusterState WithoutPod(string ns, string name)
    {
        if (!_pods.TryGetValue((ns, name), out var old)) return this;
        var byIp = old.PodIP.Length > 0 ? Index.Remove(_podsByIp, old.PodIP, old) : _podsByIp;
        return With(pods: _pods.Remove((ns, name)), podsByIp: byIp);
    }

    /// <summary>Convenience for tests and snapshot loading.</summary>
    public static ClusterState Build(IEnumerable<string>? namespaces = null, IEnumerable<ServiceInfo>? services = null,
        IEnumerable<EndpointSliceInfo>? slices = null, IEnumerable<PodInfo>? pods = null, long serial = 0)
    {
        var s = Empty;
        foreach (var ns in namespaces ?? []) s = s.WithNamespace(ns);
        foreach (var svc in services ?? []) s = s.WithService(svc);
        foreach (var sl in slices ?? []) s = s.WithSlice(sl);
        foreach (var p in pods ?? []) s = s.WithPod(p);
        return s.WithSerial(serial);
    }

    private static ImmutableDictionary<string, IReadOnlyList<ServiceInfo>> RemoveIps(
        ImmutableDictionary<string, IReadOnlyList<ServiceInfo>> byIp, ServiceInfo old)
    {
        foreach (var ip in old.ClusterIPs) byIp = Index.Remove(byIp, ip, old);
        return byIp;
    }

    private ClusterState With(
        ImmutableDictionary<string, string>? namespaces = null,
        ImmutableDictionary<(string, string), ServiceInfo>? services = null,
        ImmutableDictionary<string, IReadOnlyList<ServiceInfo>>? servicesByIp = null,
        ImmutableDictionary<(string, string), EndpointSliceInfo>? slices = null,
        ImmutableDictionary<(string, string), IReadOnlyList<EndpointSliceInfo>>? slicesByService = null,
        ImmutableDictionary<string, IReadOnlyList<EndpointSliceInfo>>? slicesByReadyAddress = null,
        ImmutableDictionary<(string, string), PodInfo>? pods = null,
        ImmutableDictionary<string, IReadOnlyList<PodInfo>>? podsByIp = null,
        long? serial = null) =>
        new(namespaces ?? _namespaces, services ?? _services, servicesByIp ?? _servicesByIp, slices ?? _slices,
            slicesByService ?? _slicesByService, slicesByReadyAddress ?? _slicesByReadyAddress, pods ?? _pods,
            podsByIp ?? _podsByIp, serial ?? Serial);

    /// <summary>Multi-value index helpers; lists stay tiny (slices per service, pods per IP) so copying them is cheap.</summary>
    private static class Index
    {
        public static ImmutableDictionary<TKey, IReadOnlyList<T>> Add<TKey, T>(ImmutableDictionary<TKey, IReadOnlyList<T>> d, TKey key, T item)
            where TKey : notnull
        {
            if (!d.TryGetValue(key, out var list)) return d.SetItem(key, new[] { item });
            var copy = new T[list.Count + 1];
            for (int i = 0; i < list.Count; i++) copy[i] = list[i];
            copy[^1] = item;
            return d.SetItem(key, copy);
        }

        public static bool Contains<TKey, T>(ImmutableDictionary<TKey, IReadOnlyList<T>> d, TKey key, T item)
            where TKey : notnull where T : class
        {
            if (!d.TryGetValue(key, out var list)) return false;
            for (int i = 0; i < list.Count; i++)
                if (ReferenceEquals(list[i], item)) return true;
            return false;
        }

        // Removes by reference: the caller always holds the exact instance that was indexed.
        public static ImmutableDictionary<TKey, IReadOnlyList<T>> Remove<TKey, T>(ImmutableDictionary<TKey, IReadOnlyList<T>> d, TKey key, T item)
            where TKey : notnull where T : class
        {
            if (!d.TryGetValue(key, out var list)) return d;
            int idx = -1;
            for (int i = 0; i < list.Count; i++)
                if (ReferenceEquals(list[i], item)) { idx = i; break; }
            if (idx < 0) return d;
            if (list.Count == 1) return d.Remove(key);
            var copy = new T[list.Count - 1];
            for (int i = 0, j = 0; i < list.Count; i++)
                if (i != idx) copy[j++] = list[i];
            return d.SetItem(key, copy);
        }
    }
}
