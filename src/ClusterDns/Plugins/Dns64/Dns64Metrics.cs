using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Dns64;

/// <summary><c>coredns_dns64_*</c> (plugin/dns64/metrics.go): name, help text and labels as CoreDNS.</summary>
public static class Dns64Metrics
{
    public static Counter RequestsTranslated { get; } = PromMetrics.CreateCounter("coredns_dns64_requests_translated_total",
        "Counter of DNS requests translated by dns64.", ["server"]);
}
