using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>A and AAAA: service, endpoint and pod addresses, and the CNAME chase of ExternalName services.</summary>
public sealed partial class KubernetesResolver
{
    private bool Addresses(ref KubernetesName q, DnsName owner, DnsType type, int depth, List<DnsRecord> answer, ref DnsName? upstream,
        ref CacheDependencies dependencies)
    {
        if (q.BaseCount == 0)
        {
            return true; // apex: NODATA
        }
        var items = Items();
        if (!Lookup(ref q, items, ref dependencies))
        {
            return false;
        }
        DnsName? cname = null;
        var family = type == DnsType.A ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        foreach (var item in items)
        {
            if (item.Kind == ItemKind.Name)
            {
                cname ??= item.Target;
            }
            else if (item.Address!.AddressFamily == family && !HasAddress(answer, owner, item.Address))
            {
                answer.Add(AddressRecord(owner, item.Address));
            }
        }
        if (cname is not null)
        {
            Chase(owner, cname, q.ZoneIndex, type, depth, answer, ref upstream, ref dependencies);
        }
        return true;
    }

    private void Chase(DnsName owner, DnsName target, int zone, DnsType type, int depth, List<DnsRecord> answer, ref DnsName? upstream,
        ref CacheDependencies dependencies)
    {
        if (target.IsSubdomainOf(owner) || depth >= MaxChain)
        {
            return;
        }
        var cname = new CnameRecord(target) { Name = owner, Ttl = _ttl };
        if (!target.IsSubdomainOf(_zones.Name(zone)))
        {
            answer.Add(cname);
            upstream = target;
            return;
        }
        // [Q9] (docs/kubernetes-dns.md) In-zone target: the CNAME appears only when the target yields records.
        var chased = new List<DnsRecord>();
        Span<byte> lower = stackalloc byte[target.WireLength];
        Span<int> offsets = stackalloc int[KubernetesName.MaxLabels];
        var tq = new KubernetesName(target.Wire, lower, offsets, _zones.LabelCount(zone), zone);
        if (tq.IsNsDns())
        {
            NameServerAddresses(ref tq, target, type, chased);
        }
        else
        {
            Addresses(ref tq, target, type, depth + 1, chased, ref upstream, ref dependencies);
        }
        if (chased.Count > 0)
        {
            answer.Add(cname);
            answer.AddRange(chased);
        }
    }

    private DnsRecord AddressRecord(DnsName owner, IPAddress address) => AddressRecord(owner, address, _ttl);

    /// <summary>An A or AAAA record for <paramref name="address"/>.</summary>
    internal static DnsRecord AddressRecord(DnsName owner, IPAddress address, uint ttl) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? new ARecord(address) { Name = owner, Ttl = ttl }
            : new AaaaRecord(address) { Name = owner, Ttl = ttl };

    private static bool HasAddress(List<DnsRecord> records, DnsName owner, IPAddress address)
    {
        foreach (var r in records)
        {
            var a = r switch
            {
                ARecord x => x.Address,
                AaaaRecord x => x.Address,
                _ => null,
            };
            if (a is not null && a.Equals(address) && r.Name.Equals(owner))
            {
                return true;
            }
        }
        return false;
    }
}
