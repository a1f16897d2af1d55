using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>How the store reads and writes one kind of slim record inside a <see cref="ClusterState"/>.</summary>
internal abstract class KindOps<TInfo> where TInfo : class
{
    public abstract string Resource { get; }
    public abstract (string Ns, string Name) Key(TInfo item);
    public abstract TInfo? Get(ClusterState s, (string Ns, string Name) key);
    public abstract ClusterState With(ClusterState s, TInfo item);
    public abstract ClusterState Without(ClusterState s, (string Ns, string Name) key);
    public abstract IEnumerable<TInfo> All(ClusterState s);
    public abstract bool Equal(TInfo a, TInfo b);
    /// <summary>docs/kubernetes-dns.md §8.4: does replacing <paramref name="old"/> by <paramref name="now"/> (either may be null) move the serial?</summary>
    public abstract bool BumpsSerial(TInfo? old, TInfo? now);
    public abstract void Touch(ChangeBuilder change, TInfo item);
}

internal sealed class ServiceOps : KindOps<ServiceInfo>
{
    public static readonly ServiceOps Instance = new();
    public override string Resource => "services";
    public override (string Ns, string Name) Key(ServiceInfo item) => (item.Namespace, item.Name);
    public override ServiceInfo? Get(ClusterState s, (string Ns, string Name) key) => s.GetService(key.Ns, key.Name);
    public override ClusterState With(ClusterState s, ServiceInfo item) => s.WithService(item);
    public override ClusterState Without(ClusterState s, (string Ns, string Name) key) => s.WithoutService(key.Ns, key.Name);
    public override IEnumerable<ServiceInfo> All(ClusterState s) => s.Services;
    public override bool Equal(ServiceInfo a, ServiceInfo b) => a.Equals(b);
    public override bool BumpsSerial(ServiceInfo? old, ServiceInfo? now) => SerialRules.ServiceChanged(old, now);
    public override void Touch(ChangeBuilder change, ServiceInfo item) => change.Services.Add((item.Namespace, item.Name));
}

internal sealed class SliceOps : KindOps<EndpointSliceInfo>
{
    public static readonly SliceOps Instance = new();
    public override string Resource => "endpointslices";
    public override (string Ns, string Name) Key(EndpointSliceInfo item) => (item.Namespace, item.Name);
    public override EndpointSliceInfo? Get(ClusterState s, (string Ns, string Name) key) => s.GetSlice(key.Ns, key.Name);
    public override ClusterState With(ClusterState s, EndpointSliceInfo item) => s.WithSlice(item);
    public override ClusterState Without(ClusterState s, (string Ns, string Name) key) => s.WithoutSlice(key.Ns, key.Name);
    public override IEnumerable<EndpointSliceInfo> All(ClusterState s) => s.Slices;
    public override bool Equal(EndpointSliceInfo a, EndpointSliceInfo b) => a.Equals(b);
    public override bool BumpsSerial(EndpointSliceInfo? old, EndpointSliceInfo? now) => SerialRules.SliceChanged(old, now);
    public override void Touch(ChangeBuilder change, EndpointSliceInfo item) => change.Services.Add((item.Namespace, item.ServiceName));
}

internal sealed class PodOps : KindOps<PodInfo>
{
    public static readonly PodOps Instance = new();
    public override string Resource => "pods";
    public override (string Ns, string Name) Key(PodInfo item) => (item.Namespace, item.Name);
    public override PodInfo? Get(ClusterState s, (string Ns, string Name) key) => s.GetPod(key.Ns, key.Name);
    public override ClusterState With(ClusterState s, PodInfo item) => s.WithPod(item);
    public override ClusterState Without(ClusterState s, (string Ns, string Name) key) => s.WithoutPod(key.Ns, key.Name);
    public override IEnumerable<PodInfo> All(ClusterState s) => s.Pods;
    public override bool Equal(PodInfo a, PodInfo b) => a.Equals(b);
    public override bool BumpsSerial(PodInfo? old, PodInfo? now) => SerialRules.PodChanged(old, now);
    public override void Touch(ChangeBuilder change, PodInfo item)
    {
        change.PodsChanged = true;
        if (item.PodIP.Length > 0)
        {
            change.PodIps.Add(item.PodIP);
        }
    }
}

