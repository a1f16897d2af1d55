using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Cache;

/// <summary>
/// One cached reply: its wire bytes without OPT (question and records exactly as received) plus the offsets of
/// every TTL field, so a hit is a copy and a few patches. Immutable once stored except the prefetch bookkeeping.
/// </summary>
internal sealed class CacheEntry
{
    public CacheEntry(byte[] wire, ushort[] ttlOffsets, byte[] name, DnsType type, DnsClass @class, bool dnssecOk, bool checkingDisabled,
        int rcode, bool authenticData, bool recursionAvailable, uint originalTtl, long storedTicks)
    {
        Wire = wire;
        TtlOffsets = ttlOffsets;
        Name = name;
        Type = type;
        Class = @class;
        DnssecOk = dnssecOk;
        CheckingDisabled = checkingDisabled;
        Rcode = rcode;
        AuthenticData = authenticData;
        RecursionAvailable = recursionAvailable;
        OriginalTtl = originalTtl;
        StoredTicks = storedTicks;
    }

    public byte[] Wire { get; }

    public ushort[] TtlOffsets { get; }

    /// <summary>Lower-cased question name (wire form): guards against hash collisions, as item.matches does.</summary>
    public byte[] Name { get; }

    public DnsType Type { get; }

    public DnsClass Class { get; }

    public bool DnssecOk { get; }

    public bool CheckingDisabled { get; }

    public int Rcode { get; }

    public bool AuthenticData { get; }

    public bool RecursionAvailable { get; }

    /// <summary>The stored duration in seconds (clamped minimal TTL).</summary>
    public uint OriginalTtl { get; }

    public long StoredTicks { get; }

    private readonly Lock _freqGate = new();
    private long _lastHitTicks;
    private int _hits;
    private int _refreshing;

    /// <summary>Remaining TTL in whole seconds (negative once expired), truncated like Go's int(d.Seconds()).</summary>
    public long Ttl(long nowTicks) => OriginalTtl - (nowTicks - StoredTicks) / TimeSpan.TicksPerSecond;

    public bool Matches(ReadOnlySpan<byte> lowerName, DnsType type, DnsClass @class, bool dnssecOk, bool checkingDisabled) =>
        Type == type && Class == @class && DnssecOk == dnssecOk && CheckingDisabled == checkingDisabled && lowerName.SequenceEqual(Name);

    /// <summary>freq.Update: a gap of at least <paramref name="window"/> restarts the count. Returns the hits.</summary>
    public int UpdateFrequency(long window, long nowTicks)
    {
        lock (_freqGate)
        {
            _hits = _lastHitTicks < nowTicks - window ? 1 : _hits + 1;
            _lastHitTicks = nowTicks;
            return _hits;
        }
    }

    public int Hits
    {
        get
        {
            lock (_freqGate)
            {
                return _hits;
            }
        }
    }

    /// <summary>freq.Reset: a refreshed entry inherits the popularity of the one it replaced.</summary>
    public void ResetFrequency(long nowTicks, int hits)
    {
        lock (_freqGate)
        {
            _lastHitTicks = nowTicks;
            _hits = hits;
        }
    }

    /// <summary>Claims the single background refresh slot of this entry.</summary>
    public bool TryBeginRefresh() => Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0;

    public void EndRefresh() => Volatile.Write(ref _refreshing, 0);
}

/// <summary>
/// CoreDNS's pkg/cache: 256 shards, each holding at most capacity/256 (at least 4) entries; adding a new key to a
/// full shard evicts a random entry of that shard. Memory stays bounded by the capacity; expired entries stay until
/// replaced or evicted (they may still be served stale).
/// </summary>
internal sealed class CacheStore
{
    public const int ShardCount = 256;

    private readonly Shard[] _shards = new Shard[ShardCount];

    public CacheStore(int capacity)
    {
        ShardSize = Math.Max(capacity / ShardCount, 4);
        for (var i = 0; i < ShardCount; i++)
        {
            _shards[i] = new Shard(ShardSize);
        }
    }

    public int ShardSize { get; }

    public int Capacity => ShardSize * ShardCount;

    public int Count
    {
        get
        {
            var count = 0;
            foreach (var shard in _shards)
            {
                count += Volatile.Read(ref shard.Count);
            }
            return count;
        }
    }

    public CacheEntry? Get(ulong key) => _shards[(int)(key & (ShardCount - 1))].Get(key);

    /// <summary>Stores or replaces; true when another entry had to be evicted.</summary>
    public bool Add(ulong key, CacheEntry entry) => _shards[(int)(key & (ShardCount - 1))].Add(key, entry);

    public void Remove(ulong key) => _shards[(int)(key & (ShardCount - 1))].Remove(key);

    private sealed class Shard
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<ulong, int> _index;
        private readonly ulong[] _keys;
        private readonly CacheEntry[] _entries;
        public int Count;

        public Shard(int size)
        {
            _index = new Dictionary<ulong, int>(size);
            _keys = new ulong[size];
            _entries = new CacheEntry[size];
        }

        public CacheEntry? Get(ulong key)
        {
            lock (_gate)
            {
                return _index.TryGetValue(key, out var slot) ? _entries[slot] : null;
            }
        }

        public bool Add(ulong key, CacheEntry entry)
        {
            lock (_gate)
            {
                if (_index.TryGetValue(key, out var slot))
                {
                    _entries[slot] = entry;
                    return false;
                }
                var evicted = false;
                if (Count >= _keys.Length)
                {
                    // Random victim, as CoreDNS's first-key-of-a-Go-map-iteration: not LRU, not TTL ordered.
                    slot = Random.Shared.Next(Count);
                    _index.Remove(_keys[slot]);
                    evicted = true;
                }
                else
                {
                    slot = Count;
                    Volatile.Write(ref Count, Count + 1);
                }
                _keys[slot] = key;
                _entries[slot] = entry;
                _index[key] = slot;
                return evicted;
            }
        }

        public void Remove(ulong key)
        {
            lock (_gate)
            {
                if (!_index.Remove(key, out var slot))
                {
                    return;
                }
                var last = Count - 1;
                if (slot != last)
                {
                    _keys[slot] = _keys[last];
                    _entries[slot] = _entries[last];
                    _index[_keys[slot]] = slot;
                }
                _entries[last] = null!;
                Volatile.Write(ref Count, last);
            }
        }
    }
}
