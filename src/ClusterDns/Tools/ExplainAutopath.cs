using System.Net;
using ClusterDns.Plugins.Autopath;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Tools;

/// <summary>What <c>clusterdns explain</c> says about <c>autopath</c>: which client it asks as, and the shortcut it took.</summary>
internal static class ExplainAutopath
{
    /// <summary>The client address to ask from: with <c>autopath @kubernetes</c> a pod of the namespace (autopath finds the
    /// search path by the client's address), else loopback.</summary>
    public static IPAddress Client(ListenerRoutes routes, KubernetesPlugin? kubernetes, string ns, TextWriter output)
    {
        AutopathPlugin? autopath = null;
        foreach (var block in routes.Blocks)
        {
            foreach (var plugin in block.Plugins)
            {
                autopath ??= plugin as AutopathPlugin;
            }
        }
        if (autopath is null)
        {
            return IPAddress.Loopback;
        }
        if (autopath.Source is not KubernetesPlugin)
        {
            output.WriteLine("autopath is on: the server walks its search list itself for a query that starts a search.");
            return IPAddress.Loopback;
        }
        if (kubernetes is not null && kubernetes.Options.PodMode == PodMode.Verified)
        {
            foreach (var pod in kubernetes.State.Pods)
            {
                if (pod.Namespace == ns && IPAddress.TryParse(pod.PodIP, out var ip))
                {
                    output.WriteLine($"autopath @kubernetes is on: asking as pod {pod.Namespace}/{pod.Name} ({pod.PodIP}), so the server walks that pod's search list itself.");
                    return ip;
                }
            }
            output.WriteLine($"autopath @kubernetes is on, but no pod of namespace \"{ns}\" is known: queries are answered without the shortcut.");
            return IPAddress.Loopback;
        }
        output.WriteLine("autopath @kubernetes is on, but the kubernetes block lacks `pods verified`: it never shortcuts.");
        return IPAddress.Loopback;
    }

    /// <summary>When autopath answered a query with something other than NXDOMAIN: the line saying so and how many of the
    /// stub resolver's queries it saved; null otherwise.</summary>
    public static string? Shortcut(DnsMessage reply, string plugin, IReadOnlyList<string> candidates)
    {
        if (plugin != "autopath" || reply.Rcode == DnsRcode.NXDomain || reply.Question is not { } question)
        {
            return null;
        }
        var found = question.Name;
        if (reply.Answers.Count > 0 && reply.Answers[0] is CnameRecord cname && cname.Name == question.Name)
        {
            found = cname.Target;
        }
        var asked = -1;
        var at = -1;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (DnsName.Parse(candidates[i]) == question.Name)
            {
                asked = i;
            }
            if (DnsName.Parse(candidates[i]) == found)
            {
                at = i;
            }
        }
        var saved = asked >= 0 && at > asked ? $"{at - asked} of the stub resolver's queries saved" : "no query saved";
        return $"=> autopath: the server tried the search list itself and answered this first query with {found} ({saved}); the stub resolver stops here";
    }
}
