namespace ClusterDns.Kubernetes;

/// <summary>
/// How the store reads and writes one kind of slim record inside a <see cref="ClusterState"/>: its key, the state's
/// accessors for it, whether a change moves the serial (docs/kubernetes-dns.md §8.4) and what a change of it touches.
/// One instance per kind in <see cref="ClusterKinds"/>; <see cref="ClusterStore"/> applies events and relists through it.
/// </summary>
internal sealed class KindOps<TInfo>(
    string resource,
    Func<TInfo, (string Ns, string Name)> key,
    Func<ClusterState, (string Ns, string Name), TInfo?> get,
    Func<ClusterState, TInfo, ClusterState> with,
    Func<ClusterState, (string Ns, string Name), ClusterState> without,
    Func<ClusterState, IEnumerable<TInfo>> all,
    Func<TInfo?, TInfo?, bool> bumpsSerial,
    Action<ChangeBuilder, TInfo> touch)
    where TInfo : class
{
    /// <summary>The API resource, as logs and metrics name it.</summary>
    public string Resource => resource;

    public (string Ns, string Name) Key(TInfo item) => key(item);

    public TInfo? Get(ClusterState s, (string Ns, string Name) itemKey) => get(s, itemKey);

    public ClusterState With(ClusterState s, TInfo item) => with(s, item);

    public ClusterState Without(ClusterState s, (string Ns, string Name) itemKey) => without(s, itemKey);

    public IEnumerable<TInfo> All(ClusterState s) => all(s);

    /// <summary>Value equality (the slim records are records; namespaces are strings).</summary>
    public bool Equal(TInfo a, TInfo b) => EqualityComparer<TInfo>.Default.Equals(a, b);

    /// <summary>docs/kubernetes-dns.md §8.4: does replacing <paramref name="old"/> by <paramref name="now"/> (either may be
    /// null) move the serial?</summary>
    public bool BumpsSerial(TInfo? old, TInfo? now) => bumpsSerial(old, now);

    public void Touch(ChangeBuilder change, TInfo item) => touch(change, item);
}

/// <summary>The kinds of record a <see cref="ClusterState"/> holds.</summary>
internal static class ClusterKinds
{
    public static readonly KindOps<ServiceInfo> Services = new("services",
        static item => (item.Namespace, item.Name),
        static (s, key) => s.GetService(key.Ns, key.Name),
        static (s, item) => s.WithService(item),
        static (s, key) => s.WithoutService(key.Ns, key.Name),
        static s => s.Services,
        static (old, now) => SerialRules.ServiceChanged(old, now),
        static (change, item) => change.Services.Add((item.Namespace, item.Name)));

    public static readonly KindOps<EndpointSliceInfo> Slices = new("endpointslices",
        static item => (item.Namespace, item.Name),
        static (s, key) => s.GetSlice(key.Ns, key.Name),
        static (s, item) => s.WithSlice(item),
        static (s, key) => s.WithoutSlice(key.Ns, key.Name),
        static s => s.Slices,
        static (old, now) => SerialRules.SliceChanged(old, now),
        static (change, item) => change.Services.Add((item.Namespace, item.ServiceName)));

    public static readonly KindOps<PodInfo> Pods = new("pods",
        static item => (item.Namespace, item.Name),
        static (s, key) => s.GetPod(key.Ns, key.Name),
        static (s, item) => s.WithPod(item),
        static (s, key) => s.WithoutPod(key.Ns, key.Name),
        static s => s.Pods,
        static (old, now) => SerialRules.PodChanged(old, now),
        static (change, item) =>
        {
            change.PodsChanged = true;
            if (item.PodIP.Length > 0)
            {
                change.PodIps.Add(item.PodIP);
            }
        });

    public static readonly KindOps<ServiceImportInfo> ServiceImports = new("serviceimports",
        static item => (item.Namespace, item.Name),
        static (s, key) => s.GetServiceImport(key.Ns, key.Name),
        static (s, item) => s.WithServiceImport(item),
        static (s, key) => s.WithoutServiceImport(key.Ns, key.Name),
        static s => s.ServiceImports,
        static (old, now) => SerialRules.ImportChanged(old, now),
        static (change, _) => change.MulticlusterChanged = true);

    /// <summary>EndpointSlices labelled multicluster.kubernetes.io/service-name (their own watch, as CoreDNS's informer).</summary>
    public static readonly KindOps<McsSliceInfo> McsSlices = new("endpointslices (multicluster)",
        static item => (item.Slice.Namespace, item.Slice.Name),
        static (s, key) => s.GetMcsSlice(key.Ns, key.Name),
        static (s, item) => s.WithMcsSlice(item),
        static (s, key) => s.WithoutMcsSlice(key.Ns, key.Name),
        static s => s.McsSlices,
        static (old, now) => SerialRules.ImportChanged(old, now),
        static (change, _) => change.MulticlusterChanged = true);

    /// <summary>Namespaces are plain names; the key's namespace part is empty, and namespace events never move the
    /// serial (docs/kubernetes-dns.md §8.4).</summary>
    public static readonly KindOps<string> Namespaces = new("namespaces",
        static item => ("", item),
        static (s, key) => s.NamespaceExists(key.Name) ? key.Name : null,
        static (s, item) => s.WithNamespace(item),
        static (s, key) => s.WithoutNamespace(key.Name),
        static s => s.Namespaces.Keys,
        static (_, _) => false,
        static (change, _) => change.NamespacesChanged = true);
}
