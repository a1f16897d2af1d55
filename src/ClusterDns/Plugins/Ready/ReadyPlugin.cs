using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Ready;

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

    internal ReadyPlugin(ReadyOptions options, IReadOnlyList<IReadinessReporter> reporters, ServiceHub services, ILogger logger)
    {
        Options = options;
        _reporters = reporters;
        _services = services;
        _logger = logger;
    }

    internal ReadyOptions Options { get; }

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

    internal Task Handle(HttpExchange exchange)
    {
        if (_services.ShuttingDown)
        {
            return exchange.WriteAsync(503, "Shutting down");
        }
        var notReady = NotReady();
        if (notReady is null)
        {
            return exchange.WriteAsync(200, "OK");
        }
        LogNotReady(_logger, notReady);
        return exchange.WriteAsync(503, notReady);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Plugins not ready: \"{Names}\"")]
    private static partial void LogNotReady(ILogger logger, string names);
}
