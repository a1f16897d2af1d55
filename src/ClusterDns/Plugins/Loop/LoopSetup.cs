using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Loop;

/// <summary>Registers <c>loop</c> (no arguments): one probe per block, for the block's first zone.</summary>
public static class LoopSetup
{
    public static PluginDescriptor Descriptor { get; } = new("loop", Setup);

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
        var plugin = new LoopPlugin(context.Zones[0], context.ListenerAddress, context.Services, context.LoggerFactory.CreateLogger("plugin/loop"));
        context.AddLifecycle(plugin);
        return [plugin];
    }
}
