using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>NS at the apex and the addresses of <c>ns.dns</c> (CoreDNS's ns.go).</summary>
public sealed partial class KubernetesResolver
{
    private void ApexNs(ref KubernetesName q, List<DnsRecord> answer, List<DnsRecord> additional)
    {
        var zw = q.ZoneAsWritten();
        foreach (var entry in _index.NameServers)
        {
            var name = FindNsTarget(answer, entry.RelativeWire, zw);
            if (name is null)
            {
                name = IndexKeys.Target(null, entry.RelativeWire, zw);
                if (name is null)
                {
                    continue;
                }
                answer.Add(new NsRecord(name) { Name = zw, Ttl = _ttl });
            }
            additional.Add(AddressRecord(name, entry.Address));
        }
    }

    private static DnsName? FindNsTarget(List<DnsRecord> answer, byte[] relative, DnsName zw)
    {
        foreach (var r in answer)
        {
            if (r is NsRecord ns && ns.Target.WireLength == relative.Length + zw.WireLength && ns.Target.Wire.StartsWith(relative))
            {
                return ns.Target;
            }
        }
        return null;
    }

    private void NameServerAddresses(ref KubernetesName q, DnsName owner, DnsType type, List<DnsRecord> answer)
    {
        var family = type == DnsType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        foreach (var entry in _index.NameServers)
        {
            if (entry.Address.AddressFamily == family && !HasAddress(answer, owner, entry.Address))
            {
                answer.Add(AddressRecord(owner, entry.Address));
            }
        }
    }
}
