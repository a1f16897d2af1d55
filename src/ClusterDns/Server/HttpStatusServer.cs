using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>
/// A small Kestrel server for the HTTP side services (health, ready, metrics): one per address, several paths.
/// Kept alive across reloads while its address stays configured, so probes never see a gap.
/// </summary>
public sealed class HttpStatusServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile IReadOnlyDictionary<string, RequestDelegate> _routes;

    private HttpStatusServer(WebApplication app, IReadOnlyDictionary<string, RequestDelegate> routes)
    {
        _app = app;
        _routes = routes;
    }

    public string Address { get; private init; } = string.Empty;

    /// <summary>The port actually bound (useful with port 0 in tests).</summary>
    public int Port { get; private set; }

    public static async Task<HttpStatusServer> StartAsync(string address, IReadOnlyDictionary<string, RequestDelegate> routes)
    {
        var (host, port) = ParseAddress(address);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            if (host is null)
            {
                options.ListenAnyIP(port);
            }
            else if (host == "localhost")
            {
                options.ListenLocalhost(port);
            }
            else
            {
                options.Listen(IPAddress.Parse(host), port);
            }
            options.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(5);
            options.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            options.AddServerHeader = false;
        });
        var app = builder.Build();
        var server = new HttpStatusServer(app, routes) { Address = address };
        app.Run(context => server._routes.TryGetValue(context.Request.Path.Value ?? "/", out var handler)
            ? handler(context)
            : NotFound(context));
        await app.StartAsync().ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>();
        server.Port = port;
        if (addresses is not null)
        {
            foreach (var bound in addresses.Addresses)
            {
                server.Port = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port;
                break;
            }
        }
        return server;
    }

    /// <summary>Replaces the path table (reload) without closing the socket.</summary>
    public void SetRoutes(IReadOnlyDictionary<string, RequestDelegate> routes) => _routes = routes;

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    /// <summary><c>:8080</c>, <c>localhost:8080</c>, <c>127.0.0.1:8080</c>, <c>[::1]:8080</c>.</summary>
    public static (string? Host, int Port) ParseAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"invalid address \"{address}\": expected [HOST]:PORT");
        }
        var host = address[..colon].Trim('[', ']');
        if (host.Length == 0)
        {
            return (null, port);
        }
        if (host != "localhost" && !IPAddress.TryParse(host, out _))
        {
            throw new FormatException($"invalid address \"{address}\": host must be an IP address or localhost");
        }
        return (host, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
