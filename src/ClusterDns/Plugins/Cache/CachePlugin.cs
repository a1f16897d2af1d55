using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using ClusterDns.Corefile;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Cache;

/// <summary>
/// CoreDNS's <c>cache</c>: a success and a denial cache of whole replies keyed by (DO, CD, qtype, qclass, qname).
/// A hit copies the stored wire bytes into the reply buffer and patches id, flags and TTLs (no allocation);
/// a miss runs the rest of the chain and stores what it wrote.
/// </summary>
public sealed partial class CachePlugin : DnsPlugin, ICacheStatistics
{

    private readonly CacheOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ZoneSet _zones;
    private readonly ZoneSet _successExcept;
    private readonly ZoneSet _denialExcept;
    private readonly CacheStore _success;
    private readonly CacheStore _denial;
    private readonly long _successMax;
    private readonly long _successMin;
    private readonly long _denialMax;
    private readonly long _denialMin;
    private readonly long _servFailTtl;
    private readonly long _staleUpTo;
    private readonly ConcurrentQueue<DnsRequest> _refreshRequests = new();
    private CacheCounters _counters;

    // The exported coredns_cache_* children of this (server, zones); counted next to the internal counters, both are
    // plain Interlocked updates on pre-created objects (no allocation, no lock on the query path).
    private readonly CacheSeries _series;

    // Set once this instance serves: a reload builds a fresh (empty) cache whose size replaces the old one's in the
    // shared entries gauge, but a configuration that fails to build must not touch the running instance's series.
    private bool _entriesPublished;

    internal CachePlugin(CacheOptions options, string server, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        Server = server;
        Zones = string.Join(',', options.Zones);
        _zones = new ZoneSet(options.Zones);
        _successExcept = new ZoneSet(options.SuccessExcept);
        _denialExcept = new ZoneSet(options.DenialExcept);
        _success = new CacheStore(options.SuccessCapacity);
        _denial = new CacheStore(options.DenialCapacity);
        _successMax = options.SuccessMaxTtl.Ticks;
        _successMin = options.SuccessMinTtl.Ticks;
        _denialMax = options.DenialMaxTtl.Ticks;
        _denialMin = options.DenialMinTtl.Ticks;
        _servFailTtl = options.ServFailTtl.Ticks;
        _staleUpTo = options.StaleUpTo.Ticks / TimeSpan.TicksPerSecond;
        _series = CacheMetrics.For(server, Zones);
    }

    public override string Name => "cache";

    internal CacheOptions Options => _options;

    internal CacheStore SuccessStore => _success;

    internal CacheStore DenialStore => _denial;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var name = request.LowerNameWire;
        if (!_zones.Covers(name))
        {
            return NextAsync(request, cancellationToken);
        }
        var now = _time.GetUtcNow().UtcTicks;
        var key = Key(name, request.Type, request.Class, request.DnssecOk, request.CheckingDisabled);
        var entry = Lookup(request, key, now);
        if (entry is null)
        {
            var pending = NextAsync(request, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return AwaitMissAsync(request, key, pending);
            }
            var result = pending.Result;
            StoreWritten(request, key, clientReply: true);
            return new ValueTask<DnsResult>(result);
        }
        var ttl = entry.Ttl(now);
        if (ttl < 0)
        {
            if (_options.VerifyStale)
            {
                return VerifyStaleAsync(request, key, entry, cancellationToken);
            }
            // Serve with TTL 0 and refresh in the background (serve_stale immediate).
            now += ttl * TimeSpan.TicksPerSecond;
            TryRefresh(request, key, entry, now);
            Interlocked.Increment(ref _counters.ServedStale);
            _series.ServedStale.Inc();
        }
        else if (ShouldPrefetch(entry, now))
        {
            TryRefresh(request, key, entry, now);
        }
        WriteHit(request, entry, _options.KeepTtl ? entry.StoredTicks : now);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<DnsResult> AwaitMissAsync(DnsRequest request, ulong key, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        StoreWritten(request, key, clientReply: true);
        return result;
    }

    private async ValueTask<DnsResult> VerifyStaleAsync(DnsRequest request, ulong key, CacheEntry entry, CancellationToken cancellationToken)
    {
        var result = await NextAsync(request, cancellationToken).ConfigureAwait(false);
        var response = request.Response;
        if (response.Written && response.Rcode is DnsRcode.NoError or DnsRcode.NXDomain)
        {
            // RFC 8767 §4: only a NOERROR/NXDOMAIN refresh replaces the stale answer.
            StoreWritten(request, key, clientReply: true);
            return result;
        }
        response.Reset();
        var now = _time.GetUtcNow().UtcTicks;
        var ttl = entry.Ttl(now);
        WriteHit(request, entry, _options.KeepTtl ? entry.StoredTicks : now + Math.Min(ttl, 0) * TimeSpan.TicksPerSecond);
        Interlocked.Increment(ref _counters.ServedStale);
        _series.ServedStale.Inc();
        return DnsResult.Success;
    }

