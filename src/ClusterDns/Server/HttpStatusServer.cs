using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ClusterDns.Server;

/// <summary>
/// The HTTP side services (health, ready, metrics): one small HTTP/1.1 server per address, several paths. Kept alive
/// across reloads while its address stays configured, so probes never see a gap.
/// <para>
/// Written on sockets rather than Kestrel: these endpoints answer a handful of GETs per minute, and ASP.NET Core's
/// hosting, DI and Kestrel assemblies cost ~26 MiB of resident memory (docs/PERFORMANCE.md, "Footprint"). What it
/// does: request line and headers up to <see cref="MaxHeadBytes"/>, any method (as CoreDNS's handlers), keep-alive
/// for HTTP/1.1 unless <c>Connection: close</c>, request bodies refused, a 5 s deadline for each request head and
/// idle gap, at most <see cref="MaxConnections"/> connections (more are closed at once).
/// </para>
/// </summary>
public sealed class HttpStatusServer : IAsyncDisposable
{
    public const int MaxHeadBytes = 16 * 1024;
    public const int MaxConnections = 64;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket[] _listeners;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _acceptLoops = [];
    private volatile IReadOnlyDictionary<string, HttpHandler> _routes;
    private int _connections;

    private HttpStatusServer(Socket[] listeners, IReadOnlyDictionary<string, HttpHandler> routes, string address)
    {
        _listeners = listeners;
        _routes = routes;
        Address = address;
        Port = ((IPEndPoint)listeners[0].LocalEndPoint!).Port;
    }

    public string Address { get; }

    /// <summary>The port actually bound (useful with port 0 in tests).</summary>
    public int Port { get; }

    public static Task<HttpStatusServer> StartAsync(string address, IReadOnlyDictionary<string, HttpHandler> routes)
    {
        var (host, port) = ParseAddress(address);
        var listeners = Bind(host, port);
        var server = new HttpStatusServer(listeners, routes, address);
        foreach (var listener in listeners)
        {
            server._acceptLoops.Add(server.AcceptLoopAsync(listener));
        }
        return Task.FromResult(server);
    }

    /// <summary>Replaces the path table (reload) without closing the socket.</summary>
    public void SetRoutes(IReadOnlyDictionary<string, HttpHandler> routes) => _routes = routes;

    /// <summary><c>:8080</c>, <c>localhost:8080</c>, <c>127.0.0.1:8080</c>, <c>[::1]:8080</c>.</summary>
    public static (string? Host, int Port) ParseAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
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

    /// <summary>No host: every address (IPv6 dual-stack, or IPv4 where IPv6 is off); <c>localhost</c>: both loopbacks.</summary>
    private static Socket[] Bind(string? host, int port)
    {
        if (host is null)
        {
            return Socket.OSSupportsIPv6 && TryListen(IPAddress.IPv6Any, port, dualMode: true) is { } any
                ? [any]
                : [Listen(IPAddress.Any, port)];
        }
        if (host == "localhost")
        {
            var v4 = Listen(IPAddress.Loopback, port);
            var bound = ((IPEndPoint)v4.LocalEndPoint!).Port;
            return Socket.OSSupportsIPv6 && TryListen(IPAddress.IPv6Loopback, bound, dualMode: false) is { } v6 ? [v4, v6] : [v4];
        }
        return [Listen(IPAddress.Parse(host), port)];
    }

    private static Socket? TryListen(IPAddress address, int port, bool dualMode)
    {
        try
        {
            return Listen(address, port, dualMode);
        }
        catch (SocketException error) when (error.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
        {
            return null;
        }
    }

    private static Socket Listen(IPAddress address, int port, bool dualMode = false)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualMode)
            {
                socket.DualMode = true;
            }
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(128);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        var stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
                continue; // e.g. a connection reset before it was accepted
            }
            if (Interlocked.Increment(ref _connections) > MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                connection.Dispose();
                continue;
            }
            _ = ServeConnectionAsync(connection);
        }
    }

    private async Task ServeConnectionAsync(Socket socket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: true);
            var filled = 0;
            while (!_stopping.IsCancellationRequested)
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                deadline.CancelAfter(IdleTimeout);
                var head = await HttpRequestHead.ReadAsync(stream, buffer, filled, deadline.Token).ConfigureAwait(false);
                if (head is null)
                {
                    return; // closed, timed out, or not HTTP: nothing more to say
                }
                var request = head.Value;
                var keepAlive = request.KeepAlive;
                var exchange = new HttpExchange(request.Method, request.Path, _stopping.Token);
                if (request.HasBody)
                {
                    // Nothing here takes a body; refusing it keeps the framing simple and the connection honest.
                    exchange.StatusCode = 413;
                    keepAlive = false;
                }
                else if (_routes.TryGetValue(request.Path, out var handler))
                {
                    await RunAsync(handler, exchange).ConfigureAwait(false);
                }
                else
                {
                    exchange.StatusCode = 404;
                }
                await WriteResponseAsync(stream, exchange, request.Method == "HEAD", keepAlive).ConfigureAwait(false);
                if (!keepAlive)
                {
                    return;
                }
                // Pipelined bytes after this request's head start the next one.
                Buffer.BlockCopy(buffer, request.Length, buffer, 0, request.Remaining);
                filled = request.Remaining;
            }
        }
        catch (Exception error) when (error is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer went away or the server is stopping.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _connections);
        }
    }

    /// <summary>A handler that fails answers 500; the connection and the server carry on.</summary>
    private static async Task RunAsync(HttpHandler handler, HttpExchange exchange)
    {
        try
        {
            await handler(exchange).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            exchange.Body.SetLength(0);
            await exchange.WriteAsync(500, error.Message).ConfigureAwait(false);
        }
    }

    private static async Task WriteResponseAsync(Stream stream, HttpExchange exchange, bool headOnly, bool keepAlive)
    {
        var body = exchange.Body;
        var head = string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {exchange.StatusCode} {ReasonPhrase(exchange.StatusCode)}\r\nContent-Type: {exchange.ContentType}\r\nContent-Length: {body.Length}\r\nDate: {DateTime.UtcNow:R}\r\n{(keepAlive ? string.Empty : "Connection: close\r\n")}\r\n");
        // One write: the head and the body leave in one segment.
        var bodyLength = headOnly ? 0 : (int)body.Length;
        var response = new byte[Encoding.ASCII.GetByteCount(head) + bodyLength];
        var written = Encoding.ASCII.GetBytes(head, response);
        body.GetBuffer().AsSpan(0, bodyLength).CopyTo(response.AsSpan(written));
        await stream.WriteAsync(response, exchange.Aborted).ConfigureAwait(false);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        // _stopping is left undisposed: connections still winding down read its token.
    }
}
