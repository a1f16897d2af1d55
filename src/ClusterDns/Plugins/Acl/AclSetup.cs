using System.Globalization;
using System.Net;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Acl;

/// <summary>Parses <c>acl [ZONES...] { ACTION [type QTYPE...] [net SOURCE...] }</c> as CoreDNS's acl setup: one rule per
/// directive, one policy per block line; an omitted section (or <c>*</c>) matches every type / every source.</summary>
public static class AclSetup
{
    public static PluginDescriptor Descriptor { get; } = new("acl", Setup, OncePerBlock: false);

    private static readonly AclNetwork[] AllSources =
        [AclNetwork.Create(IPAddress.Any, 0), AclNetwork.Create(IPAddress.IPv6Any, 0)];

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) =>
        [new AclPlugin(Parse(context.Dispenser, context.Zones), context.LoggerFactory.CreateLogger("plugin/acl"))];

    public static AclRule[] Parse(Dispenser d, IReadOnlyList<string> blockZones)
    {
        var rules = new List<AclRule>();
        while (d.Next())
        {
            var args = d.RemainingArgs();
            var zones = args.Count == 0 ? blockZones : ZoneNames.Normalize(args);
            var policies = new List<AclPolicy>();
            while (d.NextBlock())
            {
                policies.Add(ParsePolicy(d));
            }
            rules.Add(new AclRule(new ZoneSet(zones), [.. policies]));
        }
        return [.. rules];
    }

    private static AclPolicy ParsePolicy(Dispenser d)
    {
        var action = d.Val.ToLowerInvariant() switch
        {
            "allow" => AclAction.Allow,
            "block" => AclAction.Block,
            "filter" => AclAction.Filter,
            "drop" => AclAction.Drop,
            _ => throw d.Errf($"unexpected token {Quote(d.Val)}; expect 'allow', 'block', 'filter' or 'drop'"),
        };
        if (!d.NextArg())
        {
            return new AclPolicy(action, [], allTypes: true, AllSources);
        }
        var types = new List<DnsType>();
        var allTypes = false;
        var hasType = false;
        var hasNet = false;
        var sources = new List<string>();
        while (true)
        {
            var section = d.Val.ToLowerInvariant();
            var tokens = new List<string>();
            var remaining = false;
            while (d.NextArg())
            {
                var identifier = d.Val.ToLowerInvariant();
                if (identifier is "type" or "net")
                {
                    remaining = true;
                    break;
                }
                tokens.Add(d.Val);
            }
            if (tokens.Count == 0)
            {
                throw d.Errf($"no token specified in {Quote(section)} section");
            }
            switch (section)
            {
                case "type":
                    hasType = true;
                    foreach (var token in tokens)
                    {
                        if (token == "*")
                        {
                            allTypes = true;
                            continue;
                        }
                        // Go's dns.StringToType: upper-case mnemonics only.
                        if (!string.Equals(token, token.ToUpperInvariant(), StringComparison.Ordinal) || token.StartsWith("TYPE", StringComparison.Ordinal)
                            || !DnsMnemonics.TryParseType(token, out var type))
                        {
                            throw d.Errf($"unexpected token {Quote(token)}; expect legal QTYPE");
                        }
                        types.Add(type);
                    }
                    break;
                case "net":
                    hasNet = true;
                    sources.AddRange(tokens);
                    break;
                default:
                    throw d.Errf($"unexpected token {Quote(d.Val)}; expect 'type | net'");
            }
            if (!remaining)
            {
                break;
            }
        }
        var networks = new List<AclNetwork>();
        if (!hasNet)
        {
            networks.AddRange(AllSources);
        }
        foreach (var source in sources)
        {
            if (source == "*")
            {
                networks.AddRange(AllSources);
                continue;
            }
            networks.Add(ParseCidr(d, source));
        }
        return new AclPolicy(action, [.. types], allTypes || !hasType, [.. networks]);
    }

    /// <summary>Go's net.ParseCIDR after CoreDNS's normalize (a bare address gets /32 or /128).</summary>
    private static AclNetwork ParseCidr(Dispenser d, string raw)
    {
        var v6 = raw.Contains(':', StringComparison.Ordinal);
        if (!raw.Contains('/', StringComparison.Ordinal))
        {
            raw += v6 ? "/128" : "/32";
        }
        var slash = raw.IndexOf('/', StringComparison.Ordinal);
        var host = raw[..slash];
        var bitsText = raw[(slash + 1)..];
        var max = v6 ? 128 : 32;
        if (host.Contains('%', StringComparison.Ordinal) || !GoNet.TryParseIp(host, out var address)
            || bitsText.Length is 0 or > 3 || (bitsText.Length > 1 && bitsText[0] == '0')
            || !int.TryParse(bitsText, NumberStyles.None, CultureInfo.InvariantCulture, out var bits) || bits > max)
        {
            throw d.Errf($"illegal CIDR notation {Quote(raw)}");
        }
        if (v6 && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            // An IPv4-mapped network written as IPv6: the mask covers the 128-bit form, as Go's.
            bits = Math.Max(0, bits - 96);
        }
        return AclNetwork.Create(address, bits);
    }

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
