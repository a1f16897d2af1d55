using System.Net.Sockets;
using ClusterDns.Corefile;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Dns64;

/// <summary>The parsed <c>dns64</c> directive (immutable).</summary>
public sealed record Dns64Options(Dns64Prefix Prefix, bool TranslateAll, bool AllowIpv4);

/// <summary>
/// Parses <c>dns64 [PREFIX] { prefix PREFIX; translate_all; allow_ipv4 }</c> as CoreDNS's dns64Parse, with its error
/// texts: every occurrence in a block is read into one handler, the last prefix wins. Unlike CoreDNS — which skips a
/// block that follows a PREFIX argument without reading it (its options silently do nothing) — the block's options
/// apply there too, as the README's syntax says.
/// </summary>
public static class Dns64Setup
{
    public static PluginDescriptor Descriptor { get; } = new("dns64", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) =>
        [new Dns64Plugin(Parse(context.Dispenser), context.Resolver)];

    public static Dns64Options Parse(Dispenser d)
    {
        var prefix = Dns64Prefix.WellKnown;
        var translateAll = false;
        var allowIpv4 = false;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count > 1)
            {
                throw d.ArgErr();
            }
            if (args.Count == 1)
            {
                prefix = ParsePrefix(d, args[0]);
            }
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "prefix":
                        if (!d.NextArg())
                        {
                            throw d.ArgErr();
                        }
                        prefix = ParsePrefix(d, d.Val);
                        break;
                    case "translate_all":
                        translateAll = true;
                        break;
                    case "allow_ipv4":
                        allowIpv4 = true;
                        break;
                    default:
                        throw d.Err($"unknown property '{d.Val}'");
                }
            }
        }
        return new Dns64Options(prefix, translateAll, allowIpv4);
    }

    /// <summary>CoreDNS's parsePrefix: Go's net.ParseCIDR, then an IPv6 network of an RFC 6052 length.</summary>
    private static Dns64Prefix ParsePrefix(Dispenser d, string text)
    {
        if (!ZoneNames.TryParseCidr(text, out var network, out var bits))
        {
            // Go's *net.ParseError, returned bare (no file and line), as CoreDNS does.
            throw new ConfigException($"invalid CIDR address: {text}");
        }
        var bytes = network.GetAddressBytes();
        var shown = Dns64Prefix.GoNetworkText(bytes, bits);
        if (network.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw d.Err($"invalid netmask 32 IPv6 address: \"{shown}\"");
        }
        // RFC 6052 §2.2 defines only these lengths; /72, /80 and /88 would put address bits into the u octet.
        if (bits is not (32 or 40 or 48 or 56 or 64 or 96))
        {
            throw d.Err($"invalid prefix length \"{shown}\"");
        }
        return new Dns64Prefix(bytes, bits);
    }
}
