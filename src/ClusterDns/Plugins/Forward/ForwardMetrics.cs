using ClusterDns.Metrics;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Forward;

/// <summary>
/// forward's metrics: the current (1.11+) <c>coredns_proxy_*</c> series with <c>proxy_name="forward"</c>, and —
/// while <see cref="EmitLegacy"/> is on — the 1.7–1.10 <c>coredns_forward_*</c> names many dashboards still chart.
/// Get one <see cref="UpstreamSeries"/> per upstream at setup (<see cref="For"/>) and call its methods per query.
/// </summary>
public static class ForwardMetrics
{
    public const string ProxyName = "forward";

    /// <summary>Also count the pre-1.11 <c>coredns_forward_*</c> series (set before the first upstream is created).</summary>
    public static bool EmitLegacy { get; set; } = true;

    public static Counter HealthcheckBroken { get; } = PromMetrics.CreateCounter("coredns_forward_healthcheck_broken_total",
        "Counter of the number of complete failures of the healthchecks.");

    public static Counter MaxConcurrentRejects { get; } = PromMetrics.CreateCounter("coredns_forward_max_concurrent_rejects_total",
        "Counter of the number of queries rejected because the concurrent queries were at maximum.");

    public static Histogram ProxyRequestDuration { get; } = PromMetrics.CreateHistogram("coredns_proxy_request_duration_seconds",
        "Histogram of the time each request took.", ["proxy_name", "to", "rcode"], new HistogramConfiguration { Buckets = MetricBuckets.Time });

    public static Counter ProxyHealthcheckFailures { get; } = PromMetrics.CreateCounter("coredns_proxy_healthcheck_failures_total",
        "Counter of the number of failed healthchecks.", ["proxy_name", "to"], new CounterConfiguration { SuppressInitialValue = true });

    public static Counter ProxyConnCacheHits { get; } = PromMetrics.CreateCounter("coredns_proxy_conn_cache_hits_total",
        "Counter of connection cache hits per upstream and protocol.", ["proxy_name", "to", "proto"], new CounterConfiguration { SuppressInitialValue = true });

    public static Counter ProxyConnCacheMisses { get; } = PromMetrics.CreateCounter("coredns_proxy_conn_cache_misses_total",
        "Counter of connection cache misses per upstream and protocol.", ["proxy_name", "to", "proto"], new CounterConfiguration { SuppressInitialValue = true });

    public static Counter LegacyRequests { get; } = PromMetrics.CreateCounter("coredns_forward_requests_total",
        "Counter of requests made per upstream.", ["to"], new CounterConfiguration { SuppressInitialValue = true });

    public static Counter LegacyResponses { get; } = PromMetrics.CreateCounter("coredns_forward_responses_total",
        "Counter of responses received per upstream.", ["rcode", "to"]);

    public static Histogram LegacyRequestDuration { get; } = PromMetrics.CreateHistogram("coredns_forward_request_duration_seconds",
        "Histogram of the time each request took.", ["to", "rcode"], new HistogramConfiguration { Buckets = MetricBuckets.Time });

    public static Counter LegacyHealthcheckFailures { get; } = PromMetrics.CreateCounter("coredns_forward_healthcheck_failures_total",
        "Counter of the number of failed healthchecks.", ["to"], new CounterConfiguration { SuppressInitialValue = true });

    public static Counter LegacyConnCacheHits { get; } = PromMetrics.CreateCounter("coredns_forward_conn_cache_hits_total",
        "Counter of connection cache hits per upstream and protocol.", ["to", "proto"], new CounterConfiguration { SuppressInitialValue = true });

    public static Counter LegacyConnCacheMisses { get; } = PromMetrics.CreateCounter("coredns_forward_conn_cache_misses_total",
        "Counter of connection cache misses per upstream and protocol.", ["to", "proto"], new CounterConfiguration { SuppressInitialValue = true });

    /// <summary><c>proto</c> label values of the connection cache.</summary>
    public static IReadOnlyList<string> ConnProtos { get; } = ["udp", "tcp", "tcp-tls", "https"];

    private static readonly SeriesTable<UpstreamSeries> Series = new(static (to, proxy) => new UpstreamSeries(proxy, to));

