using ClusterDns.Corefile;
using ClusterDns.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Health;

/// <summary>Parsed <c>health</c> options.</summary>
internal sealed record HealthOptions(string Address, TimeSpan Lameduck);

/// <summary>
/// CoreDNS <c>health</c> (setup only, no query handler): <c>/health</c> answers 200 <c>OK</c> while the process
/// runs, and on final shutdown <c>lameduck</c> keeps DNS and HTTP serving for a while before sockets close.
/// The 1 s self-probe and its coredns_health_* metrics are left to the metrics work.
/// </summary>
public static partial class HealthPlugin
{
    public const string DefaultAddress = ":8080";
    public const string Path = "/health";

    public static PluginDescriptor Descriptor { get; } = new("health", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser);
        var logger = context.LoggerFactory.CreateLogger("plugin/health");
        context.AddHttpRoute(options.Address, Path, Handle);
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
        return new HealthOptions(address.Length == 0 ? DefaultAddress : address, lameduck);
    }

    private static Task Handle(HttpContext context)
    {
        // Always healthy while the process serves (CoreDNS ≥ 1.6.2); readiness is ready's job.
        context.Response.StatusCode = StatusCodes.Status200OK;
        return context.Response.WriteAsync("OK");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Going into lameduck mode for {Duration}")]
    private static partial void LogLameduck(ILogger logger, string duration);
}
