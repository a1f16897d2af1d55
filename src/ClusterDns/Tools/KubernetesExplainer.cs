using System.Text;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Tools;

/// <summary>Says in words why a name under a kubernetes zone does not resolve, from the cluster state the plugin holds.
/// The zone and the name's shape come from the plugin itself (<see cref="KubernetesResolver.MatchZone"/>,
/// <see cref="KubernetesName"/>), so the explanation follows the same grammar as the answer.</summary>
internal static class KubernetesExplainer
{
    public static string? WhyMissing(KubernetesPlugin plugin, string lowerName)
    {
        var options = plugin.Options;
        if (!DnsName.TryParse(lowerName, out var qname))
        {
            return null;
        }
        var zoneIndex = plugin.Resolver.MatchZone(qname.Wire);
        if (zoneIndex < 0)
        {
            return null;
        }
        var zone = options.Zones[zoneIndex];
        if (KubernetesOptions.IsReverseZone(zone))
        {
            return "no Service ClusterIP or ready endpoint address has this IP"
                + (options.Fallthrough.IsEnabled ? " (fallthrough passes it on)" : string.Empty);
        }
        Span<byte> lower = stackalloc byte[qname.WireLength];
        Span<int> offsets = stackalloc int[KubernetesName.MaxLabels];
        var name = new KubernetesName(qname.Wire, lower, offsets, DnsName.Parse(zone).LabelCount, zoneIndex);
        return Explain(plugin, ref name, zone);
    }

    private static string? Explain(KubernetesPlugin plugin, ref KubernetesName q, string zone)
    {
        var options = plugin.Options;
        switch (q.Kind)
        {
            case KubernetesNameKind.Apex:
            case KubernetesNameKind.NameServer:
            case KubernetesNameKind.Structural:
                return null;
            case KubernetesNameKind.Invalid:
                var kind = Text(q.BranchLabel);
                if (kind is not ("svc" or "pod"))
                {
                    return $"not a Kubernetes DNS name: the label before \"{zone}\" must be \"svc\" or \"pod\", not \"{kind}\"";
                }
                return kind == "pod"
                    ? "too many labels: expected <dashed-ip>.namespace.pod"
                    : "too many labels: expected [endpoint.]service.namespace.svc or _port._proto.service.namespace.svc";
        }

        var state = plugin.State;
        var ns = Text(q.NamespaceLabel);
        if (!state.NamespaceExists(ns))
        {
            return $"namespace \"{ns}\" does not exist (or is filtered out by namespace_labels)";
        }
        if (options.Namespaces.Count > 0 && !options.Namespaces.Contains(ns))
        {
            return $"namespace \"{ns}\" is not in the kubernetes block's `namespaces` list";
        }
        if (q.IsPodBranch)
        {
            if (options.PodMode == PodMode.Disabled)
            {
                return "pod names are disabled: add `pods insecure` or `pods verified` to the kubernetes block";
            }
            if (q.Kind == KubernetesNameKind.Namespace)
            {
                return null;
            }
            var pod = Text(q.ObjectLabel);
            return options.PodMode == PodMode.Verified && KubernetesName.DecodePodLabel(q.ObjectLabel) is not null
                ? $"no running pod in \"{ns}\" has the IP encoded in \"{pod}\" (pods verified)"
                : $"\"{pod}\" does not encode an IP address (use 10-244-1-5 or fd00--1 forms)";
        }
        if (q.Kind == KubernetesNameKind.Namespace)
        {
            return null;
        }

        var name = Text(q.ObjectLabel);
        if (state.GetService(ns, name) is not { } service)
        {
            var others = new List<string>();
            foreach (var s in state.Services)
            {
                if (s.Namespace == ns && others.Count < 8)
                {
                    others.Add(s.Name);
                }
            }
            return $"no Service \"{name}\" in namespace \"{ns}\""
                + (others.Count > 0 ? $" (it has: {string.Join(", ", others)}{(others.Count == 8 ? ", ..." : "")})" : " (it has no Services)");
        }
        var ready = 0;
        var names = new List<string>();
        foreach (var slice in state.GetSlices(ns, name))
        {
            foreach (var endpoint in slice.Endpoints)
            {
                if (endpoint.Ready)
                {
                    ready += endpoint.Addresses.Length;
                    if (endpoint.Hostname is { Length: > 0 } host && names.Count < 8)
                    {
                        names.Add(host);
                    }
                }
            }
        }
        if (q.Kind == KubernetesNameKind.Service)
        {
            return service.Kind switch
            {
                ServiceKind.Headless when ready == 0 => $"headless Service \"{name}\" has no ready endpoints",
                ServiceKind.ClusterIP when ready == 0 && options.IgnoreEmptyService => $"Service \"{name}\" has no ready endpoints and the block says `ignore empty_service`",
                _ => null,
            };
        }
        if (service.Kind == ServiceKind.ExternalName)
        {
            return $"\"{name}\" is an ExternalName Service: names below it do not exist";
        }
        if (q.Kind == KubernetesNameKind.Endpoint)
        {
            return $"Service \"{name}\" has no ready endpoint named \"{Text(q.EndpointLabel)}\""
                + (names.Count > 0 ? $" (ready hostnames: {string.Join(", ", names)}; others are named by their dashed IP)" : " (endpoints are named by their dashed IP, e.g. 10-244-1-5)");
        }
        return $"Service \"{name}\" has no port named \"{Text(q.PortLabel)}\" with protocol \"{Text(q.ProtocolLabel)}\"";
    }

    private static string Text(ReadOnlySpan<byte> label) => Encoding.ASCII.GetString(label);
}
