using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Log;

/// <summary>Response classes of CoreDNS's <c>response.Class</c>, as flags so a rule holds a set.</summary>
[Flags]
internal enum ResponseClass
{
    None = 0,
    Success = 1,
    Denial = 2,
    Error = 4,
    All = 8,
}

/// <summary>One name scope with its format, classes and minimum duration.</summary>
internal sealed record LogRule(string NameScope, byte[] ScopeWire, LogFormat Format, ResponseClass Classes, TimeSpan MinDuration);

/// <summary>Parses <c>log [NAMES...] [FORMAT] { class ...; minDuration [D] }</c> exactly as CoreDNS's logParse.</summary>
internal static class LogSetup
{
    public static PluginDescriptor Descriptor { get; } = new("log", Setup, OncePerBlock: false);

    public const string CommonLogFormat = "{remote}:{port} - {>id} \"{type} {class} {name} {proto} {size} {>do} {>bufsize}\" {rcode} {>rflags} {rsize} {duration}";
    public const string CombinedLogFormat = CommonLogFormat + " \"{>opcode}\"";
    private static readonly byte[] NeverMatches = new byte[DnsName.MaxWireLength + 1];
    private static readonly TimeSpan DefaultMinDuration = TimeSpan.FromMilliseconds(100);

    public static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var rules = Parse(context.Dispenser);
        // No plugin/ prefix: query lines print as "[INFO] <line>" like CoreDNS's clog.Infof.
        return [new LogPlugin(rules, context.LoggerFactory.CreateLogger("log"))];
    }

    public static IReadOnlyList<LogRule> Parse(Dispenser d)
    {
        var rules = new List<LogRule>();
        while (d.Next())
        {
            var args = d.RemainingArgs();
            var names = new List<string>();
            var format = CommonLogFormat;
            switch (args.Count)
            {
                case 0:
                    names.Add(".");
                    break;
                case 1:
                    // A single argument is always a name scope, even if it looks like a format.
                    names.Add(args[0]);
                    break;
                default:
                    var last = args[^1];
                    var count = args.Count;
                    if (last.Contains('{', StringComparison.Ordinal))
                    {
                        format = last switch
                        {
                            "{common}" => CommonLogFormat,
                            "{combined}" => CombinedLogFormat,
                            _ => last,
                        };
                        count--;
                    }
                    for (var i = 0; i < count; i++)
                    {
                        names.Add(args[i]);
                    }
                    break;
            }
            var classes = ResponseClass.None;
            var minDuration = TimeSpan.Zero;
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "class":
                        var classArgs = d.RemainingArgs();
                        if (classArgs.Count == 0)
                        {
                            throw d.ArgErr();
                        }
                        foreach (var arg in classArgs)
                        {
                            classes |= arg switch
                            {
                                "all" => ResponseClass.All,
                                "success" => ResponseClass.Success,
                                "denial" => ResponseClass.Denial,
                                "error" => ResponseClass.Error,
                                // Not a dispenser error in CoreDNS: no file:line prefix.
                                _ => throw new FormatException($"invalid Class: {arg}"),
                            };
                        }
                        break;
                    case "minDuration":
                        var durationArgs = d.RemainingArgs();
                        if (durationArgs.Count > 1)
                        {
                            throw d.ArgErr();
                        }
                        if (durationArgs.Count == 0)
                        {
                            minDuration = DefaultMinDuration;
                        }
                        else if (!GoDuration.TryParse(durationArgs[0], out minDuration, out _))
                        {
                            throw d.Err($"Illegal duration found: '{durationArgs[0]}'");
                        }
                        break;
                    default:
                        throw d.ArgErr();
                }
            }
            if (classes == ResponseClass.None)
            {
                classes = ResponseClass.All;
            }
            var compiled = LogFormat.Parse(format);
            foreach (var name in names)
            {
                var scope = ZoneNames.Fqdn(name);
                // CoreDNS takes any text as a scope; one that is no valid name simply never matches.
                var wire = DnsName.TryParse(scope, out var scopeName) ? scopeName.ToLowerInvariant().Wire.ToArray() : NeverMatches;
                rules.Add(new LogRule(scope, wire, compiled, classes, minDuration));
            }
        }
        return rules;
    }

}
