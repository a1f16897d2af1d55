using ClusterDns.Corefile;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;

namespace ClusterDns.Plugins.K8sExternal;

/// <summary>The parsed <c>k8s_external</c> directive.</summary>
public sealed record K8sExternalOptions
{
    /// <summary>Zones served, lower-case FQDNs (the server block's zones when none are given).</summary>
    public required IReadOnlyList<string> Zones { get; init; }

    /// <summary>The label under each zone holding the name-server records (<c>ns1.APEX.zone</c>), default <c>dns</c>.</summary>
    public string Apex { get; init; } = "dns";

    public uint Ttl { get; init; } = 5;

    /// <summary>Also answer headless services (and their endpoint names) from their endpoints.</summary>
    public bool Headless { get; init; }

    public Fallthrough Fallthrough { get; init; } = Fallthrough.None;
}

/// <summary>
/// CoreDNS <c>k8s_external [ZONE...] { apex APEX; ttl TTL; headless; fallthrough [ZONES...] }</c>: the same
/// options and error texts. The data comes from the <c>kubernetes</c> plugin of the same server block, which must
/// be present (CoreDNS fails start-up without it).
/// </summary>
public static class K8sExternalSetup
{
    public static PluginDescriptor Descriptor { get; } = new("k8s_external", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser, context.Zones);
        if (context.Block.Find("kubernetes") is null)
        {
            throw new ConfigException("kubernetes plugin not loaded");
        }
        var plugin = new K8sExternalPlugin(options);
        // The kubernetes plugin is set up after this one (plugin.cfg order): link once the block's chain exists.
        context.OnConfigBuilt(config =>
        {
            foreach (var block in config.Blocks)
            {
                if (!Contains(block.Plugins, plugin))
                {
                    continue;
                }
                foreach (var other in block.Plugins)
                {
                    if (other is KubernetesPlugin kubernetes)
                    {
                        plugin.Kubernetes = kubernetes;
                    }
                }
            }
        });
        return [plugin];
    }

    private static bool Contains(IReadOnlyList<DnsPlugin> plugins, DnsPlugin plugin)
    {
        foreach (var p in plugins)
        {
            if (ReferenceEquals(p, plugin))
            {
                return true;
            }
        }
        return false;
    }

    public static K8sExternalOptions Parse(Dispenser d, IReadOnlyList<string> blockZones)
    {
        var options = new K8sExternalOptions { Zones = blockZones };
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count > 0)
            {
                try
                {
                    options = options with { Zones = ZoneNames.Normalize(args) };
                }
                catch (FormatException e)
                {
                    throw new CorefileException(e.Message, d.File, d.Line);
                }
            }
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "ttl":
                    {
                        var a = d.RemainingArgs();
                        if (a.Count == 0)
                        {
                            throw d.ArgErr();
                        }
                        if (!GoStrconv.TryAtoi(a[0], out var ttl))
                        {
                            throw new ConfigException(GoStrconv.AtoiError(a[0]));
                        }
                        if (ttl is < 0 or > 3600)
                        {
                            throw d.Err($"ttl must be in range [0, 3600]: {ttl}");
                        }
                        options = options with { Ttl = (uint)ttl };
                        break;
                    }
                    case "apex":
                    {
                        var a = d.RemainingArgs();
                        if (a.Count == 0)
                        {
                            throw d.ArgErr();
                        }
                        options = options with { Apex = a[0].ToLowerInvariant() };
                        break;
                    }
                    case "headless":
                    {
                        // CoreDNS reads no argument here: a word after it is taken as the next property.
                        var a = d.RemainingArgs();
                        if (a.Count > 0)
                        {
                            throw d.Err($"unknown property '{a[0]}'");
                        }
                        options = options with { Headless = true };
                        break;
                    }
                    case "fallthrough":
                        options = options with { Fallthrough = Fallthrough.Parse(d) };
                        break;
                    default:
                        throw d.Err($"unknown property '{d.Val}'");
                }
            }
        }
        return options;
    }
}
