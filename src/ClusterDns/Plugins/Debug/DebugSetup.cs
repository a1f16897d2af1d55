using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Debug;

/// <summary>Registers <c>debug</c> (no arguments; may repeat in a block).</summary>
public static class DebugSetup
{
    public static PluginDescriptor Descriptor { get; } = new("debug", Setup, OncePerBlock: false);

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
        // Lower the level now, as CoreDNS's setup does, so start-up debug lines of later plugins show.
        context.Services.SetMinimumLogLevel(LogLevel.Debug);
        context.AddLifecycle(new DebugPlugin(context.Services));
        return [];
    }
}
