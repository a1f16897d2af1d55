using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Ready;

/// <summary>Parsed <c>ready</c> options.</summary>
internal sealed record ReadyOptions(string Address, bool Continuously);

/// <summary>Registers <c>ready [ADDRESS] { monitor until-ready|continuously }</c>: the /ready route.</summary>
public static class ReadySetup
{
    public static PluginDescriptor Descriptor { get; } = new("ready", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser);
        // The configuration's readiness list is filled while later plugins set up: reading it per request sees every
        // reporter of this configuration.
        var ready = new ReadyPlugin(options, context.Collector.Readiness, context.Services, context.LoggerFactory.CreateLogger("plugin/ready"));
        context.AddHttpRoute(options.Address, ReadyPlugin.Path, ready.Handle);
        var services = context.Services;
        context.OnShutdown(() =>
        {
            services.ShuttingDown = true; // answer "Shutting down" during health's lameduck too
            return Task.CompletedTask;
        });
        return [];
    }

    internal static ReadyOptions Parse(Dispenser d)
    {
        var address = ReadyPlugin.DefaultAddress;
        var continuously = false;
        while (d.Next())
        {
            address = HttpAddress.ReadOptional(d) ?? address;
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "monitor":
                        var monitorArgs = d.RemainingArgs();
                        if (monitorArgs.Count != 1)
                        {
                            throw d.ArgErr();
                        }
                        continuously = monitorArgs[0] switch
                        {
                            "until-ready" => false,
                            "continuously" => true,
                            _ => throw d.Err($"monitor type '{monitorArgs[0]}' not supported"),
                        };
                        break;
                    default:
                        throw d.Err($"unknown property '{d.Val}'");
                }
            }
        }
        return new ReadyOptions(address, continuously);
    }
}
