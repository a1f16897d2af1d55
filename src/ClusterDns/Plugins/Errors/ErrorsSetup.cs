using System.Text.RegularExpressions;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Errors;

/// <summary>One <c>consolidate</c> rule, immutable once parsed.</summary>
internal sealed record ConsolidateRule(TimeSpan Period, Regex Pattern, string PatternText, LogLevel Level, bool ShowFirst);

/// <summary>Parsed <c>errors</c> options.</summary>
internal sealed record ErrorsOptions(IReadOnlyList<ConsolidateRule> Rules, bool Stacktrace);

/// <summary>Parses <c>errors [stdout] { stacktrace; consolidate DURATION REGEXP [LEVEL] [show_first] }</c> with CoreDNS's error texts.</summary>
internal static class ErrorsSetup
{
    public static PluginDescriptor Descriptor { get; } = new("errors", Setup);

    /// <summary>CoreDNS refuses longer patterns (regexp compilation cost).</summary>
    private const int MaxRegexpLength = 10000;

    public static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser);
        var plugin = new ErrorsPlugin(options, context.LoggerFactory.CreateLogger("plugin/errors"));
        // Stopping the configuration (reload or final shutdown) flushes pending summaries, as CoreDNS's OnShutdown does.
        context.AddLifecycle(plugin);
        if (options.Stacktrace)
        {
            context.LogPanicStacktraces();
        }
        return [plugin];
    }

    public static ErrorsOptions Parse(Dispenser d)
    {
        var rules = new List<ConsolidateRule>();
        var stacktrace = false;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            switch (args.Count)
            {
                case 0:
                    break;
                case 1:
                    if (args[0] != "stdout")
                    {
                        throw d.Err($"invalid log file: {args[0]}");
                    }
                    break;
                default:
                    throw d.ArgErr();
            }
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "stacktrace":
                    case "panicRecoveryStacktrace": // the 1.9-1.10 name of the same option
                        stacktrace = true;
                        break;
                    case "consolidate":
                        rules.Add(ParseConsolidate(d));
                        break;
                    default:
                        throw d.SyntaxErr("Unknown field " + d.Val);
                }
            }
        }
        return new ErrorsOptions(rules, stacktrace);
    }

    private static ConsolidateRule ParseConsolidate(Dispenser d)
    {
        var args = d.RemainingArgs();
        if (args.Count is < 2 or > 4)
        {
            throw d.ArgErr();
        }
        if (!GoDuration.TryParse(args[0], out var period, out var error))
        {
            throw d.Err(error);
        }
        if (args[1].Length > MaxRegexpLength)
        {
            throw d.Err($"regex pattern too long: {args[1].Length} > {MaxRegexpLength}");
        }
        Regex pattern;
        try
        {
            // Non-backtracking: linear-time like Go's RE2, so a pattern cannot stall the error path.
            pattern = new Regex(args[1], RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            throw d.Err($"error parsing regexp: {exception.Message}");
        }
        LogLevel? level = null;
        var showFirst = false;
        for (var i = 2; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "show_first")
            {
                showFirst = true;
                continue;
            }
            LogLevel? parsed = arg switch
            {
                "warning" => LogLevel.Warning,
                "error" => LogLevel.Error,
                "info" => LogLevel.Information,
                "debug" => LogLevel.Debug,
                _ => null,
            };
            if (parsed is null)
            {
                throw d.Err($"unknown log level argument in consolidate: {arg}");
            }
            if (level is not null)
            {
                throw d.Err("multiple log levels specified in consolidate");
            }
            level = parsed;
        }
        return new ConsolidateRule(period, pattern, args[1], level ?? LogLevel.Error, showFirst);
    }
}
