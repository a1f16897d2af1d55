namespace ClusterDns.Kubernetes;

/// <summary>Where the DNS lookup gets its cluster data from.</summary>
public interface IClusterSource : IAsyncDisposable
{
    /// <summary>The latest snapshot; a plain volatile read, never locks.</summary>
    ClusterState Current { get; }

    /// <summary>All started informers finished their first list; never reverts (docs/kubernetes-dns.md §8.3).</summary>
    bool HasSynced { get; }

    /// <summary>Raised after <see cref="Current"/> was swapped, in publication order. Handlers must be quick.</summary>
    event Action<ClusterChange>? Changed;

    /// <summary>Starts background watching and returns without waiting for data.</summary>
    Task StartAsync(CancellationToken ct);

    /// <summary>True once synced, false when <paramref name="timeout"/> elapsed first.</summary>
    Task<bool> WaitForSyncAsync(TimeSpan timeout, CancellationToken ct);
}

/// <summary>Sync bookkeeping shared by the sources: counts down started informers, completes once.</summary>
internal sealed class SyncGate
{
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;

    public bool HasSynced => _synced.Task.IsCompleted;

    public void Expect(int count) => Interlocked.Add(ref _pending, count);

    /// <returns>True when this call completed the sync.</returns>
    public bool Signal() => Interlocked.Decrement(ref _pending) == 0 && _synced.TrySetResult();

    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        if (HasSynced)
        {
            return true;
        }
        try
        {
            await _synced.Task.WaitAsync(timeout, time, ct).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
