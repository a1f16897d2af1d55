using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Header;

/// <summary>One flag rule: which header bit, set or cleared. Rules apply in order, so the last one wins.</summary>
public readonly record struct HeaderRule(ushort Bit, bool Set);

/// <summary>Parses <c>header { [query|response] set|clear FLAGS... }</c> as CoreDNS does: a bare <c>set</c>/<c>clear</c>
/// targets responses; flags are <c>aa</c>, <c>ra</c>, <c>rd</c>; only the first occurrence with rules counts.</summary>
public static class HeaderSetup
{
    public static PluginDescriptor Descriptor { get; } = new("header", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var (query, response) = Parse(context.Dispenser);
        return [new HeaderPlugin(query, response)];
    }

    internal static (HeaderRule[] Query, HeaderRule[] Response) Parse(Corefile.Dispenser d)
    {
        while (d.Next())
        {
            var query = new List<HeaderRule>();
            var response = new List<HeaderRule>();
            while (d.NextBlock())
            {
                var selector = d.Val.ToLowerInvariant();
                var action = string.Empty;
                if (selector is "set" or "clear")
                {
                    // Older CoreDNS versions only changed responses: a rule without selector still targets them.
                    action = selector;
                    selector = "response";
                }
                else if (selector is "query" or "response")
                {
                    if (d.NextArg())
                    {
                        action = d.Val;
                    }
                }
                else
                {
                    throw new ConfigException($"setting up rule: invalid selector={selector} should be query or response");
                }
                var rules = NewRules(action, d.RemainingArgs());
                (selector == "response" ? response : query).AddRange(rules);
            }
            if (query.Count > 0 || response.Count > 0)
            {
                return ([.. query], [.. response]);
            }
        }
        throw d.ArgErr();
    }

    private static List<HeaderRule> NewRules(string action, IReadOnlyList<string> flags)
    {
        if (action.Length == 0)
        {
            throw new ConfigException("setting up rule: no flag action provided");
        }
        if (flags.Count < 1)
        {
            throw new ConfigException("setting up rule: invalid length for flags, at least one should be provided");
        }
        var set = action.ToLowerInvariant() switch
        {
            "set" => true,
            "clear" => false,
            var other => throw new ConfigException($"setting up rule: unknown flag action={other}, should be set or clear"),
        };
        var rules = new List<HeaderRule>(flags.Count);
        foreach (var arg in flags)
        {
            var flag = arg.ToLowerInvariant();
            var bit = flag switch
            {
                "aa" => DnsHeader.AaBit,
                "ra" => DnsHeader.RaBit,
                "rd" => DnsHeader.RdBit,
                _ => throw new ConfigException($"setting up rule: unknown/unsupported flag={flag}"),
            };
            rules.Add(new HeaderRule(bit, set));
        }
        return rules;
    }
}
