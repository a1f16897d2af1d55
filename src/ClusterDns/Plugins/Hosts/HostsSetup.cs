using System.Globalization;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Hosts;

/// <summary>Parsed <c>hosts</c> options (immutable).</summary>
internal sealed record HostsOptions(
    string Path,
    bool PathGiven,
    IReadOnlyList<string> Origins,
    IReadOnlyList<string> Inline,
    uint Ttl,
    bool AutoReverse,
    TimeSpan Reload,
    Fallthrough Fallthrough);

/// <summary>Parses <c>hosts [FILE [ZONES...]] { INLINE; ttl; no_reverse; reload; fallthrough }</c> as CoreDNS's hostsParse.</summary>
internal static partial class HostsSetup
{
    public static PluginDescriptor Descriptor { get; } = new("hosts", Setup);

    public const string DefaultPath = "/etc/hosts";

    public static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var logger = context.LoggerFactory.CreateLogger("plugin/hosts");
        var options = Parse(context.Dispenser, context.Zones, context.ResolvePath, logger);
        var plugin = new HostsPlugin(options, logger);
        context.AddLifecycle(plugin);
        return [plugin];
    }

    public static HostsOptions Parse(Dispenser d, IReadOnlyList<string> blockZones, Func<string, string> resolvePath, ILogger logger)
    {
        var path = DefaultPath;
        var pathGiven = false;
        IReadOnlyList<string> origins = blockZones;
        var inline = new List<string>();
        uint ttl = 3600;
        var autoReverse = true;
        var reload = TimeSpan.FromSeconds(5);
        var fall = Fallthrough.None;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count >= 1)
            {
                path = resolvePath(args[0]);
                pathGiven = true;
                if (Directory.Exists(path))
                {
                    LogDirectory(logger, path);
                }
                else if (!File.Exists(path))
                {
                    LogMissing(logger, path);
                }
                if (args.Count > 1)
                {
                    var zones = new List<string>(args.Count - 1);
                    for (var i = 1; i < args.Count; i++)
                    {
                        zones.Add(args[i]);
                    }
                    origins = ZoneNames.Normalize(zones);
                }
            }
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "fallthrough":
                        fall = Fallthrough.Parse(d);
                        break;
                    case "no_reverse":
                        autoReverse = false;
                        break;
                    case "ttl":
                        var ttlArgs = d.RemainingArgs();
                        if (ttlArgs.Count < 1)
                        {
                            throw d.Err("ttl needs a time in second");
                        }
                        if (!int.TryParse(ttlArgs[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
                        {
                            throw d.Err("ttl needs a number of second");
                        }
                        if (seconds is <= 0 or > 65535)
                        {
                            throw d.Err("ttl provided is invalid");
                        }
                        ttl = (uint)seconds;
                        break;
                    case "reload":
                        var reloadArgs = d.RemainingArgs();
                        if (reloadArgs.Count != 1)
                        {
                            throw d.Err("reload needs a duration (zero seconds to disable)");
                        }
                        if (!GoDuration.TryParse(reloadArgs[0], out reload, out _))
                        {
                            throw d.Err($"invalid duration for reload '{reloadArgs[0]}'");
                        }
                        if (reload < TimeSpan.Zero)
                        {
                            throw d.Err($"invalid negative duration for reload '{reloadArgs[0]}'");
                        }
                        break;
                    default:
                        // Unknown words are inline host lines until a fallthrough has been seen (CoreDNS quirk).
                        if (!fall.IsEnabled)
                        {
                            var line = new List<string> { d.Val };
                            line.AddRange(d.RemainingArgs());
                            inline.Add(string.Join(' ', line));
                            continue;
                        }
                        throw d.Err($"unknown property '{d.Val}'");
                }
            }
        }
        return new HostsOptions(path, pathGiven, origins, inline, ttl, autoReverse, reload, fall);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "File does not exist: {Path}")]
    private static partial void LogMissing(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hosts file \"{Path}\" is a directory")]
    private static partial void LogDirectory(ILogger logger, string path);
}
