using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Local;

/// <summary><c>coredns_local_localhost_requests_total</c>: no labels at all (CoreDNS leaves out <c>server</c> on purpose).</summary>
public static class LocalMetrics
{
    public static Counter LocalhostRequests { get; } = PromMetrics.CreateCounter("coredns_local_localhost_requests_total",
        "Counter of localhost.<domain> requests.");
}
