using ClusterDns.Server;

namespace ClusterDns.Plugins.Any;

/// <summary>Parses <c>any</c>: no arguments, no block (CoreDNS reads only the first occurrence).</summary>
public static class AnySetup
{
    public static PluginDescriptor Descriptor { get; } = new("any", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        d.Next();
        if (d.NextArg())
        {
            throw d.ArgErr();
        }
        if (d.NextBlock())
        {
            throw d.Err($"unknown property '{d.Val}'");
        }
        return [new AnyPlugin()];
    }
}
