using System.Buffers.Binary;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Precompiled replies of one index lineage: the first query for a (name as written, type) resolves and encodes
/// normally and stores the encoded reply without id, the query-echoed header bits (opcode, RD, CD) or OPT; later
/// identical questions copy those bytes and patch their own id and echoed bits in (Knot/NSD style), so a reply never
/// carries the first asker's opcode or flags. The key keeps the client's case, because owner names, SRV targets and
/// SOA names echo it.
/// The cache outlives cluster changes: each reply carries the <see cref="CacheToken"/>s it was computed from (the
/// service or PTR entry, and the index generation for anything carrying an SOA or global data) and is served only
/// while all are current — a few volatile reads, no lookups. A change supersedes exactly the entries it replaced,
/// so unrelated services stay hot in a churning cluster and nothing stale is ever served.
/// Bounded: when full it is cleared (a random-name flood cannot grow it). The bound scales with the cluster
/// (<see cref="CapacityFor"/>): a fixed small bound thrashes once the distinct questions of a big cluster exceed it.
/// Layout (memory is per distinct question, ~64k of them at 50,000 services): an open-addressing table of
/// <see cref="Entry"/> references; the key is not stored separately but compared against the question section of the
/// stored reply, which echoes it byte for byte. Readers take no lock (slot writes and table swaps are atomic
/// reference writes); writers (misses) serialise on one lock. Growth moves the same entries into a bigger slot array,
/// so filling the cache leaves no per-entry garbage behind.
/// </summary>
internal sealed class AnswerCache
{
    public const int MinCapacity = 32_768;
    public const int MaxCapacity = 1 << 20;
    private const int QuestionOffset = 12;
    private const int InitialSlots = 1 << 10;

    private readonly Lock _writeGate = new();
    private Entry?[] _slots = new Entry?[InitialSlots];
    private int _count;

