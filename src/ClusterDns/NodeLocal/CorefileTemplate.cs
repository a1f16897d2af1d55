using System.Text;
using System.Text.RegularExpressions;

namespace ClusterDns.NodeLocal;

/// <summary>
/// node-cache's Corefile template (its ConfigMap's <c>Corefile.base</c>, configmap.go's updateCorefile): the
/// <c>__PILLAR__</c> placeholders the DaemonSet manifest leaves for the agent are filled in, and the result is written
/// to <c>-conf</c>. A placeholder that is still there afterwards is an error rather than a Corefile that fails later.
/// </summary>
internal static partial class CorefileTemplate
{
    /// <summary>Fills the placeholders: <c>__PILLAR__CLUSTER__DNS__</c> (the upstream Service's cluster IP from its
    /// <c>_SERVICE_HOST</c> variable), <c>__PILLAR__UPSTREAM__SERVERS__</c> (<c>/etc/resolv.conf</c>),
    /// <c>__PILLAR__LOCAL__DNS__</c> and <c>__PILLAR__DNS__SERVER__</c> (the first and second <c>-localip</c>).</summary>
    public static string Render(string template, NodeLocalOptions options, Func<string, string?> environment)
    {
        var text = template
            .Replace("__PILLAR__UPSTREAM__SERVERS__", "/etc/resolv.conf", StringComparison.Ordinal)
            .Replace("__PILLAR__LOCAL__DNS__", options.LocalIps[0].ToString(), StringComparison.Ordinal);
        if (options.LocalIps.Count > 1)
        {
            text = text.Replace("__PILLAR__DNS__SERVER__", options.LocalIps[1].ToString(), StringComparison.Ordinal);
        }
        if (text.Contains("__PILLAR__CLUSTER__DNS__", StringComparison.Ordinal))
        {
            var variable = NodeLocalOptions.ServiceHostVariable(options.UpstreamService);
            var clusterDns = environment(variable);
            if (string.IsNullOrWhiteSpace(clusterDns) || !System.Net.IPAddress.TryParse(clusterDns, out _))
            {
                throw new InvalidOperationException(
                    $"Unable to lookup IP address of Upstream service {options.UpstreamService}, env {variable} `{clusterDns}`: __PILLAR__CLUSTER__DNS__ cannot be filled in");
            }
            text = text.Replace("__PILLAR__CLUSTER__DNS__", clusterDns.Trim(), StringComparison.Ordinal);
        }
        var left = Placeholder().Matches(text);
        if (left.Count > 0)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var names = new StringBuilder();
            foreach (Match match in left)
            {
                if (!seen.Add(match.Value))
                {
                    continue;
                }
                if (names.Length > 0)
                {
                    names.Append(", ");
                }
                names.Append(match.Value);
            }
            throw new InvalidOperationException($"the Corefile template still has placeholders the agent does not fill in: {names} (substitute them in the ConfigMap)");
        }
        return text;
    }

    [GeneratedRegex("__PILLAR__[A-Z_]+?__(?![A-Z])")]
    private static partial Regex Placeholder();
}
