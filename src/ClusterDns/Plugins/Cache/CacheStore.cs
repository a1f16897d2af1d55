using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Cache;

/// <summary>
/// One cached reply: its wire bytes without OPT (question and records exactly as received) plus the offsets of
/// every TTL field, so a hit is a copy and a few patches. Immutable once stored except the prefetch bookkeeping.
/// The question name in <see cref="Wire"/> is stored lower-cased (the key match compares it; a hit writes the client's
/// own spelling over it).
/// </summary>
internal sealed class CacheEntry
{
    public CacheEntry(byte[] wire, ushort[] ttlOffsets, int nameLength, DnsType type, DnsClass @class, bool dnssecOk, bool checkingDisabled,
        int rcode, bool authenticData, bool recursionAvailable, uint originalTtl, long storedTicks)
    {
        Wire = wire;
        TtlOffsets = ttlOffsets;
        NameLength = nameLength;
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

    /// <summary>The store's key (set once when stored).</summary>
    public ulong Key { get; set; }

    /// <summary>Length of the question name, which <see cref="Wire"/> holds lower-cased after the header (a hit writes
    /// the client's spelling over it): guards against hash collisions, as item.matches does.</summary>
    public int NameLength { get; }

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

    private Lock? _freqGate; // only with prefetch: created on first use
    private long _lastHitTicks;
    private int _hits;
    private int _refreshing;

    private Lock FreqGate => Volatile.Read(ref _freqGate) ?? Interlocked.CompareExchange(ref _freqGate, new Lock(), null) ?? _freqGate!;

    /// <summary>Remaining TTL in whole seconds (negative once expired), truncated like Go's int(d.Seconds()).</summary>
    public long Ttl(long nowTicks) => OriginalTtl - (nowTicks - StoredTicks) / TimeSpan.TicksPerSecond;

    public bool Matches(ReadOnlySpan<byte> lowerName, DnsType type, DnsClass @class, bool dnssecOk, bool checkingDisabled) =>
        Type == type && Class == @class && DnssecOk == dnssecOk && CheckingDisabled == checkingDisabled
        && lowerName.Length == NameLength && lowerName.SequenceEqual(Wire.AsSpan(DnsHeader.Size, NameLength));

    /// <summary>freq.Update: a gap of at least <paramref name="window"/> restarts the count. Returns the hits.</summary>
    public int UpdateFrequency(long window, long nowTicks)
    {
        lock (FreqGate)
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
            lock (FreqGate)
            {
                return _hits;
            }
        }
    }

