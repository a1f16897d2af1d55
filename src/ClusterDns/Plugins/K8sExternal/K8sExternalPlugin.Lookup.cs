using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.K8sExternal;

/// <summary>What a name under a k8s_external zone denotes (CoreDNS's kubernetes External/ExternalReverse/nsAddrs),
/// and the records built from it (CoreDNS's msg_to_dns.go).</summary>
public sealed partial class K8sExternalPlugin
{
    /// <summary>One answer source: an external address (IP, or a load balancer's hostname when
    /// <see cref="Ip"/> is null) with a port, or (headless) an endpoint address named <see cref="Endpoint"/>.
    /// For PTR, <see cref="Host"/> is <c>svc.ns</c>.</summary>
    private readonly record struct ExternalItem(string Host, IPAddress? Ip, int Port, string? Endpoint, string Service, string Namespace);

    private (List<ExternalItem> Items, DnsRcode Rcode) Lookup(KubernetesPlugin kubernetes, DnsRequest request, DnsName zone)
    {
        var items = new List<ExternalItem>();
        var state = kubernetes.State;
        var index = kubernetes.Resolver.Index;
        var name = request.Name;
        if (request.Type == DnsType.PTR && TryReverse(name, out var reverse))
        {
            var restricted = kubernetes.Options.Namespaces.Count > 0;
            foreach (var svc in state.Services)
            {
                if (restricted && !index.IsNamespaceExposed(svc.Namespace))
                {
                    continue;
                }
                foreach (var external in svc.ExternalAddresses)
                {
                    if (IPAddress.TryParse(external, out var ip) && ip.Equals(reverse))
                    {
                        items.Add(new ExternalItem(svc.Name + "." + svc.Namespace, null, 0, null, svc.Name, svc.Namespace));
                    }
                }
            }
            return (items, items.Count == 0 ? DnsRcode.NXDomain : DnsRcode.NoError);
        }

        // name = <base>.<zone>; base labels, right to left: namespace, service, then an endpoint or port + protocol.
        var zoneText = zone.ToString();
        var baseText = name.Length > zoneText.Length ? name[..(name.Length - zoneText.Length - 1)] : "";
        var segs = baseText.Split('.');
        var ns = segs[^1];
        if (!index.IsNamespaceExposed(ns))
        {
            return (items, DnsRcode.NXDomain);
        }
        if (segs.Length == 1)
        {
            return (items, DnsRcode.NoError);
        }
        string endpoint = "", port = "", protocol = "";
        switch (segs.Length - 2)
        {
            case 0:
                break;
            case 1:
                endpoint = StripUnderscore(segs[0]);
                break;
            case 2:
                port = StripUnderscore(segs[0]);
                protocol = StripUnderscore(segs[1]);
                break;
            default:
                return (items, DnsRcode.NXDomain); // too long
        }
        var service = state.GetService(ns, segs[^2]);
        if (service is null)
        {
            return (items, DnsRcode.NXDomain);
        }

        var rcode = DnsRcode.NXDomain;
        if (_options.Headless && service.ExternalAddresses.IsDefaultOrEmpty && (service.Kind == ServiceKind.Headless || endpoint.Length > 0))
        {
            foreach (var slice in state.GetSlices(ns, service.Name))
            {
                foreach (var ep in slice.Endpoints)
                {
                    if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty)
                    {
                        continue;
                    }
                    foreach (var address in ep.Addresses)
                    {
                        var hostname = KubernetesIndex.EndpointName(ep, address, kubernetes.Options.EndpointPodNames);
                        if (endpoint.Length > 0 && !endpoint.Equals(hostname, StringComparison.OrdinalIgnoreCase))
                        {
                            continue;
                        }
                        foreach (var p in slice.Ports)
                        {
                            if (PortMatches(port, p.Name, protocol, p.Protocol))
                            {
                                rcode = DnsRcode.NoError;
                                IPAddress.TryParse(address, out var ip);
                                items.Add(new ExternalItem(address, ip, p.Port, hostname, service.Name, ns));
                            }
                        }
                    }
                }
            }
        }
        else
        {
            foreach (var external in service.ExternalAddresses)
            {
                foreach (var p in service.Ports)
                {
                    if (PortMatches(port, p.Name, protocol, p.Protocol))
                    {
                        rcode = DnsRcode.NoError;
                        IPAddress.TryParse(external, out var ip);
                        items.Add(new ExternalItem(external, ip, p.Port, null, service.Name, ns));
                    }
                }
            }
        }
        if (request.Type == DnsType.PTR)
        {
            items.Clear(); // a forward-shaped PTR question: only the rcode (NXDOMAIN or NODATA) counts
        }
        return (items, rcode);
    }

    private static bool PortMatches(string port, string name, string protocol, string proto) =>
        (port.Length == 0 || port.Equals(name, StringComparison.OrdinalIgnoreCase))
        && (protocol.Length == 0 || protocol.Equals(proto, StringComparison.OrdinalIgnoreCase));

    private static string StripUnderscore(string label) => label.StartsWith('_') ? label[1..] : label;

    /// <summary><c>d.c.b.a.in-addr.arpa.</c> or a full nibble <c>….ip6.arpa.</c> name as an address.</summary>
    private static bool TryReverse(string name, out IPAddress? address)
    {
        address = null;
        const string v4 = ".in-addr.arpa.", v6 = ".ip6.arpa.";
        if (name.EndsWith(v4, StringComparison.Ordinal))
        {
            var parts = name[..^v4.Length].Split('.');
            if (parts.Length != 4)
            {
                return false;
            }
            Array.Reverse(parts);
            return IPAddress.TryParse(string.Join('.', parts), out address) && address.AddressFamily == AddressFamily.InterNetwork;
        }
        if (name.EndsWith(v6, StringComparison.Ordinal))
        {
            var nibbles = name[..^v6.Length].Split('.');
            if (nibbles.Length != 32)
            {
                return false;
            }
            var text = new StringBuilder(39);
            for (var i = 31; i >= 0; i--)
            {
                if (nibbles[i].Length != 1)
                {
                    return false;
                }
                text.Append(nibbles[i]);
                if (i % 4 == 0 && i > 0)
                {
                    text.Append(':');
                }
            }
            return IPAddress.TryParse(text.ToString(), out address) && address.AddressFamily == AddressFamily.InterNetworkV6;
        }
        return false;
    }

    private void Addresses(List<ExternalItem> items, DnsName qname, DnsType type, List<DnsRecord> answer)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var family = type == DnsType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        foreach (var item in items)
        {
            if (item.Ip is null)
            {
                // A load balancer hostname: CNAME to it (the target is not chased here).
                if (DnsName.TryParse(item.Host.EndsWith('.') ? item.Host : item.Host + ".", out var target) && seen.Add(item.Host))
                {
                    answer.Add(new CnameRecord(target) { Name = qname, Ttl = _options.Ttl });
                }
                continue;
            }
            if (item.Ip.AddressFamily == family && seen.Add(item.Host))
            {
                answer.Add(Address(qname, item.Ip));
            }
        }
    }

    private void Srv(List<ExternalItem> items, DnsName qname, List<DnsRecord> answer, List<DnsRecord> additional)
    {
        var weight = (ushort)Math.Max(1, 100 / items.Count);
        var srvSeen = new HashSet<(string, int)>();
        var addressSeen = new HashSet<(string, string)>();
        foreach (var item in items)
        {
            if (item.Port == -1)
            {
                continue; // a service without ports
            }
            var targetText = (item.Ip is not null && item.Endpoint is not null ? item.Endpoint + "." : "")
                + item.Service + "." + item.Namespace + "." + ZoneOf(qname);
            if (!DnsName.TryParse(targetText, out var target))
            {
                continue;
            }
            if (srvSeen.Add((targetText, item.Port)))
            {
                answer.Add(new SrvRecord(0, weight, (ushort)item.Port, target) { Name = qname, Ttl = _options.Ttl });
            }
            if (item.Ip is not null && addressSeen.Add((targetText, item.Host)))
            {
                additional.Add(Address(target, item.Ip));
            }
        }
    }

    private void Ptr(List<ExternalItem> items, DnsName qname, List<DnsRecord> answer)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (seen.Add(item.Host) && DnsName.TryParse(item.Host + "." + _options.Zones[0], out var target))
            {
                answer.Add(new PtrRecord(target) { Name = qname, Ttl = _options.Ttl });
            }
        }
    }

    /// <summary>The configured zone (lower case) containing <paramref name="qname"/>: SRV targets are built under it.</summary>
    private string ZoneOf(DnsName qname)
    {
        var zone = _zones.Match(qname.Wire);
        return _zones[zone < 0 ? 0 : zone];
    }

    /// <summary>CoreDNS's nsAddrs(external): the external addresses of the services whose endpoints are this server's
    /// addresses (with <c>headless</c>, a headless service's endpoint addresses); none matched: the bound addresses.</summary>
    private List<IPAddress> NameServerAddresses(KubernetesPlugin kubernetes)
    {
        var state = kubernetes.State;
        var addresses = new List<IPAddress>();
        var found = false;
        foreach (var local in kubernetes.LocalAddresses)
        {
            foreach (var slice in state.GetSlicesByReadyAddress(local.ToString()))
            {
                found = true;
                if (state.GetService(slice.Namespace, slice.ServiceName) is not { } svc)
                {
                    continue;
                }
                if (_options.Headless && svc.Kind == ServiceKind.Headless)
                {
                    foreach (var ep in slice.Endpoints)
                    {
                        if (ep.Ready && !ep.Addresses.IsDefaultOrEmpty)
                        {
                            foreach (var a in ep.Addresses)
                            {
                                AddParsed(addresses, a);
                            }
                        }
                    }
                    continue;
                }
                foreach (var external in svc.ExternalAddresses)
                {
                    AddParsed(addresses, external);
                }
            }
        }
        if (!found)
        {
            foreach (var local in kubernetes.LocalAddresses)
            {
                if (!addresses.Contains(local))
                {
                    addresses.Add(local);
                }
            }
        }
        return addresses;
    }

    private static void AddParsed(List<IPAddress> addresses, string text)
    {
        if (IPAddress.TryParse(text, out var ip) && !addresses.Contains(ip))
        {
            addresses.Add(ip);
        }
    }
}
