using ClusterDns.Corefile;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Autopath;

/// <summary>Parsed <c>autopath</c> options: the zones, and either a static search list or the name of the plugin that supplies one.</summary>
internal sealed record AutopathOptions(IReadOnlyList<string> Zones, SearchPath? Search, string? Provider);

/// <summary>Parses <c>autopath [ZONE...] RESOLV-CONF</c> as CoreDNS's autoPathParse; <c>@NAME</c> is wired to that plugin once the block is built.</summary>
internal static class AutopathSetup
{
    public static PluginDescriptor Descriptor { get; } = new("autopath", Setup);

    public static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser, context.Zones, context.ResolvePath);
        var plugin = new AutopathPlugin(options);
        if (options.Provider is { } provider)
        {
            // CoreDNS looks the plugin up in OnStartup, when the whole block exists: autopath runs before kubernetes.
            context.OnConfigBuilt(config => Wire(config, plugin, provider));
        }
        return [plugin];
    }

    public static AutopathOptions Parse(Dispenser d, IReadOnlyList<string> blockZones, Func<string, string> resolvePath)
    {
        IReadOnlyList<string> zones = blockZones;
        SearchPath? search = null;
        string? provider = null;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count < 1)
            {
                throw new ConfigException("no resolv-conf specified");
            }
            var resolv = args[^1];
            if (resolv.Length > 0 && resolv[0] == '@')
            {
                provider = resolv[1..];
            }
            else
            {
                search = new SearchPath(ReadSearch(resolv, resolvePath(resolv)));
            }
            var zoneArgs = new List<string>(args.Count - 1);
            for (var i = 0; i < args.Count - 1; i++)
            {
                zoneArgs.Add(args[i]);
            }
            zones = zoneArgs.Count == 0 ? blockZones : ZoneNames.Normalize(zoneArgs);
        }
        return new AutopathOptions(zones, search, provider);
    }

    /// <summary>dns.ClientConfigFromFile: Go's open errors; a directory reads as empty (the scanner's error is never checked).</summary>
    private static List<string> ReadSearch(string given, string path)
    {
        if (Directory.Exists(path))
        {
            return [];
        }
        if (!File.Exists(path))
        {
            throw new ConfigException($"failed to parse \"{given}\": open {given}: no such file or directory");
        }
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (UnauthorizedAccessException)
        {
            throw new ConfigException($"failed to parse \"{given}\": open {given}: permission denied");
        }
        return ResolvConf.Normalize(ResolvConf.Search(text));
    }

    /// <summary>The block's plugin called <paramref name="provider"/> supplies the search path; none in the block: no autopath.</summary>
    private static void Wire(ServerConfig config, AutopathPlugin plugin, string provider)
    {
        foreach (var block in config.Blocks)
        {
            if (!Contains(block.Plugins, plugin))
            {
                continue;
            }
            foreach (var candidate in block.Plugins)
            {
                if (candidate.Name != provider)
                {
                    continue;
                }
                if (candidate is not IAutoPather pather)
                {
                    throw new ConfigException($"plugin/autopath: {provider} does not implement the AutoPather interface");
                }
                plugin.Source = pather;
                return;
            }
        }
    }

    private static bool Contains(IReadOnlyList<DnsPlugin> plugins, DnsPlugin plugin)
    {
        foreach (var candidate in plugins)
        {
            if (ReferenceEquals(candidate, plugin))
            {
                return true;
            }
        }
        return false;
    }
}
