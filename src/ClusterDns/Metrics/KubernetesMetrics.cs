using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Metrics;

/// <summary><c>coredns_kubernetes_*</c>: DNS programming latency and the client-go REST client series (1.11+).</summary>
public static class KubernetesMetrics
{
    public const string ClusterIp = "cluster_ip";
    public const string HeadlessWithSelector = "headless_with_selector";

    /// <summary>Observed per EndpointSlice update mapping to exactly one Service: now − the
    /// <c>endpoints.kubernetes.io/last-change-trigger-time</c> annotation. Buckets 0.001·2^k, k = 0..19.</summary>
    public static Histogram DnsProgrammingDuration { get; } = PromMetrics.CreateHistogram("coredns_kubernetes_dns_programming_duration_seconds",
        "Histogram of the time (in seconds) it took to program a dns instance.", ["service_kind"],
        new HistogramConfiguration { Buckets = MetricBuckets.DnsProgramming, SuppressInitialValue = true });

    public static Histogram.Child ClusterIpProgramming { get; } = DnsProgrammingDuration.WithLabels(ClusterIp);

    public static Histogram.Child HeadlessProgramming { get; } = DnsProgrammingDuration.WithLabels(HeadlessWithSelector);

    public static Histogram RestClientRequestDuration { get; } = PromMetrics.CreateHistogram("coredns_kubernetes_rest_client_request_duration_seconds",
        "Request latency in seconds. Broken down by verb and host.", ["verb", "host"],
        new HistogramConfiguration { Buckets = MetricBuckets.Default });

    public static Histogram RestClientRateLimiterDuration { get; } = PromMetrics.CreateHistogram("coredns_kubernetes_rest_client_rate_limiter_duration_seconds",
        "Client side rate limiter latency in seconds. Broken down by verb and host.", ["verb", "host"],
        new HistogramConfiguration { Buckets = MetricBuckets.Default });

    public static Counter RestClientRequests { get; } = PromMetrics.CreateCounter("coredns_kubernetes_rest_client_requests_total",
        "Number of HTTP requests, partitioned by status code, method, and host.", ["code", "method", "host"]);
}

/// <summary><c>coredns_reload_*</c>: failed reloads and the running configuration's hash.</summary>
public static class ReloadMetrics
{
    private static readonly Lock Gate = new();
    private static string? _current;

    public static Counter Failed { get; } = PromMetrics.CreateCounter("coredns_reload_failed_total",
        "Counter of the number of failed reload attempts.");

    public static Gauge VersionInfo { get; } = PromMetrics.CreateGauge("coredns_reload_version_info",
        "A metric with a constant '1' value labeled by hash, and value which type of hash generated.", ["hash", "value"]);

    /// <summary>Publishes <c>{hash="sha512",value=<paramref name="sha512Hex"/>}</c> = 1 and drops the previous configuration's series.</summary>
    public static void SetVersion(string sha512Hex)
    {
        lock (Gate)
        {
            if (_current == sha512Hex)
            {
                return;
            }
            if (_current is not null)
            {
                VersionInfo.RemoveLabelled("sha512", _current);
            }
            VersionInfo.WithLabels("sha512", sha512Hex).Set(1);
            _current = sha512Hex;
        }
    }
}

/// <summary><c>coredns_health_*</c>: health's self-probe of its own /health (no server label: a process symptom).</summary>
public static class HealthMetrics
{
    public static Histogram RequestDuration { get; } = PromMetrics.CreateHistogram("coredns_health_request_duration_seconds",
        "Histogram of the time (in seconds) each request took.", new HistogramConfiguration { Buckets = MetricBuckets.Health });

    public static Counter RequestFailures { get; } = PromMetrics.CreateCounter("coredns_health_request_failures_total",
        "The number of times the health check failed.");
}