    /// <summary>getIfNotStale: the denial cache first (a cached SERVFAIL yields to a valid positive entry), then success.</summary>
    private CacheEntry? Lookup(DnsRequest request, ulong key, long now)
    {
        Interlocked.Increment(ref _counters.Requests);
        _series.Requests.Inc();
        if (!_entriesPublished)
        {
            PublishEntries();
        }
        var name = request.LowerNameWire;
        var denial = _denial.Get(key);
        if (denial is not null && Usable(denial, request, name, now))
        {
            if (denial.Rcode == (int)DnsRcode.ServFail && _success.Get(key) is { } positive && Usable(positive, request, name, now))
            {
                Interlocked.Increment(ref _counters.SuccessHits);
                _series.SuccessHits.Inc();
                return positive;
            }
            Interlocked.Increment(ref _counters.DenialHits);
            _series.DenialHits.Inc();
            return denial;
        }
        var success = _success.Get(key);
        if (success is not null && Usable(success, request, name, now))
        {
            Interlocked.Increment(ref _counters.SuccessHits);
            _series.SuccessHits.Inc();
            return success;
        }
        Interlocked.Increment(ref _counters.Misses);
        _series.Misses.Inc();
        return null;
    }

    private bool Usable(CacheEntry entry, DnsRequest request, ReadOnlySpan<byte> name, long now)
    {
        if (!entry.Matches(name, request.Type, request.Class, request.DnssecOk, request.CheckingDisabled))
        {
            return false;
        }
        var ttl = entry.Ttl(now);
        return ttl > 0 || (_staleUpTo > 0 && -ttl < _staleUpTo);
    }

    private bool ShouldPrefetch(CacheEntry entry, long now)
    {
        if (_options.Prefetch <= 0)
        {
            return false;
        }
        var hits = entry.UpdateFrequency(_options.PrefetchDuration.Ticks, now);
        var threshold = (long)Math.Ceiling(_options.PrefetchPercentage / 100.0 * entry.OriginalTtl);
        return hits >= _options.Prefetch && entry.Ttl(now) <= threshold;
    }

