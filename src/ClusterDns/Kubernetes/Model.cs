using System.Collections.Immutable;

namespace ClusterDns.Kubernetes;

public enum ServiceKind { ClusterIP, Headless, ExternalName }

/// <summary>A Service or EndpointSlice port. Name/Protocol are "" when unset; Port is -1 when unset (docs/kubernetes-dns.md §1).</summary>
public sealed record ServicePortInfo(string Name, string Protocol, int Port)
{
    /// <summary>Stands in for "no ports" so SRV weight counting sees one item (docs/kubernetes-dns.md §1, §5.5).</summary>
    public static ServicePortInfo Sentinel { get; } = new("", "", -1);

    internal static ImmutableArray<ServicePortInfo> SentinelOnly { get; } = [Sentinel];
}

public sealed record ServiceInfo(string Namespace, string Name, ServiceKind Kind, ImmutableArray<string> ClusterIPs,
    string? ExternalName, ImmutableArray<ServicePortInfo> Ports)
{
    /// <summary><c>spec.externalIPs</c>, then each <c>status.loadBalancer.ingress</c> IP (or, without one, its
    /// hostname): what the k8s_external plugin answers.</summary>
    public ImmutableArray<string> ExternalAddresses { get; init; } = [];

    // ImmutableArray compares by reference; records must compare by content so diffs and tests work.
    public bool Equals(ServiceInfo? other) =>
        other is not null && Namespace == other.Namespace && Name == other.Name && Kind == other.Kind
        && ExternalName == other.ExternalName && Seq.Equal(ClusterIPs, other.ClusterIPs) && Seq.Equal(Ports, other.Ports)
        && Seq.Equal(ExternalAddresses, other.ExternalAddresses);

    public override int GetHashCode() => HashCode.Combine(Namespace, Name, Kind);
}

public sealed record EndpointInfo(ImmutableArray<string> Addresses, string? Hostname, string? TargetRefName, string? NodeName,
    bool Ready, string? Zone)
{
    public bool Equals(EndpointInfo? other) =>
        other is not null && Hostname == other.Hostname && TargetRefName == other.TargetRefName && NodeName == other.NodeName
        && Ready == other.Ready && Zone == other.Zone && Seq.Equal(Addresses, other.Addresses);

    public override int GetHashCode() => HashCode.Combine(Hostname, TargetRefName, Ready, Addresses.IsDefaultOrEmpty ? null : Addresses[0]);
}

public sealed record EndpointSliceInfo(string Namespace, string Name, string ServiceName, ImmutableArray<ServicePortInfo> Ports,
    ImmutableArray<EndpointInfo> Endpoints, DateTimeOffset? LastChangeTriggerTime)
{
    public bool Equals(EndpointSliceInfo? other) =>
        other is not null && Namespace == other.Namespace && Name == other.Name && ServiceName == other.ServiceName
        && LastChangeTriggerTime == other.LastChangeTriggerTime && Seq.Equal(Ports, other.Ports) && Seq.Equal(Endpoints, other.Endpoints);

    public override int GetHashCode() => HashCode.Combine(Namespace, Name, ServiceName);
}

public sealed record PodInfo(string Namespace, string Name, string PodIP);

/// <summary>The MCS ServiceImport's <c>spec.type</c> (multicluster.x-k8s.io/v1alpha1).</summary>
public enum ServiceImportType { ClusterSetIP, Headless }

/// <summary>A ServiceImport (Multi-Cluster Services API): the clusterset IPs and ports of a service exported from the
/// clusters of a clusterset. Only watched when the kubernetes plugin has a <c>multicluster</c> zone.</summary>
public sealed record ServiceImportInfo(string Namespace, string Name, ServiceImportType Type, ImmutableArray<string> Ips,
    ImmutableArray<ServicePortInfo> Ports)
{
    public bool Equals(ServiceImportInfo? other) =>
        other is not null && Namespace == other.Namespace && Name == other.Name && Type == other.Type
        && Seq.Equal(Ips, other.Ips) && Seq.Equal(Ports, other.Ports);

    public override int GetHashCode() => HashCode.Combine(Namespace, Name, Type);
}

/// <summary>An EndpointSlice labelled <c>multicluster.kubernetes.io/service-name</c>: endpoints of a ServiceImport
/// (<see cref="EndpointSliceInfo.ServiceName"/> is the import's name) from the cluster <paramref name="ClusterId"/>
/// (the <c>multicluster.kubernetes.io/source-cluster</c> label).</summary>
public sealed record McsSliceInfo(EndpointSliceInfo Slice, string ClusterId);

/// <summary>What one published state change touched. Services holds (namespace, service) pairs, for slices the owning service.</summary>
public sealed record ClusterChange(IReadOnlySet<(string Namespace, string Service)> Services, bool NamespacesChanged, bool PodsChanged,
    bool Relisted)
{
    /// <summary>IPs (before and after) of the pods this change touched, so a consumer can update per IP instead of
    /// rescanning every pod; null when unknown.</summary>
    public IReadOnlySet<string>? PodIps { get; init; }

    /// <summary>A ServiceImport or a multicluster EndpointSlice changed.</summary>
    public bool MulticlusterChanged { get; init; }
}

internal static class Seq
{
    public static bool Equal<T>(ImmutableArray<T> a, ImmutableArray<T> b)
    {
        if (a.IsDefaultOrEmpty || b.IsDefaultOrEmpty)
        {
            return a.IsDefaultOrEmpty == b.IsDefaultOrEmpty;
        }
        if (a.Length != b.Length)
        {
            return false;
        }
        var cmp = EqualityComparer<T>.Default;
        for (int i = 0; i < a.Length; i++)
        {
            if (!cmp.Equals(a[i], b[i]))
            {
                return false;
            }
        }
        return true;
    }
}
