using System.Collections.Concurrent;
using ClusterDns.Protocol;
using Microsoft.AspNetCore.Http;
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
public delegate ValueTask<DnsMessage?> InternalResolver(DnsName name, DnsType type, CancellationToken cancellationToken);

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

    /// <summary>Sets the minimum level of the process logger (the <c>debug</c> plugin lowers it to Debug). The host that
    /// owns the logger provider wires it; without that it does nothing.</summary>
    public Action<LogLevel> SetMinimumLogLevel { get; set; } = static _ => { };

    /// <summary>Set during shutdown: ready answers 503 "Shutting down".</summary>
    public bool ShuttingDown { get; set; }

    /// <summary>Starts, or re-routes, the HTTP server on <paramref name="address"/>.</summary>
    public async Task<HttpStatusServer> ServeHttpAsync(string address, IReadOnlyDictionary<string, RequestDelegate> routes)
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
