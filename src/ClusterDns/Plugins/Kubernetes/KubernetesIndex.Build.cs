using System.Collections.Immutable;
using System.Net;
using System.Runtime.InteropServices;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>Building the index: the full build, and the per-service, per-address and name-server entries that
/// <see cref="Apply"/> recomputes for what a change touched.</summary>
internal sealed partial class KubernetesIndex
{
    private static readonly ServicePortInfo[] SentinelPorts = [ServicePortInfo.Sentinel];
    private static readonly byte[] NsDnsWire = [2, (byte)'n', (byte)'s', 3, (byte)'d', (byte)'n', (byte)'s'];
    private static readonly DnsName[] NoNames = [];

    public static KubernetesIndex Build(ClusterState state, KubernetesOptions options, IReadOnlyList<IPAddress> localAddresses) =>
        Build(new Context(options, localAddresses), state);

    private static KubernetesIndex Build(Context context, ClusterState state)
    {
        var services = HashTrie<ServiceEntry>.Empty;
        foreach (var service in state.Services)
        {
            services = services.Set(BuildService(state, service, context.Options));
        }

        // PTR entries are computed per address from the state's address indexes, exactly as Apply recomputes them.
        var ptr = HashTrie<PtrEntry>.Empty;
        foreach (var service in state.Services)
        {
            if (!context.PtrAllowed(service.Namespace))
            {
                continue; // PTR honours only the namespaces list [Q10] (docs/kubernetes-dns.md)
            }
            foreach (var ip in service.ClusterIPs)
            {
                ptr = RefreshPtr(context, state, services, ptr, ip, out _);
            }
            foreach (var slice in state.GetSlices(service.Namespace, service.Name))
            {
                foreach (var ep in slice.Endpoints)
                {
                    if (ep.Ready && !ep.Addresses.IsDefaultOrEmpty)
                    {
                        foreach (var address in ep.Addresses)
                        {
                            ptr = RefreshPtr(context, state, services, ptr, address, out _);
                        }
                    }
                }
            }
        }

        var pods = HashTrie<PodIpEntry>.Empty;
        if (context.Options.PodMode == PodMode.Verified)
        {
            foreach (var pod in state.Pods)
            {
                pods = RefreshPod(state, pods, pod.PodIP);
            }
        }

        return new KubernetesIndex(context, state, BuildNamespaces(state, context.Options), services, ptr, pods,
            BuildNameServers(context, state, services), new IndexGeneration(), new object(), BuildImports(state, context.Options));
    }