    /// <summary>Builds the reply from <paramref name="entry"/> as of <paramref name="servedAt"/> into the request's reply buffer.</summary>
    private void WriteHit(DnsRequest request, CacheEntry entry, long servedAt)
    {
        var wire = entry.Wire;
        var edns = request.HasEdns;
        var length = wire.Length + EdnsEcho.Length(request.Query, request.Info);
        var destination = request.Response.GetBuffer(length);
        wire.CopyTo(destination);
        // The question as the client spelled it (same length: names are equal ignoring case, both uncompressed).
        request.Query[DnsHeader.Size..request.Info.QuestionEnd].CopyTo(destination[DnsHeader.Size..]);
        var query = request.Info.Header;
        var flags = (ushort)(DnsHeader.QrBit | DnsHeader.AaBit | (query.Flags & DnsHeader.EchoedBits) | entry.Rcode);
        if (entry.RecursionAvailable)
        {
            flags |= DnsHeader.RaBit;
        }
        if (entry.AuthenticData && (request.DnssecOk || query.AuthenticData))
        {
            flags |= DnsHeader.AdBit;
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination, query.Id);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], flags);
        var ttl = (uint)Math.Max(entry.Ttl(servedAt), 0);
        foreach (var offset in entry.TtlOffsets)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[offset..], ttl);
        }
        if (edns)
        {
            EdnsEcho.Write(destination[wire.Length..], request.Query, request.Info);
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(destination[10..]) + 1));
        }
        if (length > request.MaxResponseSize)
        {
            // Too big for this client (stored from a TCP query): re-encode with truncation, as CoreDNS's scrub does.
            request.Response.Write(DnsMessage.Parse(destination[..length]), Name);
            return;
        }
        request.Response.Commit(length, Name);
    }

    /// <summary>
    /// The cache ResponseWriter's WriteMsg: classify what the inner chain wrote, store it when cacheable, and (for a
    /// client reply) cap its TTLs at the stored duration and clear AD unless DO or AD was asked for.
    /// </summary>
    private void StoreWritten(DnsRequest request, ulong key, bool clientReply)
    {
        var response = request.Response;
        if (!response.Written)
        {
            return; // the server writes SERVFAIL/REFUSED itself, outside the cache's writer, as in CoreDNS
        }
        var reply = response.Bytes;
        var maxRecords = ReplyScan.MaxRecords(reply);
        var offsets = ArrayPool<ushort>.Shared.Rent(Math.Max(maxRecords, 1));
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        try
        {
            if (!ReplyScan.TryScan(reply, name, offsets, out var scan))
            {
                return;
            }
            var duration = Duration(scan);
            var cacheable = !scan.Truncated && scan.Type is not (ReplyType.OtherError or ReplyType.Meta or ReplyType.Update);
            if (cacheable && duration > 0)
            {
                if (Matches(request, scan, name[..scan.NameLength]))
                {
                    Set(request, key, scan, offsets, duration, prefetch: !clientReply);
                }
                else
                {
                    Interlocked.Increment(ref _counters.Drops);
                    _series.Drops.Inc();
                }
            }
            if (!clientReply)
            {
                return;
            }
            var buffer = response.EditableBytes;
            var seconds = (uint)(duration / TimeSpan.TicksPerSecond);
            for (var i = 0; i < scan.RecordCount; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(buffer[offsets[i]..], seconds);
            }
            if (!request.DnssecOk && !request.Info.Header.AuthenticData)
            {
                buffer[3] &= unchecked((byte)~DnsHeader.AdBit);
            }
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(offsets);
        }
    }

    private long Duration(in ReplyScan scan)
    {
        // dnsutil.MinimalTTL: 5 s for other types or when there is nothing to look at.
        var minimal = scan.Type is ReplyType.NoError or ReplyType.NameError or ReplyType.NoData && scan.MinTtl >= 0
            ? scan.MinTtl * TimeSpan.TicksPerSecond
            : 5 * TimeSpan.TicksPerSecond;
        return scan.Type switch
        {
            ReplyType.NameError or ReplyType.NoData => Math.Min(Math.Max(minimal, _denialMin), _denialMax),
            ReplyType.ServerError => _servFailTtl,
            _ => Math.Min(Math.Max(minimal, _successMin), _successMax),
        };
    }

    /// <summary>request.Match: one question, QR set, same name (any case) and type.</summary>
    private static bool Matches(DnsRequest request, in ReplyScan scan, ReadOnlySpan<byte> name) =>
        scan.QuestionCount == 1 && (scan.Flags & DnsHeader.QrBit) != 0 && scan.QType == request.Type
        && DnsNameSpan.EqualsIgnoreCase(name, request.LowerNameWire);

    private void Set(DnsRequest request, ulong key, in ReplyScan scan, ushort[] offsets, long duration, bool prefetch)
    {
        var denial = scan.Type is ReplyType.NameError or ReplyType.NoData or ReplyType.ServerError;
        if ((denial ? _denialExcept : _successExcept).Covers(request.LowerNameWire))
        {
            return;
        }
        if (scan.QuestionEnd != DnsHeader.Size + request.LowerNameWire.Length + 4)
        {
            return; // compressed question (never seen in practice): the hit path relies on an uncompressed one
        }
        var reply = request.Response.Bytes;
        var removed = scan.OptStart >= 0 ? scan.OptEnd - scan.OptStart : 0;
        var wire = new byte[reply.Length - removed];
        if (removed > 0)
        {
            reply[..scan.OptStart].CopyTo(wire);
            reply[scan.OptEnd..].CopyTo(wire.AsSpan(scan.OptStart));
            BinaryPrimitives.WriteUInt16BigEndian(wire.AsSpan(10), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(wire.AsSpan(10)) - 1));
        }
        else
        {
            reply.CopyTo(wire);
        }
        // The key match reads the lower-cased name here (a hit writes the client's spelling over it).
        request.LowerNameWire.CopyTo(wire.AsSpan(DnsHeader.Size));
        var ttlOffsets = new ushort[scan.RecordCount];
        for (var i = 0; i < ttlOffsets.Length; i++)
        {
            ttlOffsets[i] = (ushort)(removed > 0 && offsets[i] > scan.OptStart ? offsets[i] - removed : offsets[i]);
        }
        var header = (ushort)scan.Flags;
        var entry = new CacheEntry(wire, ttlOffsets, request.LowerNameWire.Length, request.Type, request.Class, request.DnssecOk,
            request.CheckingDisabled, scan.Rcode & 0xF, (header & DnsHeader.AdBit) != 0, (header & DnsHeader.RaBit) != 0,
            (uint)(duration / TimeSpan.TicksPerSecond), _time.GetUtcNow().UtcTicks);
        if (denial)
        {
            if (_denial.Add(key, entry))
            {
                Interlocked.Increment(ref _counters.DenialEvictions);
                _series.DenialEvictions.Inc();
            }
            _series.DenialEntries.Set(_denial.Count);
            return;
        }
        if (_success.Add(key, entry))
        {
            Interlocked.Increment(ref _counters.SuccessEvictions);
            _series.SuccessEvictions.Inc();
        }
        _series.SuccessEntries.Set(_success.Count);
        if (prefetch)
        {
            _denial.Remove(key);
            _series.DenialEntries.Set(_denial.Count);
        }
    }

    /// <summary><c>coredns_cache_entries</c> as CoreDNS sets it after each store: the current size of each cache.</summary>
    private void PublishEntries()
    {
        _entriesPublished = true;
        _series.SuccessEntries.Set(_success.Count);
        _series.DenialEntries.Set(_denial.Count);
    }

    /// <summary>Starts the single background refresh of <paramref name="entry"/> unless one is already running.</summary>
    private void TryRefresh(DnsRequest request, ulong key, CacheEntry entry, long now)
    {
        if (Next is null || !entry.TryBeginRefresh())
        {
            return;
        }
        Interlocked.Increment(ref _counters.Prefetches);
        _series.Prefetch.Inc();
        // The request object is reused once ServeAsync returns: the refresh gets its own copy of the query.
        var work = new RefreshWork(this, entry, key, request.Query.ToArray(), request.Server, request.Zone, request.RemoteEndPoint, now);
        ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);
    }

    private async Task RefreshAsync(RefreshWork work)
    {
        var refresh = _refreshRequests.TryDequeue(out var pooled) ? pooled : new DnsRequest(AddressFamily.InterNetworkV6);
        try
        {
            // TCP, as CoreDNS's prefetch writer pretends, so the reply is not truncated.
            if (refresh.Load(work.Query, DnsTransport.Tcp) != QueryDisposition.Query)
            {
                return;
            }
            refresh.Server = work.Server;
            refresh.Zone = work.Zone;
            refresh.SetRemote(work.Remote);
            await Next!.ServeAsync(refresh, CancellationToken.None).ConfigureAwait(false);
            StoreWritten(refresh, work.Key, clientReply: false);
            var fresh = _denial.Get(work.Key) ?? _success.Get(work.Key);
            if (fresh is not null && fresh != work.Entry)
            {
                fresh.ResetFrequency(work.Now, work.Entry.Hits);
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogRefreshFailed(_logger, exception.Message);
        }
        finally
        {
            work.Entry.EndRefresh();
            if (_refreshRequests.Count < 16)
            {
                _refreshRequests.Enqueue(refresh);
            }
        }
    }

    private sealed class RefreshWork(CachePlugin cache, CacheEntry entry, ulong key, byte[] query, string server, string zone,
        System.Net.IPEndPoint remote, long now) : IThreadPoolWorkItem
    {
        public CacheEntry Entry { get; } = entry;

        public ulong Key { get; } = key;

        public byte[] Query { get; } = query;

        public string Server { get; } = server;

        public string Zone { get; } = zone;

        public System.Net.IPEndPoint Remote { get; } = remote;

        public long Now { get; } = now;

        public void Execute() => _ = cache.RefreshAsync(this);
    }

    /// <summary>FNV-1a over DO, CD, qtype, qclass and the lower-cased name (CoreDNS hashes DO, CD, qtype, qname).</summary>
    internal static ulong Key(ReadOnlySpan<byte> lowerName, DnsType type, DnsClass @class, bool dnssecOk, bool checkingDisabled)
    {
        const ulong prime = 1099511628211;
        var hash = 14695981039346656037;
        hash = (hash ^ (dnssecOk ? 1u : 0u)) * prime;
        hash = (hash ^ (checkingDisabled ? 1u : 0u)) * prime;
        hash = (hash ^ ((uint)type >> 8)) * prime;
        hash = (hash ^ ((uint)type & 0xFF)) * prime;
        hash = (hash ^ ((uint)@class >> 8)) * prime;
        hash = (hash ^ ((uint)@class & 0xFF)) * prime;
        foreach (var octet in lowerName)
        {
            hash = (hash ^ octet) * prime;
        }
        return hash;
    }

    public string Server { get; }

    public string Zones { get; }

    public long Requests => Interlocked.Read(ref _counters.Requests);

    public long SuccessHits => Interlocked.Read(ref _counters.SuccessHits);

    public long DenialHits => Interlocked.Read(ref _counters.DenialHits);

    public long Misses => Interlocked.Read(ref _counters.Misses);

    public long Prefetches => Interlocked.Read(ref _counters.Prefetches);

    public long Drops => Interlocked.Read(ref _counters.Drops);

    public long ServedStale => Interlocked.Read(ref _counters.ServedStale);

    public long SuccessEvictions => Interlocked.Read(ref _counters.SuccessEvictions);

    public long DenialEvictions => Interlocked.Read(ref _counters.DenialEvictions);

    public int SuccessEntries => _success.Count;

    public int DenialEntries => _denial.Count;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefetch failed: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string reason);
}
