using System.Collections.Concurrent;
using System.Net.Sockets;

namespace ClusterDns.Server;

/// <summary>
/// Idle <see cref="DnsRequest"/>s of one listener, for reuse (each holds two pinned 64 KiB buffers). Bounded: a flood
/// whose queries wait on a slow upstream puts thousands of requests in flight at once; when they finish, all but
/// <see cref="Capacity"/> are left to the GC instead of being kept for ever, so memory returns near its idle figure.
/// </summary>
internal sealed class RequestPool(AddressFamily family, int capacity = RequestPool.DefaultCapacity)
{
    /// <summary>Enough for the receive batches of every UDP socket plus the answers usually in flight.</summary>
    public const int DefaultCapacity = 512;

    private readonly ConcurrentQueue<DnsRequest> _idle = new();
    private int _count;

    public int Capacity { get; } = capacity;

    /// <summary>Requests waiting for reuse.</summary>
    public int Count => Volatile.Read(ref _count);

    public DnsRequest Rent()
    {
        if (_idle.TryDequeue(out var request))
        {
            Interlocked.Decrement(ref _count);
            return request;
        }
        return new DnsRequest(family);
    }

    public void Return(DnsRequest request)
    {
        if (Interlocked.Increment(ref _count) > Capacity)
        {
            Interlocked.Decrement(ref _count); // full: this one goes to the GC
            return;
        }
        _idle.Enqueue(request);
    }
}
