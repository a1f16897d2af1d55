using System.Runtime.CompilerServices;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Debug;

/// <summary>
/// CoreDNS <c>debug</c> (setup only): turns on <c>[DEBUG]</c> log lines for the process. CoreDNS also disables
/// panic recovery; ClusterDns keeps recovering (a crash would take every listener down) — see the README.
/// </summary>
public sealed class DebugPlugin : IPluginLifecycle
{
    /// <summary>How many running configurations asked for debug, per process hub: on reload the new configuration
    /// starts before the old one stops, so the level drops back only when no configuration wants it.</summary>
    private static readonly ConditionalWeakTable<ServiceHub, StrongBox<int>> Active = new();

    private readonly ServiceHub _services;

    internal DebugPlugin(ServiceHub services) => _services = services;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var count = Active.GetValue(_services, static _ => new StrongBox<int>());
        Interlocked.Increment(ref count.Value);
        _services.SetMinimumLogLevel(LogLevel.Debug);
        return Task.CompletedTask;
    }

    public Task StopAsync()
    {
        if (Active.TryGetValue(_services, out var count) && Interlocked.Decrement(ref count.Value) == 0)
        {
            _services.SetMinimumLogLevel(LogLevel.Information);
        }
        return Task.CompletedTask;
    }
}
