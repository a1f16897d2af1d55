using ClusterDns.Metrics;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Health;

/// <summary><c>coredns_health_*</c>: health's self-probe of its own /health (no server label: a process symptom).</summary>
public static class HealthMetrics
{
    public static Histogram RequestDuration { get; } = PromMetrics.CreateHistogram("coredns_health_request_duration_seconds",
        "Histogram of the time (in seconds) each request took.", new HistogramConfiguration { Buckets = MetricBuckets.Health });

    public static Counter RequestFailures { get; } = PromMetrics.CreateCounter("coredns_health_request_failures_total",
        "The number of times the health check failed.");
}
