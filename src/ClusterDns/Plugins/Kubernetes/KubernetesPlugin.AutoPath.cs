using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Plugins.Autopath;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>The search path of the querying pod for <c>autopath @kubernetes</c> (docs/kubernetes-dns.md §11; the behaviour is described in the autopath plugin's README).</summary>
public sealed partial class KubernetesPlugin : IAutoPather
{
    /// <summary>Where the server's own search domains come from (CoreDNS's searchFromResolvConf).</summary>
    internal const string ResolvConfPath = "/etc/resolv.conf";

    private readonly ConcurrentDictionary<(int Zone, string Namespace), SearchPath> _searchPaths = new();
    private IReadOnlyList<string>? _hostSearch;

    /// <summary>
    /// CoreDNS's Kubernetes.AutoPath: a query in one of the zones from a pod known by its IP (<c>pods verified</c>; the
    /// first pod listed at that IP) gets <c>&lt;ns&gt;.svc.&lt;zone&gt;</c>, <c>svc.&lt;zone&gt;</c>, <c>&lt;zone&gt;</c>, the
    /// server's own resolv.conf search domains and the bare name. Anything else: null (no autopath). Allocation-free once
    /// the (zone, namespace) list was built.
    /// </summary>
    public SearchPath? AutoPath(DnsRequest request)
    {
        var resolver = _resolver;
        var zone = resolver.MatchZone(request.LowerNameWire);
        if (zone < 0 || _options.PodMode != PodMode.Verified || !TryClientKey(request.RemoteAddress, out var key))
        {
            return null;
        }
        if (resolver.Index.FirstPodNamespace(key) is not { } ns)
        {
            return null;
        }
        return _searchPaths.TryGetValue((zone, ns), out var search)
            ? search
            : _searchPaths.GetOrAdd((zone, ns), static (k, self) => self.BuildSearchPath(k.Zone, k.Namespace), this);
    }

    private SearchPath BuildSearchPath(int zoneIndex, string ns)
    {
        var zone = _options.Zones[zoneIndex];
        var elements = new List<string>();
        if (zone == ".")
        {
            elements.AddRange([ns + ".svc.", "svc.", "."]);
        }
        else
        {
            elements.AddRange([ns + ".svc." + zone, "svc." + zone, zone]);
        }
        elements.AddRange(_hostSearch ??= ResolvConf.TryRead(ResolvConfPath) ?? []);
        return new SearchPath(elements);
    }

    /// <summary>The client address as an index key (IPv4 in the IPv4-mapped range), read from the socket address.</summary>
    private static bool TryClientKey(SocketAddress address, out UInt128 key)
    {
        Span<byte> bytes = stackalloc byte[16];
        var buffer = address.Buffer.Span;
        switch (address.Family)
        {
            case AddressFamily.InterNetwork when address.Size >= 8:
                bytes.Clear();
                bytes[10] = 0xff;
                bytes[11] = 0xff;
                buffer.Slice(4, 4).CopyTo(bytes[12..]);
                break;
            case AddressFamily.InterNetworkV6 when address.Size >= 24:
                buffer.Slice(8, 16).CopyTo(bytes);
                break;
            default:
                key = default;
                return false;
        }
        key = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return true;
    }
}
