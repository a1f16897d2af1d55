using System.Collections.Immutable;
using System.Globalization;
using k8s.Models;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Shares repeated small values between slim records: namespaces, node/zone names, protocols and whole port lists
/// repeat across most objects of a cluster, and each deserialized copy would otherwise stay alive in its record.
/// Bounded by the cluster's distinct values (namespaces, nodes, port shapes), not by object count.
/// </summary>
internal static class Interner
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Strings = new(StringComparer.Ordinal);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ServicePortInfo, ImmutableArray<ServicePortInfo>> SinglePorts = new();
    private const int MaxStrings = 1 << 16;

    public static string Intern(string value)
    {
        if (Strings.TryGetValue(value, out var shared)) return shared;
        // Past the bound (unusual value variety) keep the copy rather than grow without limit.
        return Strings.Count >= MaxStrings ? value : Strings.GetOrAdd(value, value);
    }

    public static string? InternOrNull(string? value) => value is null ? null : Intern(value);

    /// <summary>The one-port list (the common case) is shared by every object with that exact port.</summary>
    public static ImmutableArray<ServicePortInfo> Ports(ServicePortInfo port) =>
        SinglePorts.TryGetValue(port, out var shared) ? shared
        : SinglePorts.Count >= MaxStrings ? [port] : SinglePorts.GetOrAdd(port, static p => [p]);

    public static ServicePortInfo Port(string? name, string? protocol, int port) =>
        new(name is null ? "" : Intern(name), protocol is null ? "" : Intern(protocol), port);
}

/// <summary>Turns API model objects into the slim records of docs/kubernetes-dns.md §1 so the (large) model objects can be dropped at once.</summary>
public static class ModelConverter
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
    private const string LastChangeTriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time";

    public static ServiceInfo? ToService(V1Service s)
    {
        var meta = s.Metadata;
        if (meta?.Name is null) return null;
        var spec = s.Spec;
        ImmutableArray<string> ips;
        if (spec?.ClusterIPs is { Count: > 0 } list) ips = NonNull(list);
        else if (!string.IsNullOrEmpty(spec?.ClusterIP)) ips = [spec.ClusterIP];
        else ips = [];

        ServiceKind kind = spec?.Type == "ExternalName" ? ServiceKind.ExternalName
            : ips.Length > 0 && ips[0] == "None" ? ServiceKind.Headless
            : ServiceKind.ClusterIP;

        ImmutableArray<ServicePortInfo> ports;
        // A null list item (`ports: [null]` in a snapshot file; the API server never sends one) is skipped.
        if (spec?.Ports is { Count: 1 } one && one[0] is { } only) ports = Interner.Ports(Interner.Port(only.Name, only.Protocol, only.Port));
        else if (spec?.Ports is { Count: > 0 } sp)
        {
            var b = ImmutableArray.CreateBuilder<ServicePortInfo>(sp.Count);
            foreach (var p in sp) if (p is not null) b.Add(Interner.Port(p.Name, p.Protocol, p.Port));
            ports = b.Count > 0 ? b.ToImmutable() : ServicePortInfo.SentinelOnly;
        }
        else ports = ServicePortInfo.SentinelOnly;

        return new ServiceInfo(Interner.Intern(meta.NamespaceProperty ?? ""), meta.Name, kind, ips,
            kind == ServiceKind.ExternalName ? spec?.ExternalName : null, ports) { ExternalAddresses = ExternalAddresses(s) };
    }

    private static ImmutableArray<string> ExternalAddresses(V1Service s)
    {
        var external = s.Spec?.ExternalIPs;
        var ingress = s.Status?.LoadBalancer?.Ingress;
        if ((external is null || external.Count == 0) && (ingress is null || ingress.Count == 0)) return [];
        var b = ImmutableArray.CreateBuilder<string>();
        if (external is not null) foreach (var ip in external) if (!string.IsNullOrEmpty(ip)) b.Add(ip);
        if (ingress is not null)
            foreach (var lb in ingress)
            {
                if (!string.IsNullOrEmpty(lb?.Ip)) b.Add(lb.Ip);
                else if (!string.IsNullOrEmpty(lb?.Hostname)) b.Add(lb.Hostname);
            }
        return b.ToImmutable();
    }

    public static EndpointSliceInfo? ToSlice(V1EndpointSlice s)
    {
        var meta = s.Metadata;
        if (meta?.Name is null) return null;
        string serviceName = meta.Labels is { } labels && labels.TryGetValue(ServiceNameLabel, out var sn) ? sn ?? "" : "";

        ImmutableArray<ServicePortInfo> ports;
        if (s.Ports is { Count: 1 } one && one[0] is { } only) ports = Interner.Ports(Interner.Port(only.Name, only.Protocol, only.Port ?? -1));
        else if (s.Ports is { Count: > 0 } sp)
        {
            var b = ImmutableArray.CreateBuilder<ServicePortInfo>(sp.Count);
            foreach (var p in sp) if (p is not null) b.Add(Interner.Port(p.Name, p.Protocol, p.Port ?? -1));
            ports = b.Count > 0 ? b.ToImmutable() : ServicePortInfo.SentinelOnly;
        }
        else ports = ServicePortInfo.SentinelOnly;

        ImmutableArray<EndpointInfo> endpoints = [];
        if (s.Endpoints is { Count: > 0 } eps)
        {
            var b = ImmutableArray.CreateBuilder<EndpointInfo>(eps.Count);
            foreach (var e in eps)
            {
                if (e is null) continue;
                var target = e.TargetRef?.Name;
                b.Add(new EndpointInfo(
                    e.Addresses is { Count: > 0 } a ? NonNull(a) : [],
                    e.Hostname,
                    target is { Length: <= 63 } ? target : null,   // longer names cannot be a DNS label (docs/kubernetes-dns.md §1)
                    Interner.InternOrNull(e.NodeName),
                    e.Conditions?.Ready ?? true,
                    Interner.InternOrNull(e.Zone)));
            }

            endpoints = b.ToImmutable();
        }

        DateTimeOffset? trigger = null;
        if (meta.Annotations is { } ann && ann.TryGetValue(LastChangeTriggerTimeAnnotation, out var t)
            && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            trigger = parsed;

        return new EndpointSliceInfo(Interner.Intern(meta.NamespaceProperty ?? ""), meta.Name, serviceName, ports, endpoints, trigger);
    }

    private static ImmutableArray<string> NonNull(IList<string> items)
    {
        var b = ImmutableArray.CreateBuilder<string>(items.Count);
        foreach (var item in items) if (item is not null) b.Add(item);
        return b.ToImmutable();
    }

    /// <summary>MCS: the label naming a multicluster slice's ServiceImport, and the one naming its source cluster.</summary>
    public const string McsServiceNameLabel = "multicluster.kubernetes.io/service-name";
    public const string McsSourceClusterLabel = "multicluster.kubernetes.io/source-cluster";

    public static ServiceImportInfo? ToServiceImport(V1Alpha1ServiceImport s)
    {
        var meta = s.Metadata;
        if (meta?.Name is null) return null;
        var spec = s.Spec;
        var type = spec?.Type == "Headless" ? ServiceImportType.Headless : ServiceImportType.ClusterSetIP;
        ImmutableArray<string> ips = spec?.Ips is { Count: > 0 } list ? NonNull(list) : [];
        ImmutableArray<ServicePortInfo> ports = ServicePortInfo.SentinelOnly;
        if (spec?.Ports is { Count: > 0 } sp)
        {
            var b = ImmutableArray.CreateBuilder<ServicePortInfo>(sp.Count);
            foreach (var p in sp) if (p is not null) b.Add(Interner.Port(p.Name, p.Protocol, p.Port));
            if (b.Count > 0) ports = b.ToImmutable();
        }
        return new ServiceImportInfo(Interner.Intern(meta.NamespaceProperty ?? ""), meta.Name, type, ips, ports);
    }

    /// <summary>A slice labelled <see cref="McsServiceNameLabel"/> as endpoints of that ServiceImport; null otherwise.</summary>
    public static McsSliceInfo? ToMcsSlice(V1EndpointSlice s)
    {
        if (s.Metadata?.Labels is not { } labels || !labels.TryGetValue(McsServiceNameLabel, out var service) || service is null
            || ToSlice(s) is not { } slice)
        {
            return null;
        }
        var cluster = labels.TryGetValue(McsSourceClusterLabel, out var c) && c is not null ? Interner.Intern(c) : "";
        return new McsSliceInfo(slice with { ServiceName = service }, cluster);
    }

    public static PodInfo? ToPod(V1Pod p) =>
        p.Metadata?.Name is null ? null : new PodInfo(Interner.Intern(p.Metadata.NamespaceProperty ?? ""), p.Metadata.Name, p.Status?.PodIP ?? "");

    public static string? ToNamespace(V1Namespace n) => n.Metadata?.Name is { } name ? Interner.Intern(name) : null;
}