internal sealed class ServiceImportOps : KindOps<ServiceImportInfo>
{
    public static readonly ServiceImportOps Instance = new();
    public override string Resource => "serviceimports";
    public override (string Ns, string Name) Key(ServiceImportInfo item) => (item.Namespace, item.Name);
    public override ServiceImportInfo? Get(ClusterState s, (string Ns, string Name) key) => s.GetServiceImport(key.Ns, key.Name);
    public override ClusterState With(ClusterState s, ServiceImportInfo item) => s.WithServiceImport(item);
    public override ClusterState Without(ClusterState s, (string Ns, string Name) key) => s.WithoutServiceImport(key.Ns, key.Name);
    public override IEnumerable<ServiceImportInfo> All(ClusterState s) => s.ServiceImports;
    public override bool Equal(ServiceImportInfo a, ServiceImportInfo b) => a.Equals(b);
    public override bool BumpsSerial(ServiceImportInfo? old, ServiceImportInfo? now) => SerialRules.ImportChanged(old, now);
    public override void Touch(ChangeBuilder change, ServiceImportInfo item) => change.MulticlusterChanged = true;
}

/// <summary>EndpointSlices labelled multicluster.kubernetes.io/service-name (their own watch, as CoreDNS's informer).</summary>
internal sealed class McsSliceOps : KindOps<McsSliceInfo>
{
    public static readonly McsSliceOps Instance = new();
    public override string Resource => "endpointslices (multicluster)";
    public override (string Ns, string Name) Key(McsSliceInfo item) => (item.Slice.Namespace, item.Slice.Name);
    public override McsSliceInfo? Get(ClusterState s, (string Ns, string Name) key) => s.GetMcsSlice(key.Ns, key.Name);
    public override ClusterState With(ClusterState s, McsSliceInfo item) => s.WithMcsSlice(item);
    public override ClusterState Without(ClusterState s, (string Ns, string Name) key) => s.WithoutMcsSlice(key.Ns, key.Name);
    public override IEnumerable<McsSliceInfo> All(ClusterState s) => s.McsSlices;
    public override bool Equal(McsSliceInfo a, McsSliceInfo b) => a.Equals(b);
    public override bool BumpsSerial(McsSliceInfo? old, McsSliceInfo? now) => SerialRules.ImportChanged(old, now);
    public override void Touch(ChangeBuilder change, McsSliceInfo item) => change.MulticlusterChanged = true;
}

/// <summary>Namespaces are plain names; the key's namespace part is empty.</summary>
internal sealed class NamespaceOps : KindOps<string>
{
    public static readonly NamespaceOps Instance = new();
    public override string Resource => "namespaces";
    public override (string Ns, string Name) Key(string item) => ("", item);
    public override string? Get(ClusterState s, (string Ns, string Name) key) => s.NamespaceExists(key.Name) ? key.Name : null;
    public override ClusterState With(ClusterState s, string item) => s.WithNamespace(item);
    public override ClusterState Without(ClusterState s, (string Ns, string Name) key) => s.WithoutNamespace(key.Name);
    public override IEnumerable<string> All(ClusterState s) => s.Namespaces.Keys;
    public override bool Equal(string a, string b) => a == b;
    public override bool BumpsSerial(string? old, string? now) => false;   // docs/kubernetes-dns.md §8.4: namespace events never bump
    public override void Touch(ChangeBuilder change, string item) => change.NamespacesChanged = true;
}

internal sealed class ChangeBuilder(bool relisted)
{
    public HashSet<(string Namespace, string Service)> Services { get; } = [];
    public bool NamespacesChanged { get; set; }
    public bool PodsChanged { get; set; }
    public HashSet<string> PodIps { get; } = new(StringComparer.Ordinal);
    public bool BumpSerial { get; set; }
    public bool MulticlusterChanged { get; set; }
    public bool Any => Services.Count > 0 || NamespacesChanged || PodsChanged || MulticlusterChanged;
    public ClusterChange Build() => new(Services, NamespacesChanged, PodsChanged, relisted) { PodIps = PodIps, MulticlusterChanged = MulticlusterChanged };
}

