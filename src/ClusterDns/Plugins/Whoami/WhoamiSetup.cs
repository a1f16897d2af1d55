using ClusterDns.Server;

namespace ClusterDns.Plugins.Whoami;

/// <summary>Registers <c>whoami</c>, which takes no arguments.</summary>
public static class WhoamiSetup
{
    public static PluginDescriptor Descriptor { get; } = new("whoami", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        while (d.Next())
        {
            if (d.NextArg())
            {
                throw d.ArgErr();
            }
        }
        return [new WhoamiPlugin()];
    }
}