    /// <summary>freq.Reset: a refreshed entry inherits the popularity of the one it replaced.</summary>
    public void ResetFrequency(long nowTicks, int hits)
    {
        lock (FreqGate)
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
/// Reads take no lock: the index is one flat open-addressing table of (key, entry) slots (linear probing, deleted
/// slots marked, rebuilt when marks pile up) whose entries are immutable, so a hit is the slot, the entry and its
/// reply bytes. Writers (misses, refreshes: rare next to hits) serialize on one lock and keep the per-shard
/// bookkeeping that decides evictions.
/// </summary>
internal sealed class CacheStore
{
    public const int ShardCount = 256;

    private static readonly CacheEntry Deleted = new([], [], 0, default, default, false, false, 0, false, false, 0, 0);

    private readonly Lock _write = new();
    private readonly ulong[][] _shardKeys = new ulong[ShardCount][];
    private readonly int[] _shardCounts = new int[ShardCount];
    private Slot[] _slots;
    private readonly int _shift;
    private int _used; // live + deleted slots
    private int _count;

    public CacheStore(int capacity)
    {
        ShardSize = Math.Max(capacity / ShardCount, 4);
        for (var i = 0; i < ShardCount; i++)
        {
            _shardKeys[i] = new ulong[ShardSize];
        }
        // At most 1/2 live (1/4 headroom for deleted marks before a rebuild): short probes, one or two cache lines.
        var bits = 4;
        while ((1 << bits) < Capacity * 2)
        {
            bits++;
        }
        _slots = new Slot[1 << bits];
        _shift = 64 - bits;
    }

    public int ShardSize { get; }

    public int Capacity => ShardSize * ShardCount;

    public int Count => Volatile.Read(ref _count);

    private struct Slot
    {
        public ulong Key;
        public CacheEntry? Entry;
    }

    private int Home(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The entry stored under <paramref name="key"/>, or null. Lock-free.</summary>
    public CacheEntry? Get(ulong key)
    {
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        var i = Home(key) & mask;
        while (true)
        {
            ref var slot = ref slots[i];
            var entry = Volatile.Read(ref slot.Entry);
            if (entry is null)
            {
                return null;
            }
            // A writer stores the key before the entry: a matching entry is authoritative (a torn slot read is checked).
            if (slot.Key == key && entry.Key == key && !ReferenceEquals(entry, Deleted))
            {
                return entry;
            }
            i = (i + 1) & mask;
        }
    }

    /// <summary>Stores or replaces; true when another entry had to be evicted.</summary>
    public bool Add(ulong key, CacheEntry entry)
    {
        entry.Key = key;
        lock (_write)
        {
            if (Find(_slots, key) is var existing and >= 0)
            {
                Volatile.Write(ref _slots[existing].Entry, entry);
                return false;
            }
            var shard = (int)(key & (ShardCount - 1));
            var keys = _shardKeys[shard];
            var evicted = false;
            if (_shardCounts[shard] >= keys.Length)
            {
                // Random victim, as CoreDNS's first-key-of-a-Go-map-iteration: not LRU, not TTL ordered.
                var victim = Random.Shared.Next(keys.Length);
                Delete(keys[victim]);
                keys[victim] = key;
                evicted = true;
            }
            else
            {
                keys[_shardCounts[shard]++] = key;
                Volatile.Write(ref _count, _count + 1);
            }
            Insert(key, entry);
            return evicted;
        }
    }

    public void Remove(ulong key)
    {
        lock (_write)
        {
            if (Find(_slots, key) < 0)
            {
                return;
            }
            Delete(key);
            var shard = (int)(key & (ShardCount - 1));
            var keys = _shardKeys[shard];
            var last = _shardCounts[shard] - 1;
            var index = Array.IndexOf(keys, key, 0, last + 1);
            keys[index] = keys[last];
            _shardCounts[shard] = last;
            Volatile.Write(ref _count, _count - 1);
        }
    }

    private int Find(Slot[] slots, ulong key)
    {
        var mask = slots.Length - 1;
        for (var i = Home(key) & mask; ; i = (i + 1) & mask)
        {
            var entry = slots[i].Entry;
            if (entry is null)
            {
                return -1;
            }
            if (slots[i].Key == key && !ReferenceEquals(entry, Deleted))
            {
                return i;
            }
        }
    }

    /// <summary>Marks the slot of <paramref name="key"/> deleted (under the write lock; the key is present).</summary>
    private void Delete(ulong key) => Volatile.Write(ref _slots[Find(_slots, key)].Entry, Deleted);

    /// <summary>Puts a new key in the first free or deleted slot of its run (under the write lock).</summary>
    private void Insert(ulong key, CacheEntry entry)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var i = Home(key) & mask;
        while (slots[i].Entry is { } occupant && !ReferenceEquals(occupant, Deleted))
        {
            i = (i + 1) & mask;
        }
        if (slots[i].Entry is null)
        {
            if (++_used > slots.Length / 4 * 3)
            {
                Rebuild(key, entry);
                return;
            }
        }
        slots[i].Key = key;
        Volatile.Write(ref slots[i].Entry, entry);
    }

    /// <summary>Copies the live entries (and the new one) into a fresh table and publishes it: readers of the old
    /// table still see a consistent (immutable) set of entries.</summary>
    private void Rebuild(ulong key, CacheEntry entry)
    {
        var old = _slots;
        var slots = new Slot[old.Length];
        var mask = slots.Length - 1;
        var used = 0;
        void Put(ulong k, CacheEntry e)
        {
            var i = Home(k) & mask;
            while (slots[i].Entry is not null)
            {
                i = (i + 1) & mask;
            }
            slots[i].Key = k;
            slots[i].Entry = e;
            used++;
        }
        foreach (var slot in old)
        {
            if (slot.Entry is { } live && !ReferenceEquals(live, Deleted))
            {
                Put(slot.Key, live);
            }
        }
        Put(key, entry);
        _used = used;
        Volatile.Write(ref _slots, slots);
    }
}
