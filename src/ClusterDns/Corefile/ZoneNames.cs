using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ClusterDns.Corefile;

/// <summary>
/// Zone normalisation shared by server keys and plugin ZONES arguments, mirroring CoreDNS's
/// plugin.SplitHostPort / Host.NormalizeExact / pkg/cidr.
/// </summary>
public static class ZoneNames
{
    /// <summary>
    /// Normalises plugin zone arguments: strips a transport prefix and port, lower-cases, makes fully qualified
    /// and expands CIDRs into reverse zones. Throws <see cref="FormatException"/> with CoreDNS's text.
    /// </summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string> args)
    {
        var result = new List<string>();
        foreach (var arg in args)
        {
            var (_, rest) = Schemes.Split(arg);
            if (!TrySplitHostPort(rest, out var hosts, out _, out var error))
            {
                throw new FormatException(error);
            }
            result.AddRange(hosts);
        }
        return result;
    }

    /// <summary>Reverse zones covering a CIDR (mask rounded up to 8 bits for IPv4, 4 bits for IPv6).</summary>
    public static IReadOnlyList<string> ExpandCidr(string cidr)
    {
        if (!TryParseCidr(cidr, out var network, out var prefix))
        {
            throw new FormatException($"invalid CIDR address: {cidr}");
        }
        return Reverse(network, prefix);
    }

    /// <summary>Validates one domain name (no port, scheme or CIDR handling) and returns its lower-case FQDN.</summary>
    public static bool TryNormalizeZone(string text, out string zone)
    {
        zone = string.Empty;
        if (Encoding.UTF8.GetByteCount(text) > 255 || !IsDomainName(text))
        {
            return false;
        }
        zone = Fqdn(text).ToLowerInvariant();
        return true;
    }

    /// <summary>
    /// CoreDNS plugin.SplitHostPort: the last ':' followed by an integer is the port; CIDRs expand into
    /// reverse zones. Hosts come back lower-case and fully qualified.
    /// </summary>
    internal static bool TrySplitHostPort(string s, out List<string> hosts, out int? port, out string error)
    {
        hosts = [];
        port = null;
        error = string.Empty;
        var colon = s.LastIndexOf(':');
        if (colon >= 0 && colon == s.Length - 1)
        {
            error = $"expecting data after last colon: {GoQuote(s)}";
            return false;
        }
        if (colon >= 0 && int.TryParse(s[(colon + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var p))
        {
            port = p;
            s = s[..colon];
        }

        var length = Encoding.UTF8.GetByteCount(s);
        if (length > 255)
        {
            error = $"specified zone is too long: {length} > 255";
            return false;
        }
        if (!IsDomainName(s))
        {
            error = $"zone is not a valid domain name: {s}";
            return false;
        }

        if (!TryParseCidr(s, out var network, out var prefix))
        {
            hosts.Add(Fqdn(s).ToLowerInvariant());
            return true;
        }
        // Go's ParseCIDR accepts these but they are almost certainly typos for a port or a v4 range.
        if (s[0] == ':' || (s[0] == '0' && s.Contains(':')))
        {
            error = $"invalid CIDR {s}";
            return false;
        }
        hosts.AddRange(Reverse(network, prefix));
        return true;
    }

    internal static string Fqdn(string s) => s.EndsWith('.') ? s : s + ".";

    private static string GoQuote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>miekg/dns IsDomainName: label structure only (no empty labels, 63/255 octet limits).</summary>
    internal static bool IsDomainName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }
        var s = Encoding.UTF8.GetBytes(Fqdn(name));
        const int lenmsg = 256;
        int off = 0, begin = 0;
        bool wasDot = false, escape = false;
        for (var i = 0; i < s.Length; i++)
        {
            switch (s[i])
            {
                case (byte)'\\':
                    escape = !escape;
                    if (off + 1 > lenmsg)
                    {
                        return false;
                    }
                    if (IsDdd(s, i + 1))
                    {
                        i += 3;
                        begin += 3;
                    }
                    else
                    {
                        i++;
                        begin++;
                    }
                    wasDot = false;
                    break;
                case (byte)'.':
                    escape = false;
                    if (i == 0 && s.Length > 1)
                    {
                        return false; // leading dot only allowed for the root
                    }
                    if (wasDot)
                    {
                        return false;
                    }
                    wasDot = true;
                    var labelLen = i - begin;
                    if (labelLen >= 64)
                    {
                        return false;
                    }
                    off += 1 + labelLen;
                    if (off > lenmsg)
                    {
                        return false;
                    }
                    begin = i + 1;
                    break;
                default:
                    escape = false;
                    wasDot = false;
                    break;
            }
        }
        return !escape;
    }

