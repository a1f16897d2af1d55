namespace ClusterDns.Plugins.Cache;

/// <summary>
/// Read-only view of one cache instance's counters, for the metrics exporter to publish as the
/// <c>coredns_cache_*</c> series (labels: server = <see cref="Server"/>, zones = <see cref="Zones"/>, view = "").
/// </summary>
public interface ICacheStatistics
{
    /// <summary>Listener label, e.g. <c>dns://:53</c>.</summary>
    string Server { get; }

    /// <summary>The plugin's zones joined by ",".</summary>
    string Zones { get; }

    /// <summary><c>coredns_cache_requests_total</c>.</summary>
    long Requests { get; }

    /// <summary><c>coredns_cache_hits_total{type="success"}</c>.</summary>
    long SuccessHits { get; }

    /// <summary><c>coredns_cache_hits_total{type="denial"}</c>.</summary>
    long DenialHits { get; }

    /// <summary><c>coredns_cache_misses_total</c>.</summary>
    long Misses { get; }

    /// <summary><c>coredns_cache_prefetch_total</c>.</summary>
    long Prefetches { get; }

    /// <summary><c>coredns_cache_drops_total</c>.</summary>
    long Drops { get; }

    /// <summary><c>coredns_cache_served_stale_total</c>.</summary>
    long ServedStale { get; }

    /// <summary><c>coredns_cache_evictions_total{type="success"}</c>.</summary>
    long SuccessEvictions { get; }

    /// <summary><c>coredns_cache_evictions_total{type="denial"}</c>.</summary>
    long DenialEvictions { get; }

    /// <summary><c>coredns_cache_entries{type="success"}</c> (gauge).</summary>
    int SuccessEntries { get; }

    /// <summary><c>coredns_cache_entries{type="denial"}</c> (gauge).</summary>
    int DenialEntries { get; }
}

/// <summary>Lock-free counters of one cache instance (plain fields, Interlocked increments: no allocation per query).</summary>
internal struct CacheCounters
{
    public long Requests;
    public long SuccessHits;
    public long DenialHits;
    public long Misses;
    public long Prefetches;
    public long Drops;
    public long ServedStale;
    public long SuccessEvictions;
    public long DenialEvictions;
}