    private static HashSet<string> BuildNamespaces(ClusterState state, KubernetesOptions options)
    {
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in state.Namespaces.Keys)
        {
            if (options.Namespaces.Count == 0 || options.Namespaces.Contains(ns))
            {
                namespaces.Add(ns);
            }
        }
        return namespaces;
    }

    private static HashTrie<PtrEntry> RefreshPtr(Context context, ClusterState state, HashTrie<ServiceEntry> services,
        HashTrie<PtrEntry> ptr, string address, out PtrEntry? replaced) =>
        RefreshPtr(context, state, services, ptr, address, out replaced, out _);

    /// <summary>
    /// Recomputes the PTR entry of one address (docs/kubernetes-dns.md §5.7) from the state's address indexes: the first ClusterIP
    /// service holding it, else the endpoint names of every ready address equal to it. Unchanged content keeps the
    /// existing entry; <paramref name="keyChanged"/> says whether the address gained or lost its entry.
    /// </summary>
    private static HashTrie<PtrEntry> RefreshPtr(Context context, ClusterState state, HashTrie<ServiceEntry> services,
        HashTrie<PtrEntry> ptr, string address, out PtrEntry? replaced, out bool keyChanged)
    {
        replaced = null;
        keyChanged = false;
        if (!IPAddress.TryParse(address, out var ip))
        {
            return ptr;
        }
        var key = IndexKeys.ToKey(ip);
        byte[]? service = null;
        foreach (var info in state.GetServicesByClusterIp(address))
        {
            if (context.PtrAllowed(info.Namespace) && Find(services, info.Name, info.Namespace) is { Kind: ServiceKind.ClusterIP } entry
                && Array.IndexOf(entry.ClusterIps, ip) >= 0)
            {
                service = entry.RelativeWire.Length + context.Primary.WireLength <= DnsName.MaxWireLength ? entry.RelativeWire : null;
                break;
            }
        }
        List<DnsName>? endpoints = null;
        if (service is null && !context.Options.NoEndpoints)
        {
            foreach (var slice in state.GetSlicesByReadyAddress(address))
            {
                if (!context.PtrAllowed(slice.Namespace) || Find(services, slice.ServiceName, slice.Namespace) is not { } entry
                    || entry.Kind == ServiceKind.ExternalName)
                {
                    continue;
                }
                foreach (var ep in slice.Endpoints)
                {
                    if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty || !ep.Addresses.Contains(address))
                    {
                        continue;
                    }
                    var label = IndexKeys.ToLabel(EndpointName(ep, address, context.Options.EndpointPodNames));
                    if (IndexKeys.Target(label, entry.RelativeWire, context.Primary) is { } target && (endpoints is null || !endpoints.Contains(target)))
                    {
                        (endpoints ??= []).Add(target);
                    }
                }
            }
        }

        var existing = FindPtr(ptr, key);
        if (service is null && endpoints is null)
        {
            if (existing is null)
            {
                return ptr;
            }
            replaced = existing;
            keyChanged = true;
            return ptr.Remove(existing);
        }
        var fresh = new PtrEntry(key, service, endpoints is null ? NoNames : [.. endpoints]);
        if (existing is not null && existing.SameContent(fresh))
        {
            return ptr;
        }
        replaced = existing;
        keyChanged = existing is null;
        return ptr.Set(fresh);
    }

    /// <summary>Recomputes which namespaces have a pod at <paramref name="address"/>.</summary>
    private static HashTrie<PodIpEntry> RefreshPod(ClusterState state, HashTrie<PodIpEntry> pods, string address)
    {
        if (address.Length == 0 || !IPAddress.TryParse(address, out var ip))
        {
            return pods;
        }
        var key = IndexKeys.ToKey(ip);
        string? first = null;
        List<string>? more = null;
        foreach (var pod in state.GetPodsByIp(address))
        {
            if (first is null)
            {
                first = pod.Namespace;
            }
            else if (pod.Namespace != first && (more is null || !more.Contains(pod.Namespace)))
            {
                (more ??= []).Add(pod.Namespace);
            }
        }
        var probe = new PodIpEntry(key, first ?? "", more is null ? null : [.. more]);
        return first is null ? pods.Remove(probe) : pods.Set(probe);
    }

    private static ServiceEntry BuildService(ClusterState state, ServiceInfo s, KubernetesOptions options)
    {
        var ips = s.Kind == ServiceKind.ClusterIP ? IndexKeys.ParseAddresses(s.ClusterIPs) : [];

        SliceEntry[] slices = [];
        var ready = 0;
        if (!options.NoEndpoints && s.Kind != ServiceKind.ExternalName)
        {
            var found = state.GetSlices(s.Namespace, s.Name);
            if (found.Count > 0)
            {
                slices = new SliceEntry[found.Count];
                for (var i = 0; i < found.Count; i++)
                {
                    var slice = found[i];
                    var endpoints = new List<EndpointEntry>(slice.Endpoints.IsDefault ? 0 : slice.Endpoints.Length);
                    foreach (var ep in slice.Endpoints)
                    {
                        if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty)
                        {
                            continue;
                        }
                        foreach (var address in ep.Addresses)
                        {
                            if (IPAddress.TryParse(address, out var ip))
                            {
                                endpoints.Add(new EndpointEntry(ip, EndpointName(ep, address, options.EndpointPodNames)));
                            }
                        }
                    }
                    ready += endpoints.Count;
                    slices[i] = new SliceEntry(Ports(slice.Ports), [.. endpoints]);
                }
            }
        }

        DnsName? external = null;
        if (s.Kind == ServiceKind.ExternalName && !string.IsNullOrEmpty(s.ExternalName) && !IPAddress.TryParse(s.ExternalName, out _))
        {
            var fqdn = s.ExternalName.EndsWith('.') ? s.ExternalName : s.ExternalName + ".";
            DnsName.TryParse(fqdn, out external);
        }

        return new ServiceEntry
        {
            Namespace = s.Namespace,
            Name = s.Name,
            Kind = s.Kind,
            ClusterIps = ips,
            Ports = Ports(s.Ports),
            ExternalTarget = external,
            Slices = slices,
            ReadyCount = ready,
            RelativeWire = IndexKeys.ServiceRelativeWire(s.Name, s.Namespace),
            Hash = IndexKeys.KeyHash(s.Name, s.Namespace),
        };
    }

    // Shares the model's array: both are immutable, so no per-service copy is needed.
    private static ServicePortInfo[] Ports(ImmutableArray<ServicePortInfo> ports) =>
        ports.IsDefaultOrEmpty ? SentinelPorts : ImmutableCollectionsMarshal.AsArray(ports)!;

    /// <summary>EN(EA), docs/kubernetes-dns.md §1: hostname, then (endpoint_pod_names) the pod name, then the dashed address.</summary>
    internal static string EndpointName(EndpointInfo ep, string address, bool podNames)
    {
        if (!string.IsNullOrEmpty(ep.Hostname))
        {
            return ep.Hostname.ToLowerInvariant();
        }
        if (podNames && !string.IsNullOrEmpty(ep.TargetRefName) && ep.TargetRefName.Length <= DnsName.MaxLabelLength)
        {
            return ep.TargetRefName.ToLowerInvariant();
        }
        if (address.Contains(':'))
        {
            var dashed = address.Replace(':', '-').ToLowerInvariant();
            return dashed.EndsWith('-') ? dashed + "0" : dashed;
        }
        return address.Replace('.', '-');
    }

    private static HashSet<UInt128> LocalKeysOf(IReadOnlyList<IPAddress> localAddresses)
    {
        var keys = new HashSet<UInt128>();
        foreach (var address in localAddresses)
        {
            if (!IPAddress.IsLoopback(address))
            {
                keys.Add(IndexKeys.ToKey(address));
            }
        }
        return keys;
    }

    /// <summary>docs/kubernetes-dns.md §5.9, driven by the bound addresses: the slices holding one as a ready address give their
    /// service's ClusterIPs (or, headless, that slice's endpoints); none ⇒ <c>ns.dns</c> per bound address.</summary>
    private static NameServerEntry[] BuildNameServers(Context context, ClusterState state, HashTrie<ServiceEntry> services)
    {
        var entries = new List<NameServerEntry>();
        var options = context.Options;
        foreach (var local in context.LocalAddresses)
        {
            if (IPAddress.IsLoopback(local) || options.NoEndpoints)
            {
                continue;
            }
            foreach (var slice in state.GetSlicesByReadyAddress(local.ToString()))
            {
                if (Find(services, slice.ServiceName, slice.Namespace) is not { } service || service.Kind == ServiceKind.ExternalName)
                {
                    continue;
                }
                if (service.Kind == ServiceKind.Headless)
                {
                    foreach (var ep in slice.Endpoints)
                    {
                        if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty)
                        {
                            continue;
                        }
                        foreach (var address in ep.Addresses)
                        {
                            if (IPAddress.TryParse(address, out var ip))
                            {
                                var label = IndexKeys.ToLabel(EndpointName(ep, address, options.EndpointPodNames));
                                Add(entries, [.. label, .. service.RelativeWire], ip);
                            }
                        }
                    }
                }
                else
                {
                    foreach (var ip in service.ClusterIps)
                    {
                        Add(entries, service.RelativeWire, ip);
                    }
                }
            }
        }
        if (entries.Count == 0)
        {
            foreach (var address in context.LocalAddresses)
            {
                if (!IPAddress.IsLoopback(address))
                {
                    Add(entries, NsDnsWire, address);
                }
            }
        }
        return [.. entries];
    }

    private static void Add(List<NameServerEntry> entries, byte[] relative, IPAddress address)
    {
        foreach (var e in entries)
        {
            if (e.Address.Equals(address) && e.RelativeWire.AsSpan().SequenceEqual(relative))
            {
                return;
            }
        }
        entries.Add(new NameServerEntry(relative, address));
    }
}