/// <summary>
/// The single writer side of a cluster source: applies events and relists to the current snapshot under a lock
/// and publishes each result with one reference swap, so readers never lock.
/// </summary>
internal sealed class ClusterStore(TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private ClusterState _current = ClusterState.Empty;

    public ClusterState Current => Volatile.Read(ref _current);

    public event Action<ClusterChange>? Changed;

    public void Upsert<T>(KindOps<T> ops, T item) where T : class =>
        // DnsProgrammingLatency: the coredns_kubernetes_dns_programming_duration_seconds hook (watched slice changes).
        Mutate(false, (s, c) => DnsProgrammingLatency.Observe(s, UpsertCore(ops, s, c, item), item, time));

    public void Delete<T>(KindOps<T> ops, T item) where T : class =>
        Mutate(false, (s, c) => DeleteCore(ops, s, c, ops.Key(item)));

    /// <summary>Relist: the listed items become the whole set of this kind; anything missing is deleted.</summary>
    public void Replace<T>(KindOps<T> ops, IReadOnlyList<T> items) where T : class =>
        Mutate(true, (s, c) => ReplaceCore(ops, s, c, items));

    /// <summary>Replaces every kind at once (snapshot files).</summary>
    public void ReplaceAll(ClusterState loaded) =>
        Mutate(true, (s, c) =>
        {
            s = ReplaceCore(NamespaceOps.Instance, s, c, [.. loaded.Namespaces.Keys]);
            s = ReplaceCore(ServiceOps.Instance, s, c, [.. loaded.Services]);
            s = ReplaceCore(SliceOps.Instance, s, c, [.. loaded.Slices]);
            s = ReplaceCore(ServiceImportOps.Instance, s, c, [.. loaded.ServiceImports]);
            s = ReplaceCore(McsSliceOps.Instance, s, c, [.. loaded.McsSlices]);
            return ReplaceCore(PodOps.Instance, s, c, [.. loaded.Pods]);
        });

    private void Mutate(bool relisted, Func<ClusterState, ChangeBuilder, ClusterState> op)
    {
        lock (_gate)
        {
            var change = new ChangeBuilder(relisted);
            var next = op(_current, change);
            if (!change.Any)
            {
                return;
            }
            if (change.BumpSerial)
            {
                next = next.WithSerial(time.GetUtcNow().ToUnixTimeSeconds());
            }
            Volatile.Write(ref _current, next);
            // Raised under the lock so subscribers see changes in publication order; handlers must be quick.
            try
            {
                Changed?.Invoke(change.Build());
            }
            catch (Exception ex)
            {
                logger.ChangedHandlerFailed(ex);
            }
        }
    }

    private static ClusterState UpsertCore<T>(KindOps<T> ops, ClusterState s, ChangeBuilder change, T item) where T : class
    {
        var old = ops.Get(s, ops.Key(item));
        if (old is not null && ops.Equal(old, item))
        {
            return s;
        }
        if (ops.BumpsSerial(old, item))
        {
            change.BumpSerial = true;
        }
        if (old is not null)
        {
            ops.Touch(change, old);
        }
        ops.Touch(change, item);
        return ops.With(s, item);
    }

    private static ClusterState DeleteCore<T>(KindOps<T> ops, ClusterState s, ChangeBuilder change, (string, string) key) where T : class
    {
        var old = ops.Get(s, key);
        if (old is null)
        {
            return s;
        }
        if (ops.BumpsSerial(old, null))
        {
            change.BumpSerial = true;
        }
        ops.Touch(change, old);
        return ops.Without(s, key);
    }

    private static ClusterState ReplaceCore<T>(KindOps<T> ops, ClusterState s, ChangeBuilder change, IReadOnlyList<T> items) where T : class
    {
        var keep = new HashSet<(string, string)>(items.Count);
        foreach (var item in items)
        {
            keep.Add(ops.Key(item));
            s = UpsertCore(ops, s, change, item);
        }

        List<(string, string)>? gone = null;
        foreach (var existing in ops.All(s))
        {
            var key = ops.Key(existing);
            if (!keep.Contains(key))
            {
                (gone ??= []).Add(key);
            }
        }

        if (gone is not null)
        {
            foreach (var key in gone)
            {
                s = DeleteCore(ops, s, change, key);
            }
        }
        return s;
    }
}
