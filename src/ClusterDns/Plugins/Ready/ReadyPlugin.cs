using ClusterDns.Corefile;
using ClusterDns.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Ready;

/// <summary>Parsed <c>ready</c> options.</summary>
internal sealed record ReadyOptions(string Address, bool Continuously);

/// <summary>
/// CoreDNS <c>ready</c> (setup only): <c>/ready</c> answers 200 <c>OK</c> once every readiness reporter of the
/// configuration is ready, else 503 with the sorted names of those that are not; 503 <c>Shutting down</c> once
/// shutdown began. With <c>monitor until-ready</c> (default) a reporter that was ready once is not asked again.
/// </summary>
public sealed partial class ReadyPlugin
{
    public const string DefaultAddress = ":8181";
    public const string Path = "/ready";

    private readonly IReadOnlyList<IReadinessReporter> _reporters;
    private readonly ServiceHub _services;
    private readonly ILogger _logger;
    private readonly HashSet<IReadinessReporter> _readyOnce = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();

    private ReadyPlugin(ReadyOptions options, IReadOnlyList<IReadinessReporter> reporters, ServiceHub services, ILogger logger)
    {
        Options = options;
        _reporters = reporters;
        _services = services;
        _logger = logger;
    }

    public static PluginDescriptor Descriptor { get; } = new("ready", Setup);

    internal ReadyOptions Options { get; }

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser);
        // The configuration's readiness list is filled while later plugins set up: reading it per request sees every
        // reporter of this configuration.
        var ready = new ReadyPlugin(options, context.Collector.Readiness, context.Services, context.LoggerFactory.CreateLogger("plugin/ready"));
        context.AddHttpRoute(options.Address, Path, ready.Handle);
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
        var address = DefaultAddress;
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

    /// <summary>Comma-separated sorted names of reporters not ready, or null when all are.</summary>
    internal string? NotReady()
    {
        List<string>? names = null;
        lock (_gate)
        {
            foreach (var reporter in _reporters)
            {
                if (!Options.Continuously && _readyOnce.Contains(reporter))
                {
                    continue;
                }
                if (reporter.IsReady)
                {
                    if (!Options.Continuously)
                    {
                        _readyOnce.Add(reporter);
                    }
                    continue;
                }
                (names ??= []).Add(reporter.Name);
            }
        }
        if (names is null)
        {
            return null;
        }
        names.Sort(StringComparer.Ordinal);
        return string.Join(',', names);
    }

    private Task Handle(HttpContext context)
    {
        if (_services.ShuttingDown)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync("Shutting down");
        }
        var notReady = NotReady();
        if (notReady is null)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            return context.Response.WriteAsync("OK");
        }
        LogNotReady(_logger, notReady);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        return context.Response.WriteAsync(notReady);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Plugins not ready: \"{Names}\"")]
    private static partial void LogNotReady(ILogger logger, string names);
}