    /// <summary>Distinct questions held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Writes the cached reply for this question, if there is a current one that fits the client's limit.</summary>
    public bool TryServe(DnsRequest request, string plugin)
    {
        Span<byte> key = stackalloc byte[DnsName.MaxWireLength + 4];
        var keyLength = WriteKey(request, key);
        if (Find(Volatile.Read(ref _slots), key[..keyLength], Hash(key[..keyLength])) is not { IsCurrent: true } cached)
        {
            return false;
        }
        var template = cached.Reply;
        ref readonly var info = ref request.Info;
        var length = template.Length + EdnsEcho.Length(request.Query, info);
        if (length > request.MaxResponseSize)
        {
            return false; // needs truncation: the slow path does it
        }
        var buffer = request.Response.GetBuffer(length);
        template.CopyTo(buffer);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, info.Header.Id);
        // The template holds none of the echoed bits (Store clears them): take them from this query.
        var flags = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]) | (info.Header.Flags & DnsHeader.EchoedBits));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], flags);
        if (info.HasOpt)
        {
            EdnsEcho.Write(buffer[template.Length..], request.Query, info);
            var additional = BinaryPrimitives.ReadUInt16BigEndian(buffer[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[10..], (ushort)(additional + 1));
        }
        request.Response.Commit(length, plugin);
        return true;
    }

    /// <summary>Room for about four distinct questions (A, AAAA, SRV, a search-path miss) per Service and EndpointSlice.</summary>
    public static int CapacityFor(ClusterDns.Kubernetes.ClusterState state) =>
        (int)Math.Clamp(4L * (state.ServiceCount + state.SliceCount), MinCapacity, MaxCapacity);

    /// <summary>Stores <paramref name="reply"/> (which must not contain an OPT record) for this question, valid while
    /// the given tokens are current.</summary>
    public void Store(DnsRequest request, DnsMessage reply, CacheToken? first = null, CacheToken? second = null, CacheToken? third = null,
        int capacity = MinCapacity)
    {
        if (!Entry.Current(first) || !Entry.Current(second) || !Entry.Current(third))
        {
            return; // computed from an index that was already replaced
        }
        var header = reply.Header;
        reply.Header.Id = 0;
        reply.Header.Flags &= unchecked((ushort)~DnsHeader.EchoedBits);
        var encoded = reply.ToArray();
        reply.Header = header;
        Span<byte> key = stackalloc byte[DnsName.MaxWireLength + 4];
        var keyLength = WriteKey(request, key);
        if (encoded.Length < QuestionOffset + keyLength
            || (BinaryPrimitives.ReadUInt16BigEndian(encoded.AsSpan(2)) & DnsHeader.TcBit) != 0
            || BinaryPrimitives.ReadUInt16BigEndian(encoded.AsSpan(4)) != 1
            || !encoded.AsSpan(QuestionOffset, keyLength).SequenceEqual(key[..keyLength]))
        {
            return; // truncated, or the question is not echoed as asked: the key must be the reply's question
        }
        var hash = Hash(key[..keyLength]);
        var entry = new Entry(encoded, hash, keyLength, first, second, third);
        lock (_writeGate)
        {
            var slots = _slots;
            var slot = FindSlot(slots, key[..keyLength], hash);
            if (slots[slot] is not null)
            {
                Volatile.Write(ref slots[slot], entry); // overwrites a superseded reply for the same question
                return;
            }
            if (_count >= capacity)
            {
                slots = new Entry?[InitialSlots]; // full: start over rather than grow without bound
                _count = 0;
                Volatile.Write(ref _slots, slots);
            }
            else if ((_count + 1) * 2 > slots.Length)
            {
                slots = Grow(slots);
                Volatile.Write(ref _slots, slots);
            }
            Volatile.Write(ref slots[FindSlot(slots, key[..keyLength], hash)], entry);
            Volatile.Write(ref _count, _count + 1);
        }
    }

    private static Entry? Find(Entry?[] slots, ReadOnlySpan<byte> key, int hash)
    {
        var mask = slots.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            var entry = Volatile.Read(ref slots[i]);
            if (entry is null || entry.Matches(key, hash))
            {
                return entry;
            }
        }
    }

    /// <summary>The slot holding this key, else the empty slot where it goes (the table is never more than half full).</summary>
    private static int FindSlot(Entry?[] slots, ReadOnlySpan<byte> key, int hash)
    {
        var mask = slots.Length - 1;
        var i = hash & mask;
        while (slots[i] is { } entry && !entry.Matches(key, hash))
        {
            i = (i + 1) & mask;
        }
        return i;
    }

    /// <summary>Twice the slots, the same entry objects rehashed in; published only when complete.</summary>
    private static Entry?[] Grow(Entry?[] slots)
    {
        var bigger = new Entry?[slots.Length * 2];
        var mask = bigger.Length - 1;
        foreach (var entry in slots)
        {
            if (entry is null)
            {
                continue;
            }
            var i = entry.Hash & mask;
            while (bigger[i] is not null)
            {
                i = (i + 1) & mask;
            }
            bigger[i] = entry;
        }
        return bigger;
    }

    /// <summary>Question as written: name (client's case), type and class — the question section is echoed verbatim.</summary>
    private static int WriteKey(DnsRequest request, Span<byte> key)
    {
        var name = request.NameWire;
        name.CopyTo(key);
        BinaryPrimitives.WriteUInt16BigEndian(key[name.Length..], (ushort)request.Type);
        BinaryPrimitives.WriteUInt16BigEndian(key[(name.Length + 2)..], (ushort)request.Class);
        return name.Length + 4;
    }

    private static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    /// <summary>One compiled reply; its question section (from offset 12) is the key.</summary>
    private sealed class Entry(byte[] reply, int hash, int keyLength, CacheToken? first, CacheToken? second, CacheToken? third)
    {
        public byte[] Reply { get; } = reply;

        public int Hash { get; } = hash;

        public bool IsCurrent => Current(first) && Current(second) && Current(third);

        public bool Matches(ReadOnlySpan<byte> key, int hash) =>
            Hash == hash && keyLength == key.Length && Reply.AsSpan(QuestionOffset, keyLength).SequenceEqual(key);

        public static bool Current(CacheToken? token) => token is null || token.IsCurrent;
    }
}
