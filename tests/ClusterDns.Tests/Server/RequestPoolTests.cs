using System.Net.Sockets;
using ClusterDns.Server;

namespace ClusterDns.Tests.Server;

/// <summary>The listeners' request pool reuses requests but keeps no more than its capacity after a burst.</summary>
public sealed class RequestPoolTests
{
    [Fact]
    public void A_burst_of_requests_in_flight_leaves_at_most_the_capacity_pooled()
    {
        var pool = new RequestPool(AddressFamily.InterNetworkV6, capacity: 8);
        var inFlight = new List<DnsRequest>();
        for (var i = 0; i < 100; i++)
        {
            inFlight.Add(pool.Rent());
        }
        foreach (var request in inFlight)
        {
            pool.Return(request);
        }
        Assert.Equal(8, pool.Count);
        var reused = pool.Rent();
        Assert.Contains(reused, inFlight); // taken from the pool, not new
        Assert.Equal(7, pool.Count);
    }

    [Fact]
    public void Concurrent_rent_and_return_never_exceed_the_capacity()
    {
        var pool = new RequestPool(AddressFamily.InterNetwork, capacity: 16);
        Parallel.For(0, 4, _ =>
        {
            var held = new List<DnsRequest>();
            for (var round = 0; round < 200; round++)
            {
                for (var i = 0; i < 10; i++)
                {
                    held.Add(pool.Rent());
                }
                foreach (var request in held)
                {
                    pool.Return(request);
                }
                held.Clear();
                Assert.InRange(pool.Count, 0, 16);
            }
        });
        Assert.InRange(pool.Count, 1, 16);
    }
}
