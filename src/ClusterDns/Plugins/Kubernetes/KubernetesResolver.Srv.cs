using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>SRV: one record per matching port and address, targets with their addresses in the additional section.</summary>
public sealed partial class KubernetesResolver
{
    private bool Srv(ref KubernetesName q, DnsName qname, List<DnsRecord> answer, List<DnsRecord> additional, ref CacheDependencies dependencies)
    {
        var items = Items();
        if (!Lookup(ref q, items, ref dependencies))
        {
            return false;
        }
        var count = 0;
        foreach (var item in items)
        {
            if (item.Kind != ItemKind.Name)
            {
                count++;
            }
        }
        if (count == 0)
        {
            return true;
        }
        var weight = (ushort)Math.Max(1, 100 / count); // [Q6] (docs/kubernetes-dns.md) pre-dedup count, priority 0
        DnsName? zw = null;
        Span<byte> wire = stackalloc byte[DnsName.MaxWireLength];
        foreach (var item in items)
        {
            if (item.Kind == ItemKind.Name || item.Port < 0)
            {
                continue;
            }
            zw ??= q.ZoneAsWritten();
            var length = item.Kind switch
            {
                ItemKind.Service => Concat(wire, [], item.Service!.RelativeWire, zw.Wire),
                ItemKind.Endpoint => Concat(wire, item.Endpoint!.Label, item.Service!.RelativeWire, zw.Wire),
                _ => Concat(wire, [], q.Lower[q.LabelOffset(q.BaseCount - 3)..q.ZoneOffset], zw.Wire),
            };
            if (length < 0)
            {
                continue;
            }
            var target = Existing(answer, additional, wire[..length]) ?? DnsName.FromValidatedWire(wire[..length]);
            var port = (ushort)item.Port;
            if (!HasSrv(answer, target, port))
            {
                answer.Add(new SrvRecord(0, weight, port, target) { Name = qname, Ttl = _ttl });
            }
            if (!HasAddress(additional, target, item.Address!))
            {
                additional.Add(AddressRecord(target, item.Address!));
            }
        }
        return true;
    }

    private static int Concat(Span<byte> wire, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> zone)
    {
        var length = a.Length + b.Length + zone.Length;
        if (length > DnsName.MaxWireLength)
        {
            return -1;
        }
        a.CopyTo(wire);
        b.CopyTo(wire[a.Length..]);
        zone.CopyTo(wire[(a.Length + b.Length)..]);
        return length;
    }

    /// <summary>Reuses a target name already emitted in this answer instead of allocating it again.</summary>
    private static DnsName? Existing(List<DnsRecord> answer, List<DnsRecord> additional, ReadOnlySpan<byte> wire)
    {
        foreach (var r in answer)
        {
            if (r is SrvRecord srv && srv.Target.Wire.SequenceEqual(wire))
            {
                return srv.Target;
            }
        }
        foreach (var r in additional)
        {
            if (r.Name.Wire.SequenceEqual(wire))
            {
                return r.Name;
            }
        }
        return null;
    }

    private static bool HasSrv(List<DnsRecord> answer, DnsName target, ushort port)
    {
        foreach (var r in answer)
        {
            if (r is SrvRecord srv && srv.Port == port && ReferenceEquals(srv.Target, target))
            {
                return true;
            }
        }
        return false;
    }
}
