using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ClusterDns.Plugins.Shared;

/// <summary>Go's <c>net</c> parsing as CoreDNS's plugins use it: stricter than .NET's (no <c>8.8</c> for
/// <c>8.0.0.8</c>, no leading zeros), so a Corefile CoreDNS refuses is refused here too.</summary>
internal static class GoNet
{
    /// <summary>Go's net.ParseIP after dropping an IPv6 zone: dotted quads without leading zeros, or IPv6 text.
    /// IPv4-mapped IPv6 counts as IPv4, as Go's To4() does.</summary>
    public static bool TryParseIp(string text, out IPAddress address)
    {
        address = IPAddress.None;
        var zone = text.IndexOf('%', StringComparison.Ordinal);
        if (zone >= 0)
        {
            text = text[..zone];
        }
        if (text.Contains(':', StringComparison.Ordinal))
        {
            if (text.Contains('[', StringComparison.Ordinal) || !IPAddress.TryParse(text, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }
            address = v6.IsIPv4MappedToIPv6 ? v6.MapToIPv4() : v6;
            return true;
        }
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0')
                || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>Go's net.SplitHostPort for the forms we accept: <c>[v6]:port</c> and <c>host:port</c> with one colon.</summary>
    public static bool TrySplitHostPort(string s, out string host, out string port)
    {
        host = port = string.Empty;
        if (s.StartsWith('['))
        {
            var close = s.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }
            host = s[1..close];
            port = s[(close + 2)..];
            return port.Length > 0;
        }
        var colon = s.IndexOf(':');
        if (colon < 0 || colon != s.LastIndexOf(':'))
        {
            return false;
        }
        host = s[..colon];
        port = s[(colon + 1)..];
        return true;
    }
}
