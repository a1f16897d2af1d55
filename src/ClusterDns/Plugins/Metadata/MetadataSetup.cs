using ClusterDns.Corefile;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Metadata;

/// <summary>Parses <c>metadata [ZONES...]</c> as CoreDNS's metadataParse: zones default to the block's, no block or
/// second directive allowed.</summary>
public static class MetadataSetup
{
    public static PluginDescriptor Descriptor { get; } = new("metadata", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        d.Next();
        var args = d.RemainingArgs();
        var zones = args.Count == 0 ? context.Zones : ZoneNames.Normalize(args);
        if (d.NextBlock() || d.Next())
        {
            throw d.ArgErr();
        }
        var plugin = new MetadataPlugin(new ZoneSet(zones));
        context.OnConfigBuilt(config =>
        {
            foreach (var block in config.Blocks)
            {
                if (!Contains(block.Plugins, plugin))
                {
                    continue;
                }
                var providers = new List<IMetadataProvider>();
                foreach (var handler in block.Plugins)
                {
                    if (handler is IMetadataProvider provider)
                    {
                        providers.Add(provider);
                    }
                }
                plugin.SetProviders([.. providers]);
            }
        });
        return [plugin];
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