    /// <summary>The series of upstream <paramref name="to"/> (<c>host:port</c> as configured), shared across reloads.</summary>
    public static UpstreamSeries For(string to, string proxyName = ProxyName) => Series.Get(to, proxyName);
}

/// <summary>One upstream's children. Proto index: 0 udp, 1 tcp, 2 tcp-tls, 3 https (<see cref="ForwardMetrics.ConnProtos"/>).</summary>
public sealed class UpstreamSeries
{
    private readonly string _proxy;
    private readonly string _to;
    private readonly bool _legacy;
    private readonly Histogram.Child?[] _duration = new Histogram.Child?[DnsLabels.RcodeCount];
    private readonly Histogram.Child?[] _legacyDuration = new Histogram.Child?[DnsLabels.RcodeCount];
    private readonly Counter.Child?[] _legacyResponses = new Counter.Child?[DnsLabels.RcodeCount];
    private readonly Counter.Child[] _hits;
    private readonly Counter.Child[] _misses;
    private readonly Counter.Child[] _legacyHits;
    private readonly Counter.Child[] _legacyMisses;
    private readonly Counter.Child _healthFailures;
    private readonly Counter.Child _legacyHealthFailures;
    private readonly Counter.Child _legacyRequests;

    internal UpstreamSeries(string proxy, string to)
    {
        _proxy = proxy;
        _to = to;
        _legacy = ForwardMetrics.EmitLegacy;
        var protos = ForwardMetrics.ConnProtos;
        _hits = new Counter.Child[protos.Count];
        _misses = new Counter.Child[protos.Count];
        _legacyHits = new Counter.Child[protos.Count];
        _legacyMisses = new Counter.Child[protos.Count];
        for (var i = 0; i < protos.Count; i++)
        {
            _hits[i] = ForwardMetrics.ProxyConnCacheHits.WithLabels(proxy, to, protos[i]);
            _misses[i] = ForwardMetrics.ProxyConnCacheMisses.WithLabels(proxy, to, protos[i]);
            _legacyHits[i] = ForwardMetrics.LegacyConnCacheHits.WithLabels(to, protos[i]);
            _legacyMisses[i] = ForwardMetrics.LegacyConnCacheMisses.WithLabels(to, protos[i]);
        }
        _healthFailures = ForwardMetrics.ProxyHealthcheckFailures.WithLabels(proxy, to);
        _legacyHealthFailures = ForwardMetrics.LegacyHealthcheckFailures.WithLabels(to);
        _legacyRequests = ForwardMetrics.LegacyRequests.WithLabels(to);
    }

    public string To => _to;

    /// <summary>A query was sent upstream (legacy <c>coredns_forward_requests_total</c> only; the proxy set has no request counter).</summary>
    public void Request()
    {
        if (_legacy)
        {
            _legacyRequests.Inc();
        }
    }

    /// <summary>An upstream reply with <paramref name="rcode"/> arrived after <paramref name="seconds"/>.</summary>
    public void Response(int rcode, double seconds)
    {
        var slot = (uint)rcode < (uint)DnsLabels.RcodeCount ? rcode : DnsLabels.RcodeCount - 1;
        (_duration[slot] ??= ForwardMetrics.ProxyRequestDuration.WithLabels(_proxy, _to, DnsLabels.Rcode(slot))).Observe(seconds);
        if (_legacy)
        {
            (_legacyDuration[slot] ??= ForwardMetrics.LegacyRequestDuration.WithLabels(_to, DnsLabels.Rcode(slot))).Observe(seconds);
            (_legacyResponses[slot] ??= ForwardMetrics.LegacyResponses.WithLabels(DnsLabels.Rcode(slot), _to)).Inc();
        }
    }

    public void HealthcheckFailure()
    {
        _healthFailures.Inc();
        if (_legacy)
        {
            _legacyHealthFailures.Inc();
        }
    }

    public void ConnCacheHit(int proto)
    {
        _hits[proto].Inc();
        if (_legacy)
        {
            _legacyHits[proto].Inc();
        }
    }

    public void ConnCacheMiss(int proto)
    {
        _misses[proto].Inc();
        if (_legacy)
        {
            _legacyMisses[proto].Inc();
        }
    }
}
