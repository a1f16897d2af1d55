using System.Net;
using ClusterDns.Kubernetes;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>Applying one cluster change to the index, touching only what the change names.</summary>
internal sealed partial class KubernetesIndex
{
    /// <summary>
    /// The index for <paramref name="newState"/>, which must be this index's <see cref="State"/> plus
    /// <paramref name="change"/>. Work is proportional to what the change touched; a relist, or a change that names
    /// nothing although the state moved (sources that cannot tell what changed), falls back to a full build.
    /// Tokens of replaced entries are superseded before the caller publishes the result.
    /// </summary>
    public KubernetesIndex Apply(ClusterState newState, ClusterChange change)
    {
        if (ReferenceEquals(newState, State))
        {
            return this;
        }
        var unknown = change.Services.Count == 0 && !change.NamespacesChanged && !change.PodsChanged && !change.MulticlusterChanged;
        if (change.Relisted || unknown)
        {
            var rebuilt = Build(_context, newState);
            Generation.Supersede(); // old replies are not reachable via the new index's entries; drop them all
            return rebuilt;
        }

        var oldState = State;
        var options = _context.Options;
        var services = _services;
        var existenceChanged = false;
        List<ServiceEntry>? superseded = null;
        // Addresses whose PTR (and possibly NS) entries may differ: every IP the changed services had or have.
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (ns, name) in change.Services)
        {
            CollectAddresses(oldState, ns, name, addresses);
            CollectAddresses(newState, ns, name, addresses);
            var old = Find(services, name, ns);
            var info = newState.GetService(ns, name);
            if (info is null)
            {
                if (old is not null)
                {
                    services = services.Remove(old);
                    (superseded ??= []).Add(old);
                    existenceChanged = true;
                }
                continue;
            }
            var entry = BuildService(newState, info, options);
            if (old is not null && old.SameContent(entry))
            {
                continue; // nothing DNS-visible changed: keep the entry and the replies cached from it
            }
            services = services.Set(entry);
            if (old is null)
            {
                existenceChanged = true;
            }
            else
            {
                (superseded ??= []).Add(old);
            }
        }

        var ptr = _ptr;
        var touchesLocal = false;
        List<PtrEntry>? supersededPtr = null;
        foreach (var address in addresses)
        {
            ptr = RefreshPtr(_context, newState, services, ptr, address, out var replaced, out var keyChanged);
            if (replaced is not null)
            {
                (supersededPtr ??= []).Add(replaced);
            }
            existenceChanged |= keyChanged;
            if (!touchesLocal && _context.LocalKeys.Count > 0 && IPAddress.TryParse(address, out var ip) && _context.LocalKeys.Contains(IndexKeys.ToKey(ip)))
            {
                touchesLocal = true;
            }
        }

        var nameServers = NameServers;
        if (touchesLocal)
        {
            var rebuilt = BuildNameServers(_context, newState, services);
            if (!SameNameServers(rebuilt, nameServers))
            {
                nameServers = rebuilt;
                existenceChanged = true;
            }
        }

        var pods = _pods;
        if (change.PodsChanged && options.PodMode == PodMode.Verified)
        {
            if (change.PodIps is { } ips)
            {
                foreach (var ip in ips)
                {
                    pods = RefreshPod(newState, pods, ip);
                }
            }
            else
            {
                pods = HashTrie<PodIpEntry>.Empty;
                foreach (var pod in newState.Pods)
                {
                    pods = RefreshPod(newState, pods, pod.PodIP);
                }
            }
        }

        var namespaces = change.NamespacesChanged ? BuildNamespaces(newState, options) : _namespaceSet;
        // Multicluster objects are few and rare: any change rebuilds all import entries and supersedes the old ones.
        var imports = change.MulticlusterChanged ? BuildImports(newState, options) : _imports;
        var generation = Generation;
        if (existenceChanged || change.PodsChanged || change.NamespacesChanged || change.MulticlusterChanged || newState.Serial != oldState.Serial)
        {
            generation = new IndexGeneration();
        }

        var next = new KubernetesIndex(_context, newState, namespaces, services, ptr, pods, nameServers, generation,
            change.NamespacesChanged ? new object() : Lineage, imports);
        // Supersede last, once the replacement exists: replies cached from these can no longer be served.
        if (superseded is not null)
        {
            foreach (var entry in superseded)
            {
                entry.Supersede();
            }
        }
        if (supersededPtr is not null)
        {
            foreach (var entry in supersededPtr)
            {
                entry.Supersede();
            }
        }
        if (!ReferenceEquals(imports, _imports))
        {
            foreach (var entry in _imports.Items())
            {
                entry.Supersede();
            }
        }
        if (!ReferenceEquals(generation, Generation))
        {
            Generation.Supersede();
        }
        return next;
    }

    /// <summary>Cluster IPs and ready endpoint addresses of one service (and its slices) in <paramref name="state"/>.</summary>
    private static void CollectAddresses(ClusterState state, string ns, string name, HashSet<string> addresses)
    {
        if (state.GetService(ns, name) is { } service && !service.ClusterIPs.IsDefaultOrEmpty)
        {
            foreach (var ip in service.ClusterIPs)
            {
                addresses.Add(ip);
            }
        }
        foreach (var slice in state.GetSlices(ns, name))
        {
            foreach (var ep in slice.Endpoints)
            {
                if (ep.Ready && !ep.Addresses.IsDefaultOrEmpty)
                {
                    foreach (var address in ep.Addresses)
                    {
                        addresses.Add(address);
                    }
                }
            }
        }
    }

    private static bool SameNameServers(NameServerEntry[] a, NameServerEntry[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (var i = 0; i < a.Length; i++)
        {
            if (!a[i].Address.Equals(b[i].Address) || !a[i].RelativeWire.AsSpan().SequenceEqual(b[i].RelativeWire))
            {
                return false;
            }
        }
        return true;
    }
}