/// <summary>docs/kubernetes-dns.md §8.4: which changes move the SOA serial.</summary>
public static class SerialRules
{
    public static bool ServiceChanged(ServiceInfo? a, ServiceInfo? b)
    {
        if (a is null || b is null) return a != b;
        return a.ExternalName != b.ExternalName || !Seq.Equal(a.Ports, b.Ports);
    }

    public static bool SliceChanged(EndpointSliceInfo? a, EndpointSliceInfo? b, bool zonal = false)
    {
        if (a is null || b is null) return a != b;
        if (!Seq.Equal(a.Ports, b.Ports)) return true;
        // Compare only what DNS shows: ready endpoints' addresses, hostnames (and zones with `zonal`), in order.
        int i = 0, j = 0;
        var ea = a.Endpoints;
        var eb = b.Endpoints;
        while (true)
        {
            while (i < ea.Length && !ea[i].Ready) i++;
            while (j < eb.Length && !eb[j].Ready) j++;
            if (i == ea.Length || j == eb.Length) return i != ea.Length || j != eb.Length;
            var x = ea[i++];
            var y = eb[j++];
            if (x.Hostname != y.Hostname || !Seq.Equal(x.Addresses, y.Addresses) || (zonal && x.Zone != y.Zone)) return true;
        }
    }

    /// <summary>Multicluster objects: any change moves the serial (they are small and rare).</summary>
    public static bool ImportChanged<T>(T? a, T? b) where T : class => !Equals(a, b);

    public static bool PodChanged(PodInfo? a, PodInfo? b)
    {
        if (a is null || b is null) return a != b;
        return a.PodIP != b.PodIP;
    }
}
