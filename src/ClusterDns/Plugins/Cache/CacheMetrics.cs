using ClusterDns.Metrics;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Cache;

/// <summary>
/// <c>coredns_cache_*</c> (plugin/cache/metrics.go). Labels: <c>server</c>, <c>zones</c> = the cache's zones joined
/// by ",", <c>view</c>, and <c>type</c> = success|denial where present. Use <see cref="For"/> once per (server, zones)
/// and keep the <see cref="CacheSeries"/>: its children are plain fields, so counting is a field read plus an increment.
/// </summary>
public static class CacheMetrics
{
    public const string Success = "success";
    public const string Denial = "denial";

    // Children are created eagerly per series but, like Go's vectors, only exported once first touched.
    private static readonly string[] ServerTypeZonesView = ["server", "type", "zones", "view"];
    private static readonly string[] ServerZonesView = ["server", "zones", "view"];

    public static Gauge Entries { get; } = PromMetrics.CreateGauge("coredns_cache_entries", "The number of elements in the cache.",
        ServerTypeZonesView, new GaugeConfiguration { SuppressInitialValue = true });

    public static Counter Requests { get; } = PromMetrics.CreateCounter("coredns_cache_requests_total", "The count of cache requests.",
        ServerZonesView, new CounterConfiguration { SuppressInitialValue = true });

    public static Counter Hits { get; } = PromMetrics.CreateCounter("coredns_cache_hits_total", "The count of cache hits.",
        ServerTypeZonesView, new CounterConfiguration { SuppressInitialValue = true });

    /// <summary>Deprecated in CoreDNS 1.8.5 but still exported; dashboards still use it.</summary>
    public static Counter Misses { get; } = PromMetrics.CreateCounter("coredns_cache_misses_total",
        "The count of cache misses. Deprecated, derive misses from cache hits/requests counters.",
        ServerZonesView, new CounterConfiguration { SuppressInitialValue = true });

    public static Counter Prefetch { get; } = PromMetrics.CreateCounter("coredns_cache_prefetch_total",
        "The number of times the cache has prefetched a cached item.",
        ServerZonesView, new CounterConfiguration { SuppressInitialValue = true });

    public static Counter Drops { get; } = PromMetrics.CreateCounter("coredns_cache_drops_total",
        "The number responses that are not cached, because the reply is malformed.",
        ServerZonesView, new CounterConfiguration { SuppressInitialValue = true });

    public static Counter ServedStale { get; } = PromMetrics.CreateCounter("coredns_cache_served_stale_total",
        "The number of requests served from stale cache entries.",
        ServerZonesView, new CounterConfiguration { SuppressInitialValue = true });

    public static Counter Evictions { get; } = PromMetrics.CreateCounter("coredns_cache_evictions_total", "The count of cache evictions.",
        ServerTypeZonesView, new CounterConfiguration { SuppressInitialValue = true });

    private static readonly SeriesTable<CacheSeries> Series = new(static (server, zones) => new CacheSeries(server, zones, DnsLabels.NoView));

    /// <summary>The children for one listener (<c>request.Server</c>) and the cache's joined zones. Lock-free after first use.</summary>
    public static CacheSeries For(string server, string zones) => Series.Get(server, zones);

    /// <summary>The <c>zones</c> label: the plugin's zones joined by ",".</summary>
    public static string ZonesLabel(IEnumerable<string> zones) => string.Join(',', zones);
}

/// <summary>The cache children of one (server, zones, view).</summary>
public sealed class CacheSeries
{
    internal CacheSeries(string server, string zones, string view)
    {
        Requests = CacheMetrics.Requests.WithLabels(server, zones, view);
        Misses = CacheMetrics.Misses.WithLabels(server, zones, view);
        Prefetch = CacheMetrics.Prefetch.WithLabels(server, zones, view);
        Drops = CacheMetrics.Drops.WithLabels(server, zones, view);
        ServedStale = CacheMetrics.ServedStale.WithLabels(server, zones, view);
        SuccessHits = CacheMetrics.Hits.WithLabels(server, CacheMetrics.Success, zones, view);
        DenialHits = CacheMetrics.Hits.WithLabels(server, CacheMetrics.Denial, zones, view);
        SuccessEvictions = CacheMetrics.Evictions.WithLabels(server, CacheMetrics.Success, zones, view);
        DenialEvictions = CacheMetrics.Evictions.WithLabels(server, CacheMetrics.Denial, zones, view);
        SuccessEntries = CacheMetrics.Entries.WithLabels(server, CacheMetrics.Success, zones, view);
        DenialEntries = CacheMetrics.Entries.WithLabels(server, CacheMetrics.Denial, zones, view);
    }

    public Counter.Child Requests { get; }

    public Counter.Child Misses { get; }

    public Counter.Child Prefetch { get; }

    public Counter.Child Drops { get; }

    public Counter.Child ServedStale { get; }

    public Counter.Child SuccessHits { get; }

    public Counter.Child DenialHits { get; }

    public Counter.Child SuccessEvictions { get; }

    public Counter.Child DenialEvictions { get; }

    public Gauge.Child SuccessEntries { get; }

    public Gauge.Child DenialEntries { get; }
}
