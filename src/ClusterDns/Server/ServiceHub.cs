using System.Collections.Concurrent;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>Implemented by plugins whose readiness <c>ready</c> reports (kubernetes: synced).</summary>
public interface IReadinessReporter
{
    string Name { get; }

    bool IsReady { get; }
}

/// <summary>Implemented by plugins with background work: started before a configuration serves, stopped after it is replaced.</summary>
public interface IPluginLifecycle
{
    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync();
}

/// <summary>Resolves a question through a listener's own chain (CoreDNS's "upstream" for ExternalName, loop probes, autopath).</summary>
public delegate ValueTask<DnsMessage?> InternalResolver(DnsName name, DnsType type, CancellationToken cancellationToken, DnsRequest? origin = null);

/// <summary>What the <c>reload</c> plugin needs from the running application.</summary>
public interface IReloadController
{
    /// <summary>SHA-512 (hex) of the configuration currently serving.</summary>
    string? CurrentHash { get; }

    /// <summary>SHA-512 of the Corefile and imports as they are on disk now; null if unreadable or not a file.</summary>
    string? ComputeHash();

    /// <summary>Reloads; false (old configuration kept) when the new one fails.</summary>
    Task<bool> ReloadAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// Process-wide services that outlive a configuration: the HTTP side listeners (shared per address and
/// kept across reloads), readiness reporters of the current configuration, shutdown hooks (lameduck).
/// </summary>
public sealed class ServiceHub : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, HttpStatusServer> _httpServers = new(StringComparer.Ordinal);

    public ServiceHub(ILoggerFactory loggerFactory)
    {
        LoggerFactory = loggerFactory;
    }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Set by the application; null when running without a reloadable Corefile.</summary>
    public IReloadController? Reloader { get; set; }

    /// <summary>The bound UDP endpoint of a listener address (the real port when the Corefile said 0).</summary>
    public Func<string, System.Net.IPEndPoint?> EndpointOf { get; set; } = _ => null;

    /// <summary>Ends the process after a fatal condition (loop detected). Tests replace it.</summary>
    public Action<string> Fatal { get; set; } = message =>
    {
        Console.Out.WriteLine("[FATAL] " + message);
        Console.Out.Flush();
        Environment.Exit(1);
    };

    /// <summary>Sets the minimum level of the process logger (the <c>debug</c> plugin lowers it to Debug). The host that
    /// owns the logger provider wires it; without that it does nothing.</summary>
    public Action<LogLevel> SetMinimumLogLevel { get; set; } = static _ => { };

    /// <summary>Set during shutdown: ready answers 503 "Shutting down".</summary>
    public bool ShuttingDown { get; set; }

    /// <summary>Starts, or re-routes, the HTTP server on <paramref name="address"/>.</summary>
    public async Task<HttpStatusServer> ServeHttpAsync(string address, IReadOnlyDictionary<string, HttpHandler> routes)
    {
        if (_httpServers.TryGetValue(address, out var existing))
        {
            existing.SetRoutes(routes);
            return existing;
        }
        var server = await HttpStatusServer.StartAsync(address, routes).ConfigureAwait(false);
        _httpServers[address] = server;
        return server;
    }

    /// <summary>Closes HTTP servers whose address the new configuration no longer uses.</summary>
    public async Task RetainHttpAsync(IReadOnlySet<string> addresses)
    {
        foreach (var (address, server) in _httpServers)
        {
            if (!addresses.Contains(address) && _httpServers.TryRemove(address, out _))
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public HttpStatusServer? GetHttpServer(string address) => _httpServers.TryGetValue(address, out var server) ? server : null;

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _httpServers.Values)
        {
            await server.DisposeAsync().ConfigureAwait(false);
        }
        _httpServers.Clear();
    }
}
