using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

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
            s = ReplaceCore(ClusterKinds.Namespaces, s, c, [.. loaded.Namespaces.Keys]);
            s = ReplaceCore(ClusterKinds.Services, s, c, [.. loaded.Services]);
            s = ReplaceCore(ClusterKinds.Slices, s, c, [.. loaded.Slices]);
            s = ReplaceCore(ClusterKinds.ServiceImports, s, c, [.. loaded.ServiceImports]);
            s = ReplaceCore(ClusterKinds.McsSlices, s, c, [.. loaded.McsSlices]);
            return ReplaceCore(ClusterKinds.Pods, s, c, [.. loaded.Pods]);
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
