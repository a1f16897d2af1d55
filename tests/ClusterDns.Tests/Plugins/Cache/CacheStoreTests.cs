using ClusterDns.Plugins.Cache;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.Plugins.Cache;

/// <summary>The store behind the cache: CoreDNS's per-shard capacity and random eviction, with lock-free reads.</summary>
public sealed class CacheStoreTests
{
    private static CacheEntry Entry(int tag) =>
        new([(byte)tag], [], 0, DnsType.A, DnsClass.IN, false, false, 0, false, false, 30, tag);

    /// <summary>Keys that all land in shard 0 (the low 8 bits select the shard).</summary>
    private static ulong ShardZeroKey(int i) => (ulong)(i + 1) << 8;

    [Fact]
    public void Stores_replaces_and_removes()
    {
        var store = new CacheStore(10_000);
        Assert.Null(store.Get(42));
        Assert.False(store.Add(42, Entry(1)));
        Assert.Equal(1, store.Get(42)!.StoredTicks);
        Assert.False(store.Add(42, Entry(2)));
        Assert.Equal(2, store.Get(42)!.StoredTicks);
        Assert.Equal(1, store.Count);
        store.Remove(42);
        Assert.Null(store.Get(42));
        Assert.Equal(0, store.Count);
        store.Remove(42); // absent: no-op
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void A_full_shard_evicts_one_of_its_own_entries()
    {
        var store = new CacheStore(100); // 4 per shard
        for (var i = 0; i < 4; i++)
        {
            Assert.False(store.Add(ShardZeroKey(i), Entry(i)));
        }
        Assert.False(store.Add(7, Entry(99))); // another shard: room of its own
        Assert.True(store.Add(ShardZeroKey(4), Entry(4)));
        Assert.Equal(5, store.Count);
        var left = 0;
        for (var i = 0; i < 5; i++)
        {
            left += store.Get(ShardZeroKey(i)) is null ? 0 : 1;
        }
        Assert.Equal(4, left);
        Assert.NotNull(store.Get(ShardZeroKey(4)));
        Assert.NotNull(store.Get(7));
    }

    [Fact]
    public void Churn_far_beyond_the_table_keeps_every_live_key_findable()
    {
        // Random evictions leave deleted marks behind; the table is rebuilt when they pile up.
        var store = new CacheStore(1024);
        var random = new Random(7);
        for (var i = 0; i < 200_000; i++)
        {
            var key = (ulong)random.NextInt64();
            store.Add(key, Entry(i));
            Assert.Equal(i, store.Get(key)!.StoredTicks);
            if (i % 5 == 0)
            {
                store.Remove(key);
                Assert.Null(store.Get(key));
            }
        }
        Assert.InRange(store.Count, 1, store.Capacity);
    }

    [Fact]
    public async Task Readers_never_see_a_wrong_entry_while_writers_churn()
    {
        var store = new CacheStore(4096);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var wrong = 0;
        var writer = Task.Run(() =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                var key = (ulong)random.Next(20_000);
                store.Add(key, Entry((int)key));
            }
        });
        var reader = Task.Run(() =>
        {
            var random = new Random(2);
            while (!stop.IsCancellationRequested)
            {
                var key = (ulong)random.Next(20_000);
                if (store.Get(key) is { } entry && entry.StoredTicks != (long)key)
                {
                    Interlocked.Increment(ref wrong);
                }
            }
        });
        await Task.WhenAll(writer, reader);
        Assert.Equal(0, wrong);
    }
}
