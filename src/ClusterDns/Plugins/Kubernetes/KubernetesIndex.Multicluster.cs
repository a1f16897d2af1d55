using System.Net;
using ClusterDns.Kubernetes;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Multicluster (MCS) entries: one <see cref="ServiceEntry"/> per ServiceImport, answered in the <c>multicluster</c>
/// zones instead of Services (CoreDNS's findMultiClusterServices). A ClusterSetIP import carries its <c>spec.ips</c>
/// as cluster IPs; every import carries the ready endpoints of its multicluster slices, each labelled
/// <c>&lt;EN&gt;.&lt;cluster id&gt;</c> so that SRV targets read <c>&lt;EN&gt;.&lt;cluster&gt;.&lt;svc&gt;.&lt;ns&gt;.svc.&lt;zone&gt;</c>.
/// </summary>
internal sealed partial class KubernetesIndex
{
    public ServiceEntry? FindImport(ReadOnlySpan<char> key) => _imports.Find(IndexKeys.KeyHash(key), new ServiceKey(key));

    public int ImportCount => _imports.Count;

    private static HashTrie<ServiceEntry> BuildImports(ClusterState state, KubernetesOptions options)
    {
        var imports = HashTrie<ServiceEntry>.Empty;
        if (options.MulticlusterZones is not { Count: > 0 })
        {
            return imports;
        }
        foreach (var import in state.ServiceImports)
        {
            imports = imports.Set(BuildImport(state, import, options));
        }
        return imports;
    }

    private static ServiceEntry BuildImport(ClusterState state, ServiceImportInfo s, KubernetesOptions options)
    {
        var headless = s.Type == ServiceImportType.Headless;
        var ips = headless ? [] : IndexKeys.ParseAddresses(s.Ips);

        var found = state.GetMcsSlices(s.Namespace, s.Name);
        var slices = new SliceEntry[found.Length];
        var ready = 0;
        for (var i = 0; i < found.Length; i++)
        {
            var slice = found[i].Slice;
            var cluster = IndexKeys.ToLabel(found[i].ClusterId.ToLowerInvariant());
            var endpoints = new List<EndpointEntry>();
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
                        var name = IndexKeys.ToLabel(EndpointName(ep, address, options.EndpointPodNames));
                        endpoints.Add(new EndpointEntry(ip, [.. name, .. cluster]));
                    }
                }
            }
            ready += endpoints.Count;
            slices[i] = new SliceEntry(Ports(slice.Ports), [.. endpoints]);
        }

        return new ServiceEntry
        {
            Namespace = s.Namespace,
            Name = s.Name,
            Kind = headless ? ServiceKind.Headless : ServiceKind.ClusterIP,
            ClusterIps = ips,
            Ports = Ports(s.Ports),
            Slices = slices,
            ReadyCount = ready,
            RelativeWire = IndexKeys.ServiceRelativeWire(s.Name, s.Namespace),
            Hash = IndexKeys.KeyHash(s.Name, s.Namespace),
        };
    }
}
