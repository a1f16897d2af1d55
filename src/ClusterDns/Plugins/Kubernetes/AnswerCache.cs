using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Precompiled replies of one index lineage: the first query for a (name as written, type) resolves and encodes
/// normally and stores the encoded reply without id, RD/CD or OPT; later identical questions copy those bytes and
/// patch the id and flags in (Knot/NSD style). The key keeps the client's case, because owner names, SRV targets and
/// SOA names echo it.
/// The cache outlives cluster changes: each reply carries the <see cref="CacheToken"/>s it was computed from (the
/// service or PTR entry, and the index generation for anything carrying an SOA or global data) and is served only
/// while all are current — a few volatile reads, no lookups. A change supersedes exactly the entries it replaced,
/// so unrelated services stay hot in a churning cluster and nothing stale is ever served.
/// Bounded: when full it is cleared (a random-name flood cannot grow it). The bound scales with the cluster
/// (<see cref="CapacityFor"/>): a fixed small bound thrashes once the distinct questions of a big cluster exceed it.
/// </summary>
internal sealed class AnswerCache
{
    public const int MinCapacity = 32_768;
    public const int MaxCapacity = 1 << 20;
    private const int OptLength = 11;

    private readonly ConcurrentDictionary<byte[], CachedReply> _replies = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<byte[], CachedReply>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public AnswerCache() => _lookup = _replies.GetAlternateLookup<ReadOnlySpan<byte>>();

    // ConcurrentDictionary.Count takes every bucket lock: keep an approximate count of our own for the bound check.
    private int _count;

    public int Count => _replies.Count;

    /// <summary>Writes the cached reply for this question, if there is a current one that fits the client's limit.</summary>
    public bool TryServe(DnsRequest request, string plugin)
    {
        Span<byte> key = stackalloc byte[DnsName.MaxWireLength + 4];
        var keyLength = WriteKey(request, key);
        if (!_lookup.TryGetValue(key[..keyLength], out var cached) || !cached.IsCurrent)
        {
            return false;
        }
        var template = cached.Bytes;
        var info = request.Info;
        var length = template.Length + (info.HasOpt ? OptLength : 0);
        if (length > request.MaxResponseSize)
        {
            return false; // needs truncation: the slow path does it
        }
        var buffer = request.Response.GetBuffer();
        template.CopyTo(buffer);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, info.Header.Id);
        var flags = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(buffer[2..])
            | (info.Header.Flags & (DnsHeader.RdBit | DnsHeader.CdBit)));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], flags);
        if (info.HasOpt)
        {
            // As DnsRequest.CreateReply echoes it: root, OPT, max(size, 512), DO echoed, no options.
            var opt = buffer[template.Length..];
            opt[0] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(opt[1..], (ushort)DnsType.OPT);
            BinaryPrimitives.WriteUInt16BigEndian(opt[3..], Math.Max(info.UdpPayloadSize, (ushort)512));
            BinaryPrimitives.WriteUInt32BigEndian(opt[5..], info.DnssecOk ? OptRecord.DoBit : 0u);
            BinaryPrimitives.WriteUInt16BigEndian(opt[9..], 0);
            var additional = BinaryPrimitives.ReadUInt16BigEndian(buffer[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[10..], (ushort)(additional + 1));
        }
        request.Response.Commit(length, plugin);
        return true;
    }

    /// <summary>Stores <paramref name="reply"/> (which must not contain an OPT record) for this question, valid while
    /// the given tokens are current.</summary>
    /// <summary>Room for about four distinct questions (A, AAAA, SRV, a search-path miss) per Service and EndpointSlice.</summary>
    public static int CapacityFor(ClusterDns.Kubernetes.ClusterState state) =>
        (int)Math.Clamp(4L * (state.ServiceCount + state.SliceCount), MinCapacity, MaxCapacity);

    public void Store(DnsRequest request, DnsMessage reply, CacheToken? first = null, CacheToken? second = null, CacheToken? third = null,
        int capacity = MinCapacity)
    {
        if (!CachedReply.Current(first) || !CachedReply.Current(second) || !CachedReply.Current(third))
        {
            return; // computed from an index that was already replaced
        }
        var header = reply.Header;
        reply.Header.Id = 0;
        reply.Header.RecursionDesired = false;
        reply.Header.CheckingDisabled = false;
        var encoded = reply.ToArray();
        reply.Header = header;
        if (encoded.Length == 0 || (BinaryPrimitives.ReadUInt16BigEndian(encoded.AsSpan(2)) & DnsHeader.TcBit) != 0)
        {
            return;
        }
        var cached = new CachedReply(encoded, first, second, third);
        Span<byte> key = stackalloc byte[DnsName.MaxWireLength + 4];
        var keyLength = WriteKey(request, key);
        if (Volatile.Read(ref _count) >= capacity)
        {
            _replies.Clear();
            Interlocked.Exchange(ref _count, 0);
        }
        var stored = key[..keyLength].ToArray();
        if (_replies.TryAdd(stored, cached))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _replies[stored] = cached; // overwrites a superseded reply for the same question
        }
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

    private sealed class CachedReply(byte[] bytes, CacheToken? first, CacheToken? second, CacheToken? third)
    {
        public byte[] Bytes { get; } = bytes;

        public bool IsCurrent => Current(first) && Current(second) && Current(third);

        public static bool Current(CacheToken? token) => token is null || token.IsCurrent;
    }

    /// <summary>Content equality for byte-array keys, with span lookups that allocate nothing.</summary>
    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static ByteArrayComparer Instance { get; } = new();

        public bool Equals(byte[]? x, byte[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode([DisallowNull] byte[] obj) => Hash(obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

        private static int Hash(ReadOnlySpan<byte> bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
