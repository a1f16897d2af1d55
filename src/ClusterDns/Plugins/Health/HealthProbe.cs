using System.Diagnostics;
using System.Net;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Health;

/// <summary>
/// health's self-probe (plugin/health/overloaded.go): every second GET its own <c>/health</c> (3 s timeout, no proxy),
/// observe <c>coredns_health_request_duration_seconds</c>, and on a transport error count
/// <c>coredns_health_request_failures_total</c> and log <c>Local health request to "URL" failed: …</c>; a probe slower
/// than 1 s logs <c>… took more than 1s: …</c>. A slow or failing local probe means the process is overloaded.
/// The GET is a few bytes over a socket rather than an <c>HttpClient</c>: a Corefile without the kubernetes plugin
/// then never loads the HTTP client stack (several MiB resident, docs/PERFORMANCE.md "Footprint").
/// </summary>
internal sealed partial class HealthProbe : IPluginLifecycle
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly string _address;
    private readonly ServiceHub _services;
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public HealthProbe(string address, ServiceHub services, ILogger logger, TimeSpan? interval = null)
    {
        _address = address;
        _services = services;
        _logger = logger;
        _interval = interval ?? TimeSpan.FromSeconds(1);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _loop = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        if (_stopping is null)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _stopping.Dispose();
        _stopping = null;
    }

    /// <summary><c>http://HOST:PORT/health</c> with the bound port (the address may say 0) and <c>localhost</c> for an
    /// empty host, as Go dials <c>:8080</c>; null until the listener exists (a configuration starts its plugins first).</summary>
    internal string? Url() => Target() is { } target ? target.Url : null;

    private (string Url, IPEndPoint EndPoint)? Target()
    {
        if (_services.GetHttpServer(_address) is not { Port: > 0 } server)
        {
            return null;
        }
        var (host, _) = HttpStatusServer.ParseAddress(_address);
        if (host is null || host == "localhost" || IPAddress.TryParse(host, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
        {
            return ($"http://localhost:{server.Port}{HealthPlugin.Path}", new IPEndPoint(IPAddress.Loopback, server.Port));
        }
        var address = IPAddress.Parse(host);
        var authority = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + host + "]" : host;
        return ($"http://{authority}:{server.Port}{HealthPlugin.Path}", new IPEndPoint(address, server.Port));
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (Target() is { } target)
                {
                    await ProbeAsync(target.Url, target.EndPoint, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ProbeAsync(string url, IPEndPoint endPoint, CancellationToken stopping)
    {
        var start = Stopwatch.GetTimestamp();
        var failure = await HttpGet.StatusLineAsync(url, endPoint, Timeout, stopping).ConfigureAwait(false);
        if (stopping.IsCancellationRequested)
        {
            return;
        }
        if (failure is not null)
        {
            HealthMetrics.RequestDuration.Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
            HealthMetrics.RequestFailures.Inc();
            LogFailed(_logger, url, failure);
            return;
        }
        var elapsed = Stopwatch.GetElapsedTime(start);
        HealthMetrics.RequestDuration.Observe(elapsed.TotalSeconds);
        if (elapsed > TimeSpan.FromSeconds(1))
        {
            LogSlow(_logger, url, GoDuration.Format(elapsed));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local health request to \"{Url}\" failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string url, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local health request to \"{Url}\" took more than 1s: {Elapsed}")]
    private static partial void LogSlow(ILogger logger, string url, string elapsed);
}
