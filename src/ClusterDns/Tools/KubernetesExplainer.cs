using ClusterDns.Corefile;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Tools;

/// <summary>Says in words why a name under a kubernetes zone does not resolve, from the cluster state the plugin holds.</summary>
internal static class KubernetesExplainer
{
    public static string? WhyMissing(KubernetesPlugin plugin, string lowerName)
    {
        var options = plugin.Options;
        var zones = new ZoneSet(options.Zones);
        var match = DnsName.TryParse(lowerName, out var qname) ? zones.Match(qname.Wire) : -1;
        if (match < 0)
        {
            return null;
        }
        var zone = zones[match];
        if (KubernetesOptions.IsReverseZone(zone))
        {
            return "no Service ClusterIP or ready endpoint address has this IP"
                + (options.FallthroughZones is not null ? " (fallthrough passes it on)" : string.Empty);
        }
        var relative = lowerName.Length > zone.Length ? lowerName[..^(zone.Length + 1)] : string.Empty;
        var labels = relative.Length == 0 ? [] : relative.Split('.');
        if (labels.Length == 0)
        {
            return null;
        }
        var kind = labels[^1];
        if (kind is not ("svc" or "pod"))
        {
            return $"not a Kubernetes DNS name: the label before \"{zone}\" must be \"svc\" or \"pod\", not \"{kind}\"";
        }
        var state = plugin.State;
        if (labels.Length < 2)
        {
            return null;
        }
        var ns = labels[^2];
        if (!state.NamespaceExists(ns))
        {
            return $"namespace \"{ns}\" does not exist (or is filtered out by namespace_labels)";
        }
        if (options.Namespaces.Count > 0 && !options.Namespaces.Contains(ns))
        {
            return $"namespace \"{ns}\" is not in the kubernetes block's `namespaces` list";
        }
        if (kind == "pod")
        {
            return options.PodMode switch
            {
                PodMode.Disabled => "pod names are disabled: add `pods insecure` or `pods verified` to the kubernetes block",
                PodMode.Verified => $"no running pod in \"{ns}\" has the IP encoded in \"{labels[0]}\" (pods verified)",
                _ => $"\"{labels[0]}\" does not encode an IP address (use 10-244-1-5 or fd00--1 forms)",
            };
        }
        if (labels.Length < 3)
        {
            return null;
        }
        var name = labels[^3];
        if (labels.Length > 5)
        {
            return "too many labels: expected [endpoint.]service.namespace.svc or _port._proto.service.namespace.svc";
        }
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
        if (labels.Length == 3)
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
        if (labels.Length == 4)
        {
            return $"Service \"{name}\" has no ready endpoint named \"{labels[0]}\""
                + (names.Count > 0 ? $" (ready hostnames: {string.Join(", ", names)}; others are named by their dashed IP)" : " (endpoints are named by their dashed IP, e.g. 10-244-1-5)");
        }
        return $"Service \"{name}\" has no port named \"{labels[0].TrimStart('_')}\" with protocol \"{labels[1].TrimStart('_')}\"";
    }
}
