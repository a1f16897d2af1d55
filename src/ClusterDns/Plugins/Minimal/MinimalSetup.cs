using ClusterDns.Server;

namespace ClusterDns.Plugins.Minimal;

/// <summary>Parses <c>minimal</c>: no arguments (CoreDNS reads only the first occurrence).</summary>
public static class MinimalSetup
{
    public static PluginDescriptor Descriptor { get; } = new("minimal", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        d.Next();
        if (d.NextArg())
        {
            throw d.ArgErr();
        }
        return [new MinimalPlugin()];
    }
}
