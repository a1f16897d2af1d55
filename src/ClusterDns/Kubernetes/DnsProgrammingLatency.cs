using ClusterDns.Plugins.Kubernetes;

namespace ClusterDns.Kubernetes;

/// <summary>
/// <c>coredns_kubernetes_dns_programming_duration_seconds{service_kind}</c> (plugin/kubernetes/metrics.go): when a
/// watched EndpointSlice add/update changes what DNS serves, observe now − its
/// <c>endpoints.kubernetes.io/last-change-trigger-time</c> annotation, only if the slice maps to exactly one known
/// Service; <c>service_kind</c> is <c>headless_with_selector</c> for a headless Service, else <c>cluster_ip</c>.
/// Kept apart from the store so the hook there is one call.
/// </summary>
internal static class DnsProgrammingLatency
{
    /// <summary>Returns <paramref name="after"/> unchanged; observes when <paramref name="item"/> is a slice whose upsert
    /// changed the state.</summary>
    public static ClusterState Observe<T>(ClusterState before, ClusterState after, T item, TimeProvider time)
        where T : class
    {
        if (ReferenceEquals(before, after) || item is not EndpointSliceInfo { LastChangeTriggerTime: { } trigger } slice
            || slice.ServiceName.Length == 0 || after.GetService(slice.Namespace, slice.ServiceName) is not { } service)
        {
            return after;
        }
        var seconds = Math.Max(0, (time.GetUtcNow() - trigger).TotalSeconds);
        var series = service.Kind == ServiceKind.Headless ? KubernetesMetrics.HeadlessProgramming : KubernetesMetrics.ClusterIpProgramming;
        series.Observe(seconds);
        return after;
    }
}
