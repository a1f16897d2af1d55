using System.Net;
using System.Text;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>Which index objects a forward name denotes: the items (addresses with ports, or an ExternalName
/// target) every record type is then built from, and whether the name exists at all.</summary>
public sealed partial class KubernetesResolver
{
    private bool Lookup(ref KubernetesName q, List<Item> items, ref CacheDependencies dependencies)
    {
        switch (q.Kind)
        {
            case KubernetesNameKind.Apex:
            case KubernetesNameKind.Structural:
                return true;
            case KubernetesNameKind.Invalid:
            case KubernetesNameKind.NameServer:
                return false; // the label before the zone is neither svc nor pod, or too many labels
        }
        if (_zoneReverse[q.ZoneIndex])
        {
            return false; // forward-shaped name under a reverse zone
        }
        var ns = q.NamespaceLabel;
        Span<char> chars = stackalloc char[ns.Length];
        if (!KubernetesName.ToName(ns, chars) || !_index.IsNamespaceExposed(chars))
        {
            return false;
        }
        return q.IsPodBranch ? PodLookup(ref q, ns, items, ref dependencies) : ServiceLookup(ref q, ns, items, ref dependencies);
    }

    private bool ServiceLookup(ref KubernetesName q, ReadOnlySpan<byte> ns, List<Item> items, ref CacheDependencies dependencies)
    {
        if (q.Kind == KubernetesNameKind.Namespace)
        {
            return true; // <ns>.svc
        }
        var name = q.ObjectLabel;
        Span<char> key = stackalloc char[name.Length + 1 + ns.Length];
        if (!KubernetesName.ToName(name, key) || !KubernetesName.ToName(ns, key[(name.Length + 1)..]))
        {
            return false;
        }
        key[name.Length] = '.';
        // A multicluster zone answers from ServiceImports only (CoreDNS's findMultiClusterServices).
        var multicluster = _zoneMulticluster[q.ZoneIndex];
        var service = multicluster ? _index.FindImport(key) : _index.FindService(key);
        if (service is null)
        {
            return false;
        }
        dependencies.Add(service);

        ReadOnlySpan<byte> endpoint = default, port = default, protocol = default;
        var hasEndpoint = q.Kind == KubernetesNameKind.Endpoint;
        var hasPort = q.Kind == KubernetesNameKind.Port;
        if (multicluster)
        {
            if (hasEndpoint)
            {
                return false; // an endpoint name without a cluster id matches no multicluster endpoint
            }
            if (hasPort && q.Label(0)[0] != '_' && q.Label(1)[0] != '_')
            {
                // <EN>.<cluster id>.<svc>.<ns>.svc.<zone>: compared as the two wire labels the entry holds.
                endpoint = q.Lower[q.LabelOffset(0)..q.LabelOffset(2)];
                hasEndpoint = true;
                hasPort = false;
            }
        }
        else if (hasEndpoint)
        {
            endpoint = q.EndpointLabel;
        }
        if (hasPort)
        {
            port = q.PortLabel;
            protocol = q.ProtocolLabel;
        }

        if (_options.IgnoreEmptyService && !multicluster && service.Kind == ServiceKind.ClusterIP && service.ReadyCount == 0)
        {
            return false;
        }
        if (service.Kind == ServiceKind.ExternalName)
        {
            if (hasEndpoint || hasPort || service.ExternalTarget is null)
            {
                return false;
            }
            items.Add(new Item(ItemKind.Name, null, 0, service, null, service.ExternalTarget));
            return true;
        }

        var found = false;
        if (service.Kind == ServiceKind.Headless || hasEndpoint)
        {
            foreach (var slice in service.Slices)
            {
                foreach (var ep in slice.Endpoints)
                {
                    if (hasEndpoint && !endpoint.SequenceEqual(multicluster ? ep.Label : ep.NameBytes))
                    {
                        continue;
                    }
                    foreach (var p in slice.Ports)
                    {
                        if (PortMatches(p, port, protocol))
                        {
                            items.Add(new Item(ItemKind.Endpoint, ep.Address, p.Port, service, ep, null));
                            found = true;
                        }
                    }
                }
            }
            return found;
        }

        foreach (var p in service.Ports)
        {
            if (!PortMatches(p, port, protocol))
            {
                continue;
            }
            found = true;
            foreach (var ip in service.ClusterIps)
            {
                items.Add(new Item(ItemKind.Service, ip, p.Port, service, null, null));
            }
        }
        return found;
    }

    private bool PodLookup(ref KubernetesName q, ReadOnlySpan<byte> ns, List<Item> items, ref CacheDependencies dependencies)
    {
        dependencies.AddGeneration(); // pod answers follow the pod set (and its absence)
        if (_options.PodMode == PodMode.Disabled)
        {
            return false; // [Q11] (docs/kubernetes-dns.md) even <ns>.pod.<zone>
        }
        if (q.Kind == KubernetesNameKind.Namespace)
        {
            return true;
        }
        var ip = KubernetesName.DecodePodLabel(q.ObjectLabel);
        if (ip is null)
        {
            return false;
        }
        if (_options.PodMode == PodMode.Verified)
        {
            Span<char> chars = stackalloc char[ns.Length];
            KubernetesName.ToName(ns, chars);
            if (!_index.HasPod(IndexKeys.ToKey(ip), chars))
            {
                return false;
            }
        }
        items.Add(new Item(ItemKind.Pod, ip, 0, null, null, null));
        return true;
    }

    private static bool PortMatches(ServicePortInfo p, ReadOnlySpan<byte> port, ReadOnlySpan<byte> protocol) =>
        (port.IsEmpty || Ascii.EqualsIgnoreCase(port, p.Name)) && (protocol.IsEmpty || Ascii.EqualsIgnoreCase(protocol, p.Protocol));

    private enum ItemKind : byte
    {
        Service,
        Endpoint,
        Pod,
        Name,
    }

    /// <summary>ADDR(ip, port, key) or NAME(target) of docs/kubernetes-dns.md §4.</summary>
    private readonly record struct Item(ItemKind Kind, IPAddress? Address, int Port, ServiceEntry? Service, EndpointEntry? Endpoint, DnsName? Target);
}
