using ClusterDns.Server;

namespace ClusterDns.Plugins.Shared;

/// <summary>Address checks for the HTTP side plugins (health, ready, prometheus): Go's net.SplitHostPort error texts first,
/// then what our HTTP server can bind, so a bad address fails the configuration rather than its start.</summary>
internal static class HttpAddress
{
    public static void Validate(string address)
    {
        if (SplitHostPortError(address) is { } why)
        {
            throw new FormatException($"address {address}: {why}");
        }
        HttpStatusServer.ParseAddress(address);
    }

    private static string? SplitHostPortError(string hostport)
    {
        var i = hostport.LastIndexOf(':');
        if (i < 0)
        {
            return "missing port in address";
        }
        if (hostport.StartsWith('['))
        {
            var end = hostport.IndexOf(']', StringComparison.Ordinal);
            if (end < 0)
            {
                return "missing ']' in address";
            }
            if (end + 1 == hostport.Length)
            {
                return "missing port in address";
            }
            if (end + 1 != i)
            {
                return hostport[end + 1] == ':' ? "too many colons in address" : "missing port in address";
            }
            if (hostport.IndexOf('[', 1) >= 0)
            {
                return "unexpected '[' in address";
            }
            return hostport.IndexOf(']', end + 1) >= 0 ? "unexpected ']' in address" : null;
        }
        var host = hostport[..i];
        if (host.Contains(':', StringComparison.Ordinal))
        {
            return "too many colons in address";
        }
        if (hostport.Contains('[', StringComparison.Ordinal))
        {
            return "unexpected '[' in address";
        }
        return hostport.Contains(']', StringComparison.Ordinal) ? "unexpected ']' in address" : null;
    }

    /// <summary>Reads a directive line's optional single ADDRESS argument (health, ready, prometheus): null when absent.</summary>
    public static string? ReadOptional(ClusterDns.Corefile.Dispenser d)
    {
        var args = d.RemainingArgs();
        switch (args.Count)
        {
            case 0:
                return null;
            case 1:
                Validate(args[0]);
                return args[0];
            default:
                throw d.ArgErr();
        }
    }
}
