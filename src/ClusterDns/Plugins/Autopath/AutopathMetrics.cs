using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Autopath;

/// <summary><c>coredns_autopath_success_total{server}</c>.</summary>
public static class AutopathMetrics
{
    public static Counter Success { get; } = PromMetrics.CreateCounter("coredns_autopath_success_total",
        "Counter of requests that did autopath.", ["server"]);
}
