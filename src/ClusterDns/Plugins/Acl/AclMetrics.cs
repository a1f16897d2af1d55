using System.Collections.Concurrent;
using ClusterDns.Metrics;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Acl;

/// <summary><c>coredns_acl_*</c> (plugin/acl/metrics.go): names, help texts and labels as CoreDNS.</summary>
public static class AclMetrics
{
    public static Counter Blocked { get; } = PromMetrics.CreateCounter("coredns_acl_blocked_requests_total",
        "Counter of DNS requests being blocked.", ["server", "zone", "view"]);

    public static Counter Filtered { get; } = PromMetrics.CreateCounter("coredns_acl_filtered_requests_total",
        "Counter of DNS requests being filtered.", ["server", "zone", "view"]);

    public static Counter Allowed { get; } = PromMetrics.CreateCounter("coredns_acl_allowed_requests_total",
        "Counter of DNS requests being allowed.", ["server", "view"]);

    public static Counter Dropped { get; } = PromMetrics.CreateCounter("coredns_acl_dropped_requests_total",
        "Counter of DNS requests being dropped.", ["server", "zone", "view"]);

    private static readonly ConcurrentDictionary<string, Counter.Child> AllowedChildren = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<(Counter, string, string), Counter.Child> ZoneChildren = new();

    /// <summary>The allowed child for a server: a lock-free lookup, allocation-free once seen.</summary>
    internal static Counter.Child AllowedFor(string server) =>
        AllowedChildren.TryGetValue(server, out var child)
            ? child
            : AllowedChildren.GetOrAdd(server, static s => Allowed.WithLabels(s, DnsLabels.NoView));

    /// <summary>The child of a zone-labelled family (blocked, filtered, dropped) for a server and zone.</summary>
    internal static Counter.Child ZoneChild(Counter family, string server, string zone) =>
        ZoneChildren.TryGetValue((family, server, zone), out var child)
            ? child
            : ZoneChildren.GetOrAdd((family, server, zone), static key => key.Item1.WithLabels(key.Item2, key.Item3, DnsLabels.NoView));
}
