using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Health;

/// <summary>Parsed <c>health</c> options.</summary>
internal sealed record HealthOptions(string Address, TimeSpan Lameduck);

/// <summary>Registers <c>health [ADDRESS] { lameduck DURATION }</c>: the /health route, its self-probe and lameduck.</summary>
public static partial class HealthSetup
{
    public static PluginDescriptor Descriptor { get; } = new("health", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser);
        var logger = context.LoggerFactory.CreateLogger("plugin/health");
        context.AddHttpRoute(options.Address, HealthPlugin.Path, HealthPlugin.Handle);
        context.AddLifecycle(new HealthProbe(options.Address, context.Services, logger));
        if (options.Lameduck > TimeSpan.Zero)
        {
            var services = context.Services;
            context.OnShutdown(async () =>
            {
                // ready must stop answering OK while we linger (CoreDNS shuts ready down before health's sleep).
                services.ShuttingDown = true;
                LogLameduck(logger, GoDuration.Format(options.Lameduck));
                await Task.Delay(options.Lameduck).ConfigureAwait(false);
            });
        }
        return [];
    }

    internal static HealthOptions Parse(Dispenser d)
    {
        var address = string.Empty;
        var lameduck = TimeSpan.Zero;
        while (d.Next())
        {
            address = HttpAddress.ReadOptional(d) ?? address;
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "lameduck":
                        var lameArgs = d.RemainingArgs();
                        if (lameArgs.Count != 1)
                        {
                            throw d.ArgErr();
                        }
                        if (!GoDuration.TryParse(lameArgs[0], out lameduck, out var error))
                        {
                            // Not a dispenser error in CoreDNS: no file:line prefix.
                            throw new FormatException($"unable to parse lameduck duration value: \"{lameArgs[0]}\": {error}");
                        }
                        break;
                    default:
                        throw d.ArgErr();
                }
            }
        }
        return new HealthOptions(address.Length == 0 ? HealthPlugin.DefaultAddress : address, lameduck);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Going into lameduck mode for {Duration}")]
    private static partial void LogLameduck(ILogger logger, string duration);
}