    private static bool IsDdd(byte[] s, int at) =>
        at + 2 < s.Length && IsDigit(s[at]) && IsDigit(s[at + 1]) && IsDigit(s[at + 2]);

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    // Strict like Go's net.ParseCIDR: dotted quad without leading zeros, or an IPv6 literal; no zone ids.
    internal static bool TryParseCidr(string s, out IPAddress network, out int prefix)
    {
        network = IPAddress.None;
        prefix = 0;
        var slash = s.IndexOf('/');
        if (slash < 0)
        {
            return false;
        }
        var addrText = s[..slash];
        var maskText = s[(slash + 1)..];
        if (maskText.Length == 0 || maskText.Length > 9 || !maskText.All(char.IsAsciiDigit))
        {
            return false;
        }
        prefix = int.Parse(maskText, CultureInfo.InvariantCulture);

        IPAddress? ip;
        if (addrText.Contains(':'))
        {
            if (addrText.Contains('%') || !IPAddress.TryParse(addrText, out ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else if (!TryParseIPv4(addrText, out ip))
        {
            return false;
        }

        var bytes = ip.GetAddressBytes();
        if (prefix > bytes.Length * 8)
        {
            return false;
        }
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8)); // clear host bits, as ParseCIDR does
        }
        network = new IPAddress(bytes);
        return true;
    }

    private static bool TryParseIPv4(string s, out IPAddress ip)
    {
        ip = IPAddress.None;
        var parts = s.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var p = parts[i];
            if (p.Length == 0 || p.Length > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0'))
            {
                return false;
            }
            var v = int.Parse(p, CultureInfo.InvariantCulture);
            if (v > 255)
            {
                return false;
            }
            bytes[i] = (byte)v;
        }
        ip = new IPAddress(bytes);
        return true;
    }

    // pkg/cidr Split + Reverse: enumerate subnets at the next label boundary, one reverse zone each.
    private static List<string> Reverse(IPAddress network, int prefix)
    {
        var bytes = network.GetAddressBytes();
        var v6 = bytes.Length == 16;
        var digit = v6 ? 4 : 8;
        var rounded = (prefix + digit - 1) / digit * digit;
        var count = 1 << (rounded - prefix); // at most 2^7 (v4) or 2^3 (v6)
        var zones = new List<string>(count);
        for (var k = 0; k < count; k++)
        {
            var subnet = (byte[])bytes.Clone();
            // Add k at bit position `rounded` (counting from the most significant bit).
            for (var b = 0; b < rounded - prefix; b++)
            {
                if ((k & (1 << b)) != 0)
                {
                    var bit = rounded - 1 - b;
                    subnet[bit / 8] |= (byte)(0x80 >> (bit % 8));
                }
            }
            zones.Add(v6 ? ReverseV6(subnet, rounded / 4) : ReverseV4(subnet, rounded / 8));
        }
        return zones;
    }

    private static string ReverseV4(byte[] b, int labels)
    {
        var sb = new StringBuilder();
        for (var i = labels - 1; i >= 0; i--)
        {
            sb.Append(b[i].ToString(CultureInfo.InvariantCulture)).Append('.');
        }
        return sb.Append("in-addr.arpa.").ToString();
    }

    private static string ReverseV6(byte[] b, int nibbles)
    {
        var sb = new StringBuilder();
        for (var n = nibbles - 1; n >= 0; n--)
        {
            var value = n % 2 == 0 ? b[n / 2] >> 4 : b[n / 2] & 0xF;
            sb.Append("0123456789abcdef"[value]).Append('.');
        }
        return sb.Append("ip6.arpa.").ToString();
    }
}

/// <summary>Transport prefixes of server keys and their default ports.</summary>
internal static class Schemes
{
    private static readonly string[] Known = ["tls", "quic", "grpc", "https3", "https", "dns"];

    public static (string Scheme, string Address) Split(string key)
    {
        foreach (var scheme in Known)
        {
            var prefix = scheme + "://";
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return (scheme, key[prefix.Length..]);
            }
        }
        return ("dns", key);
    }

    public static int DefaultPort(string scheme, int dnsPort) => scheme switch
    {
        "tls" or "quic" => 853,
        "grpc" or "https" or "https3" => 443,
        _ => dnsPort,
    };
}
