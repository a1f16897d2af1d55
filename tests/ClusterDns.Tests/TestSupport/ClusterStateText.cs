using System.Text;
using ClusterDns.Kubernetes;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Canonical, sorted text of a <see cref="ClusterState"/> (serial excluded) so states compare with readable diffs.</summary>
public static class ClusterStateText
{
    public static string Of(ClusterState s)
    {
        var lines = new List<string>();
        foreach (var ns in s.Namespaces.Keys)
        {
            lines.Add("ns " + ns);
        }
        foreach (var v in s.Services)
        {
            lines.Add($"svc {v.Namespace}/{v.Name} {v.Kind} ips=[{string.Join(",", v.ClusterIPs)}] ext={v.ExternalName} ports=[{Ports(v.Ports)}]");
        }
        foreach (var sl in s.Slices)
        {
            var eps = string.Join(";", sl.Endpoints.Select(e =>
                $"{string.Join(",", e.Addresses)} h={e.Hostname} t={e.TargetRefName} n={e.NodeName} r={e.Ready} z={e.Zone}"));
            lines.Add($"slice {sl.Namespace}/{sl.Name} svc={sl.ServiceName} ports=[{Ports(sl.Ports)}] eps=[{eps}] trig={sl.LastChangeTriggerTime:O}");
        }

        foreach (var p in s.Pods)
        {
            lines.Add($"pod {p.Namespace}/{p.Name} {p.PodIP}");
        }
        lines.Sort(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var l in lines)
        {
            sb.Append(l).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>What a source with these options should hold for the server's current objects.</summary>
    public static ClusterState Expected(TestApiServer server, WatchOptions options)
    {
        var ns = server.Objects(ApiResource.Namespaces, options.NamespaceLabelSelector)
            .Select(j => ModelConverter.ToNamespace(KubernetesJson.Deserialize<V1Namespace>(j))!);
        var svcs = server.Objects(ApiResource.Services, options.LabelSelector)
            .Select(j => ModelConverter.ToService(KubernetesJson.Deserialize<V1Service>(j))!);
        var slices = options.WatchEndpointSlices
            ? server.Objects(ApiResource.EndpointSlices, options.LabelSelector)
                .Select(j => ModelConverter.ToSlice(KubernetesJson.Deserialize<V1EndpointSlice>(j))!)
            : [];
        var pods = options.WatchPods
            ? server.Objects(ApiResource.Pods, options.LabelSelector, WatchOptions.PodFieldSelector)
                .Select(j => ModelConverter.ToPod(KubernetesJson.Deserialize<V1Pod>(j))!)
            : [];
        return ClusterState.Build(ns, svcs, slices, pods);
    }

    private static string Ports(IEnumerable<ServicePortInfo> ports) => string.Join(",", ports.Select(p => $"{p.Name}/{p.Protocol}/{p.Port}"));
}
