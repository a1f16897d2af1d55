using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Hosts;

/// <summary><c>coredns_hosts_*</c>.</summary>
public static class HostsMetrics
{
    public static Gauge Entries { get; } = PromMetrics.CreateGauge("coredns_hosts_entries",
        "The combined number of entries in hosts and Corefile.", ["hostsfile"]);

    public static Gauge ReloadTimestamp { get; } = PromMetrics.CreateGauge("coredns_hosts_reload_timestamp_seconds",
        "The timestamp of the last reload of hosts file.");
}
