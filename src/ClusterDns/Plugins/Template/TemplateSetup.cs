using ClusterDns.Plugins.Shared;
using System.Globalization;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Hosts;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Template;

/// <summary>An RFC 8914 extended error a template adds (<c>ederror CODE [REASON]</c>).</summary>
internal sealed record ExtendedError(ushort Code, string Reason);

/// <summary>One <c>template</c> directive, parsed (immutable).</summary>
internal sealed record TemplateDefinition(
    DnsClass Class,
    DnsType Type,
    IReadOnlyList<string> Zones,
    IReadOnlyList<GoRegex> Regexes,
    IReadOnlyList<GoTemplate> Answer,
    IReadOnlyList<GoTemplate> Additional,
    IReadOnlyList<GoTemplate> Authority,
    DnsRcode Rcode,
    Fallthrough Fallthrough,
    ExtendedError? ExtendedError);

/// <summary>
/// Parses <c>template CLASS TYPE [ZONE...] { match REGEX...; answer RR; additional RR; authority RR; rcode CODE;
/// ederror CODE [REASON]; fallthrough [ZONE...]; upstream }</c> as CoreDNS's templateParse, with its error texts.
/// Every <c>template</c> of a server block goes into one handler that tries them in order.
/// </summary>
internal static class TemplateSetup
{
    public static PluginDescriptor Descriptor { get; } = new("template", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var definitions = Parse(context.Dispenser, context.Zones);
        return [new TemplatePlugin(definitions, context.Resolver)];
    }

    public static IReadOnlyList<TemplateDefinition> Parse(Dispenser d, IReadOnlyList<string> blockZones)
    {
        var templates = new List<TemplateDefinition>();
        while (d.Next())
        {
            if (!d.NextArg())
            {
                throw d.ArgErr();
            }
            if (!MiekgNames.TryParseClass(d.Val, out var @class))
            {
                throw d.Errf($"invalid query class {d.Val}");
            }
            if (!d.NextArg())
            {
                throw d.ArgErr();
            }
            if (!MiekgNames.TryParseType(d.Val, out var type))
            {
                // CoreDNS's wording (sic).
                throw d.Errf($"invalid RR class {d.Val}");
            }
            var args = d.RemainingArgs();
            var zones = args.Count == 0 ? blockZones : ZoneNames.Normalize(args);
            var regexes = new List<GoRegex>();
            var answer = new List<GoTemplate>();
            var additional = new List<GoTemplate>();
            var authority = new List<GoTemplate>();
            var rcode = DnsRcode.NoError;
            var fall = Fallthrough.None;
            ExtendedError? extendedError = null;
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "match":
                        var patterns = d.RemainingArgs();
                        if (patterns.Count == 0)
                        {
                            throw d.ArgErr();
                        }
                        foreach (var pattern in patterns)
                        {
                            if (!GoRegex.TryCompile(pattern, out var regex, out var error))
                            {
                                throw d.Errf($"could not parse regex: {pattern}, {error}");
                            }
                            regexes.Add(regex!);
                        }
                        break;
                    case "answer":
                        ParseTemplates(d, "answer", answer);
                        break;
                    case "additional":
                        ParseTemplates(d, "additional", additional);
                        break;
                    case "authority":
                        ParseTemplates(d, "authority", authority);
                        break;
                    case "rcode":
                        if (!d.NextArg())
                        {
                            throw d.ArgErr();
                        }
                        if (!MiekgNames.TryParseRcode(d.Val, out rcode))
                        {
                            throw d.Errf($"unknown rcode {d.Val}");
                        }
                        break;
                    case "ederror":
                        var edeArgs = d.RemainingArgs();
                        if (edeArgs.Count is not (1 or 2))
                        {
                            throw d.ArgErr();
                        }
                        if (!ushort.TryParse(edeArgs[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
                        {
                            var reason = edeArgs[0].Length > 0 && edeArgs[0].All(char.IsAsciiDigit) ? "value out of range" : "invalid syntax";
                            throw d.Errf($"error parsing extended DNS error code {d.Val}, strconv.ParseUint: parsing \"{edeArgs[0]}\": {reason}");
                        }
                        extendedError = new ExtendedError(code, edeArgs.Count == 2 ? edeArgs[1] : string.Empty);
                        break;
                    case "fallthrough":
                        fall = Fallthrough.FromArgs(d.RemainingArgs());
                        break;
                    case "upstream":
                        // Accepted and ignored, as in CoreDNS: CNAME targets are always looked up.
                        d.RemainingArgs();
                        break;
                    default:
                        throw d.ArgErr();
                }
            }
            if (regexes.Count == 0 && GoRegex.TryCompile(".*", out var all, out _))
            {
                regexes.Add(all!);
            }
            templates.Add(new TemplateDefinition(@class, type, zones, regexes, answer, additional, authority, rcode, fall, extendedError));
        }
        return templates;
    }

    private static void ParseTemplates(Dispenser d, string section, List<GoTemplate> into)
    {
        var texts = d.RemainingArgs();
        if (texts.Count == 0)
        {
            throw d.ArgErr();
        }
        foreach (var text in texts)
        {
            try
            {
                into.Add(GoTemplate.Parse(section, text));
            }
            catch (GoTemplateException exception)
            {
                throw d.Errf($"could not compile template: {d.Val}, {exception.Message}");
            }
        }
    }
}
