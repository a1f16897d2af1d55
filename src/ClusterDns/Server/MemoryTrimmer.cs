using System.Runtime;

namespace ClusterDns.Server;

/// <summary>
/// Gives memory back after a burst. A flood whose queries wait on a slow or dead upstream puts thousands of requests
/// in flight, each with its buffers (a few KiB, more for the ones that grew); when it ends they are garbage, but a server at rest allocates
/// nothing (the query path is allocation-free), so no full collection would ever run and the process would keep its
/// peak RSS for good. Every <see cref="Period"/> this looks at the request pools and the managed allocation: while
/// the pools churn or the process allocates more than <see cref="BurstAllocationBytes"/> a period, a burst is under way; at the first quiet period after one it trims the pools to <see cref="IdleRequests"/> each and runs one
/// compacting, decommitting (aggressive) full collection — a few milliseconds on a server at rest, never during load.
/// </summary>
internal static class MemoryTrimmer
{
    /// <summary>How often the pools are looked at.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    /// <summary>Idle requests a pool keeps after a burst: the usual answers in flight at a steady rate. Each one a burst
    /// used has its buffers paged in, so every one kept costs resident memory.</summary>
    public const int IdleRequests = 16;

    /// <summary>Managed allocation in one period that counts as a burst even when the pools did not churn (a flood of
    /// forwarded or cached names allocates; the cluster query path does not).</summary>
    public const long BurstAllocationBytes = 32L << 20;

    private static readonly Lock Gate = new();
    private static readonly List<WeakReference<RequestPool>> Pools = [];
    private static Timer? _timer;
    private static long _lastChurn;
    private static long _lastAllocated;
    private static bool _burst;

    /// <summary>Trims done so far (for tests and diagnostics).</summary>
    public static int Trims { get; private set; }

    public static void Register(RequestPool pool)
    {
        lock (Gate)
        {
            Pools.Add(new WeakReference<RequestPool>(pool));
            _timer ??= new Timer(static _ => Tick(), null, Period, Period);
        }
    }

    private static void Tick()
    {
        lock (Gate)
        {
            long churn = 0;
            for (var i = Pools.Count - 1; i >= 0; i--)
            {
                if (Pools[i].TryGetTarget(out var pool))
                {
                    churn += pool.Churn;
                }
                else
                {
                    Pools.RemoveAt(i);
                }
            }
            var allocated = GC.GetTotalAllocatedBytes(precise: false);
            var allocating = allocated - _lastAllocated > BurstAllocationBytes;
            _lastAllocated = allocated;
            if (churn != _lastChurn || allocating)
            {
                _lastChurn = churn; // a burst is under way (or start-up filled the pools): wait for it to end
                _burst = true;
                return;
            }
            if (!_burst)
            {
                return;
            }
            _burst = false;
            foreach (var reference in Pools)
            {
                if (reference.TryGetTarget(out var pool))
                {
                    pool.Trim(IdleRequests);
                }
            }
        }
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Trims++;
    }
}
