using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Plugins.Shared;

namespace ClusterDns.NodeLocal;

/// <summary>
/// <c>clusterdns nodelocal</c>'s settings, named after node-cache's flags (k8s-dns-node-cache,
/// cmd/node-cache/main.go): <c>-localip</c>, <c>-setupinterface</c>, <c>-setupiptables</c>, <c>-interfacename</c>,
/// <c>-syncinterval</c>, <c>-basecorefile</c>, <c>-conf</c>, <c>-upstreamsvc</c>, <c>-health-port</c>,
/// <c>-skipteardown</c>, and <c>-dns.port</c> for the port the rules match.
/// </summary>
internal sealed record NodeLocalOptions
{
    public required IReadOnlyList<IPAddress> LocalIps { get; init; }

    /// <summary>The <c>-localip</c> text as given (comma separated).</summary>
    public required string LocalIpText { get; init; }

    public int LocalPort { get; init; } = 53;
    public int HealthPort { get; init; } = 8080;
    public bool SetupInterface { get; init; } = true;
    public bool SetupIptables { get; init; } = true;
    public string InterfaceName { get; init; } = "nodelocaldns";
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(60);
    public bool SkipTeardown { get; init; }

    /// <summary>The Corefile the server loads (node-cache's <c>-conf</c>/<c>-corefile</c>).</summary>
    public required string Conf { get; init; }

    /// <summary>A template with <c>__PILLAR__</c> placeholders rendered into <see cref="Conf"/> (unset: <see cref="Conf"/> is used as is).</summary>
    public string? BaseCorefile { get; init; }

    /// <summary>The Service whose <c>&lt;NAME&gt;_SERVICE_HOST</c> variable gives <c>__PILLAR__CLUSTER__DNS__</c>.</summary>
    public string UpstreamService { get; init; } = "kube-dns";

    public bool Quiet { get; init; }

    /// <summary>Parses node-cache's comma-separated <c>-localip</c>; the error text is node-cache's.</summary>
    public static bool TryParseLocalIps(string text, out List<IPAddress> addresses, out string error)
    {
        addresses = [];
        foreach (var part in text.Split(','))
        {
            // Go's net.ParseIP: dotted quads only (.NET would take "10.96.0" as 10.96.0.0), no zones, no prefixes.
            if (!IPAddress.TryParse(part, out var address) || part.Contains('/', StringComparison.Ordinal) || part.Contains('%', StringComparison.Ordinal)
                || (address.AddressFamily == AddressFamily.InterNetwork && address.ToString() != part))
            {
                error = $"invalid localip specified - \"{part}\"";
                return false;
            }
            addresses.Add(address);
        }
        error = string.Empty;
        return true;
    }

    /// <summary>A Go duration (<c>1m</c>, <c>500ms</c>) or a bare number of seconds (node-cache multiplies the value by a second).</summary>
    public static bool TryParseInterval(string text, out TimeSpan interval, out string error)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            interval = TimeSpan.FromSeconds(seconds);
        }
        else if (!GoDuration.TryParse(text, out interval, out var parseError))
        {
            error = $"invalid value \"{text}\" for flag -syncinterval: {parseError}";
            return false;
        }
        if (interval <= TimeSpan.Zero)
        {
            error = $"invalid value \"{text}\" for flag -syncinterval: must be positive";
            return false;
        }
        error = string.Empty;
        return true;
    }

    /// <summary>node-cache's <c>toSvcEnv</c>: <c>kube-dns-upstream</c> → <c>KUBE_DNS_UPSTREAM_SERVICE_HOST</c>.</summary>
    public static string ServiceHostVariable(string service) =>
        service.Replace('-', '_').ToUpperInvariant() + "_SERVICE_HOST";

    public static bool IsV6(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6;
}
