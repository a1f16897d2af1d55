using System.Net.Sockets;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// The records of a zone transfer (CoreDNS's xfr.go) from one index: SOA, the name servers with their glue,
/// then every exposed service sorted by name and namespace (addresses, endpoint names, SRV per port), then the SOA
/// again. Which zones may be transferred is the resolver's decision (<see cref="KubernetesResolver.Transfer"/>).
/// </summary>
internal static class KubernetesZoneTransfer
{
    /// <summary>The AXFR stream for <paramref name="apex"/>; an IXFR carrying <paramref name="soa"/>'s serial gets the SOA alone.</summary>
    public static List<DnsRecord> Records(KubernetesIndex index, DnsName apex, SoaRecord soa, uint ttl, uint? ixfrSerial)
    {
        var records = new List<DnsRecord> { soa };
        if (ixfrSerial is { } serial && serial == soa.Serial)
        {
            return records;
        }

        var glue = new List<DnsRecord>();
        foreach (var entry in index.NameServers)
        {
            if (IndexKeys.Target(null, entry.RelativeWire, apex) is not { } name)
            {
                continue;
            }
            if (!records.Exists(r => r is NsRecord ns && ns.Target == name))
            {
                records.Add(new NsRecord(name) { Name = apex, Ttl = ttl });
            }
            // [Q14] (docs/kubernetes-dns.md) name-server glue is sent with TTL 0.
            glue.Add(entry.Address.AddressFamily == AddressFamily.InterNetwork
                ? new ARecord(entry.Address) { Name = name, Ttl = 0 }
                : new AaaaRecord(entry.Address) { Name = name, Ttl = 0 });
        }
        records.AddRange(glue);

        var services = new List<ServiceEntry>();
        foreach (var service in index.Services)
        {
            if (index.IsNamespaceExposed(service.Namespace))
            {
                services.Add(service);
            }
        }
        services.Sort(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Namespace, b.Namespace);
        });
        foreach (var service in services)
        {
            AddService(service, apex, ttl, records);
        }
        records.Add(soa);
        return records;
    }

    private static void AddService(ServiceEntry service, DnsName apex, uint ttl, List<DnsRecord> records)
    {
        if (IndexKeys.Target(null, service.RelativeWire, apex) is not { } owner)
        {
            return;
        }
        switch (service.Kind)
        {
            case ServiceKind.ExternalName:
                if (service.ExternalTarget is { } target)
                {
                    records.Add(new CnameRecord(target) { Name = owner, Ttl = ttl });
                }
                break;
            case ServiceKind.Headless:
                foreach (var slice in service.Slices)
                {
                    if (slice.Endpoints.Length == 0)
                    {
                        continue;
                    }
                    var weight = (ushort)(100 / slice.Endpoints.Length);
                    foreach (var ep in slice.Endpoints)
                    {
                        if (IndexKeys.Target(ep.Label, service.RelativeWire, apex) is not { } host)
                        {
                            continue;
                        }
                        records.Add(KubernetesResolver.AddressRecord(owner, ep.Address, ttl));
                        records.Add(KubernetesResolver.AddressRecord(host, ep.Address, ttl));
                        foreach (var port in slice.Ports)
                        {
                            if (port.Port >= 0 && port.Name.Length > 0 && PortOwner(port, owner) is { } srvOwner)
                            {
                                records.Add(new SrvRecord(0, weight, (ushort)port.Port, host) { Name = srvOwner, Ttl = ttl });
                            }
                        }
                    }
                }
                break;
            default:
                if (service.ClusterIps.Length == 0)
                {
                    break;
                }
                foreach (var ip in service.ClusterIps)
                {
                    records.Add(KubernetesResolver.AddressRecord(owner, ip, ttl));
                }
                foreach (var port in service.Ports)
                {
                    if (port.Port < 0)
                    {
                        continue; // [DEV3] (docs/kubernetes-dns.md) no "SRV ... 65535" for a port-less service
                    }
                    records.Add(new SrvRecord(0, 100, (ushort)port.Port, owner) { Name = owner, Ttl = ttl });
                    if (port.Name.Length > 0 && PortOwner(port, owner) is { } srvOwner)
                    {
                        records.Add(new SrvRecord(0, 100, (ushort)port.Port, owner) { Name = srvOwner, Ttl = ttl });
                    }
                }
                break;
        }
    }

    /// <summary><c>_name._proto.owner</c>, lower-case; null if it would be too long or not a valid name.</summary>
    private static DnsName? PortOwner(ServicePortInfo port, DnsName owner) =>
        DnsName.TryParse("_" + port.Name.ToLowerInvariant() + "._" + port.Protocol.ToLowerInvariant() + "." + owner, out var name) ? name : null;
}
