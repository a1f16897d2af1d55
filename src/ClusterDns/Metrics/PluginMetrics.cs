using ClusterDns.Plugins.Kubernetes;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Metrics;

/// <summary>
/// <c>coredns_dnssec_*</c>: the one metric family here of a plugin ClusterDns does not implement (dnssec). Kept, with
/// CoreDNS's names, help texts and labels, so the catalogue <see cref="MetricsCatalog.RegisterAll"/> registers matches
/// CoreDNS's default build, which registers every compiled-in plugin's families at start-up whether or not the Corefile
/// uses the plugin; dashboards and recording rules written against CoreDNS then find the same families. Nothing
/// touches the children, so — as in Go — no labelled series is exported. When the dnssec plugin is written this class
/// moves to <c>Plugins/Dnssec/DnssecMetrics.cs</c>, as every implemented plugin's metrics live in its own folder.
/// </summary>
public static class DnssecMetrics
{
    public static Gauge CacheEntries { get; } = PromMetrics.CreateGauge("coredns_dnssec_cache_entries",
        "The number of elements in the dnssec cache.", ["server", "type"]);

    public static Counter CacheHits { get; } = PromMetrics.CreateCounter("coredns_dnssec_cache_hits_total",
        "The count of cache hits.", ["server"]);

    public static Counter CacheMisses { get; } = PromMetrics.CreateCounter("coredns_dnssec_cache_misses_total",
        "The count of cache misses.", ["server"]);
}

/// <summary>
/// Registers every metric family up front. CoreDNS registers all compiled-in plugins' metrics at init (promauto), so
/// unlabelled series (<c>coredns_reload_failed_total 0</c>, <c>coredns_health_request_failures_total 0</c>…) are on
/// /metrics even before — or without — the plugin running; alerts built on them expect that.
/// </summary>
public static class MetricsCatalog
{
    public static void RegisterAll()
    {
        CoreMetrics.EnsureInitialized();
        _ = Plugins.Cache.CacheMetrics.Entries;
        _ = Plugins.Forward.ForwardMetrics.HealthcheckBroken;
        _ = KubernetesMetrics.DnsProgrammingDuration;
        _ = Plugins.Reload.ReloadMetrics.Failed;
        _ = Plugins.Health.HealthMetrics.RequestDuration;
        _ = Plugins.Autopath.AutopathMetrics.Success;
        _ = Plugins.Hosts.HostsMetrics.ReloadTimestamp;
        _ = Plugins.Template.TemplateMetrics.Matches;
        _ = Plugins.Acl.AclMetrics.Blocked;
        _ = DnssecMetrics.CacheHits;
        _ = Plugins.Local.LocalMetrics.LocalhostRequests;
    }
}
