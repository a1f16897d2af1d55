using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Reload;

/// <summary>
/// Setup-only plugin: every INTERVAL ± JITTER it hashes the Corefile (and imports) and, when the hash differs
/// from the running configuration's, asks the application to reload. The application builds and validates the
/// new configuration completely before swapping; a broken Corefile is logged and the old one keeps serving.
/// </summary>
public sealed partial class ReloadLifecycle : IPluginLifecycle
{
    private readonly ReloadOptions _options;
    private readonly IReloadController _controller;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private CancellationTokenSource? _stopping;

    /// <summary>SHA512 of the configuration this lifecycle belongs to (set once it is built; its start is that
    /// configuration going live, while <see cref="IReloadController.CurrentHash"/> still names the old one).</summary>
    internal string? ConfigHash { get; set; }

    public ReloadLifecycle(ReloadOptions options, IReloadController controller, ILogger logger, TimeProvider? time = null)
    {
        _options = options;
        _controller = controller;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var hash = ConfigHash ?? _controller.CurrentHash ?? _controller.ComputeHash();
        LogRunning(_logger, hash ?? "-");
        if (hash is not null)
        {
            ReloadMetrics.SetVersion(hash);
        }
        _stopping = new CancellationTokenSource();
        _ = WatchAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        // Like CoreDNS, a Corefile that failed to load is not retried until it changes again.
        string? attempted = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var jitterMs = _options.Jitter.TotalMilliseconds;
            var delay = _options.Interval + TimeSpan.FromMilliseconds(jitterMs == 0 ? 0 : (Random.Shared.NextDouble() * 2 - 1) * jitterMs);
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var onDisk = _controller.ComputeHash();
            if (onDisk is null || onDisk == _controller.CurrentHash || onDisk == attempted)
            {
                continue;
            }
            attempted = onDisk;
            // Not awaited: a successful reload stops this lifecycle, which must not wait for itself.
            _ = ReloadAndCountAsync();
        }
    }

    /// <summary>CoreDNS counts <c>coredns_reload_failed_total</c> for the reloads this plugin starts that do not go live.</summary>
    private async Task ReloadAndCountAsync()
    {
        bool reloaded;
        try
        {
            reloaded = await _controller.ReloadAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogReloadError(_logger, exception.Message);
            reloaded = false;
        }
        if (!reloaded)
        {
            ReloadMetrics.Failed.Inc();
            if (ConfigHash is { } running)
            {
                // The failed configuration's reload lifecycle may have published its hash before the swap failed.
                ReloadMetrics.SetVersion(running);
            }
        }
    }

    public Task StopAsync()
    {
        _stopping?.Cancel();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Corefile changed but reload failed: {Reason}")]
    private static partial void LogReloadError(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Running configuration SHA512 = {Hash}")]
    private static partial void LogRunning(ILogger logger, string hash);
}
