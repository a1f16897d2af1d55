using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.ZoneFiles;

/// <summary>Parses <c>file DBFILE [ZONES...] { reload DURATION; fallthrough [ZONES...] }</c> as CoreDNS's fileParse and
/// loads every zone: a parse error fails the setup; an unreadable file too, unless reload is on (then it is retried).</summary>
public static class FileSetup
{
    public static readonly TimeSpan DefaultReload = TimeSpan.FromMinutes(1);

    public static PluginDescriptor Descriptor { get; } = new("file", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        var logger = context.LoggerFactory.CreateLogger("plugin/file");
        var sources = new List<FileSource>();
        var zones = new List<string>();
        var loaded = new List<FileZone?>();
        var sourceOf = new List<int>();
        var fallthrough = Fallthrough.None;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count < 1)
            {
                throw d.ArgErr();
            }
            var path = context.ResolvePath(args[0]);
            var origins = args.Count > 1 ? ZoneNames.Normalize(args.Skip(1)) : context.Zones;
            var reload = DefaultReload;
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "reload":
                        var value = d.RemainingArgs();
                        if (value.Count != 1)
                        {
                            throw d.ArgErr();
                        }
                        if (!GoDuration.TryParse(value[0], out reload, out var error))
                        {
                            throw new ConfigException(error);
                        }
                        break;
                    case "fallthrough":
                        fallthrough = Fallthrough.Parse(d);
                        break;
                    default:
                        throw d.Errf($"unknown property '{d.Val}'");
                }
            }
            string? text = null;
            string? openError = null;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                openError = $"open {path}: no such file or directory";
                if (exception is UnauthorizedAccessException)
                {
                    openError = $"open {path}: permission denied";
                }
            }
            var source = sources.Count;
            sources.Add(new FileSource(path, origins, reload));
            foreach (var origin in origins)
            {
                FileZone? zone = null;
                if (text is not null)
                {
                    try
                    {
                        zone = ZoneFile.Parse(text, Protocol.DnsName.Parse(origin), path);
                    }
                    catch (FormatException exception)
                    {
                        throw new ConfigException(exception.Message);
                    }
                }
                zones.Add(origin);
                loaded.Add(zone);
                sourceOf.Add(source);
            }
            if (openError is not null)
            {
                if (reload == TimeSpan.Zero)
                {
                    throw new ConfigException(openError);
                }
                LogRetrying(logger, openError, GoDuration.Format(reload));
            }
        }
        var plugin = new FilePlugin(sources, zones, [.. loaded], [.. sourceOf], fallthrough, context.Resolver, logger);
        context.AddLifecycle(plugin);
        return [plugin];
    }

    private static void LogRetrying(ILogger logger, string error, string reload) =>
        logger.LogWarning("Failed to open \"{Error}\": trying again in {Reload}", error, reload);
}
