using System.Net;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>PTR under the reverse zones: the address a reverse name spells, and the service or endpoint names holding it (CoreDNS's reverse.go).</summary>
public sealed partial class KubernetesResolver
{
    private static bool TryReverseKey(ref KubernetesName q, out UInt128 key)
    {
        key = 0;
        var n = q.LabelCount;
        if (n == 6 && q.Label(4).SequenceEqual("in-addr"u8) && q.Label(5).SequenceEqual("arpa"u8))
        {
            Span<byte> v4 = stackalloc byte[4];
            for (var i = 0; i < 4; i++)
            {
                if (!KubernetesName.TryOctet(q.Label(i), out v4[3 - i]))
                {
                    return false;
                }
            }
            key = IndexKeys.ToKey(new IPAddress(v4));
            return true;
        }
        if (n == 34 && q.Label(32).SequenceEqual("ip6"u8) && q.Label(33).SequenceEqual("arpa"u8))
        {
            for (var i = 31; i >= 0; i--)
            {
                var label = q.Label(i);
                if (label.Length != 1 || !char.IsAsciiHexDigit((char)label[0]))
                {
                    return false;
                }
                key = (key << 4) | (uint)HexValue(label[0]);
            }
            return true;
        }
        return false;
    }

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private bool Ptr(UInt128 key, DnsName qname, List<DnsRecord> answer, ref CacheDependencies dependencies)
    {
        var entry = _index.FindPtr(key);
        if (entry is null)
        {
            return false;
        }
        dependencies.Add(entry);
        if (entry.ServiceRelative is { } relative)
        {
            answer.Add(new PtrRecord(IndexKeys.Target(null, relative, _index.PrimaryZone)!) { Name = qname, Ttl = _ttl });
            return true;
        }
        foreach (var target in entry.Endpoints)
        {
            answer.Add(new PtrRecord(target) { Name = qname, Ttl = _ttl });
        }
        return entry.Endpoints.Length > 0;
    }
}
