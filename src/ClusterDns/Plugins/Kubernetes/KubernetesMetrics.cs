using ClusterDns.Metrics;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Kubernetes;

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

    /// <summary>A ClusterDns extension: list/watch loops the per-resource watchdog restarted because they made no progress.</summary>
    public static Counter WatchRestarts { get; } = PromMetrics.CreateCounter("clusterdns_kubernetes_watch_restarts_total",
        "Number of list/watch loops restarted by the watchdog after making no progress, by resource.", ["resource"]);
}
