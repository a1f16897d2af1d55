using System.Collections.Concurrent;
using System.Net.Sockets;

namespace ClusterDns.Server;

/// <summary>
/// Idle <see cref="DnsRequest"/>s of one listener, for reuse (each holds a query and a pinned reply buffer, sized for what it carried so far). Bounded: a flood
/// whose queries wait on a slow upstream puts thousands of requests in flight at once; when they finish, all but
/// <see cref="Capacity"/> are left to the GC instead of being kept for ever; once the burst is over,
/// <see cref="MemoryTrimmer"/> trims the idle ones further and has the GC give the memory back.
/// </summary>
internal sealed class RequestPool
{
    /// <summary>Enough for the receive batches of every UDP socket plus the answers usually in flight.</summary>
    public const int DefaultCapacity = 512;

    private readonly ConcurrentQueue<DnsRequest> _idle = new();
    private readonly AddressFamily _family;
    private int _count;
    private long _churn;

    public RequestPool(AddressFamily family, int capacity = DefaultCapacity)
    {
        _family = family;
        Capacity = capacity;
        MemoryTrimmer.Register(this);
    }

    public int Capacity { get; }

    /// <summary>Requests made because none was idle plus requests dropped because the pool was full: it moves only
    /// while more requests are in flight than the pool holds, i.e. during a burst.</summary>
    public long Churn => Volatile.Read(ref _churn);

    /// <summary>Requests waiting for reuse.</summary>
    public int Count => Volatile.Read(ref _count);

    public DnsRequest Rent()
    {
        if (_idle.TryDequeue(out var request))
        {
            Interlocked.Decrement(ref _count);
            return request;
        }
        Interlocked.Increment(ref _churn);
        return new DnsRequest(_family);
    }

    public void Return(DnsRequest request)
    {
        if (Interlocked.Increment(ref _count) > Capacity)
        {
            Interlocked.Decrement(ref _count); // full: this one goes to the GC
            Interlocked.Increment(ref _churn);
            return;
        }
        _idle.Enqueue(request);
    }

    /// <summary>Lets idle requests beyond <paramref name="keep"/> go to the GC.</summary>
    public void Trim(int keep)
    {
        while (Volatile.Read(ref _count) > keep && _idle.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
