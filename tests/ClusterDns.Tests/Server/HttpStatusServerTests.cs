using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Server;

namespace ClusterDns.Tests.Server;

/// <summary>The side services' small HTTP/1.1 server, over real sockets: what probes and scrapers send.</summary>
public sealed class HttpStatusServerTests : IAsyncLifetime
{
    private HttpStatusServer _server = null!;

    public async Task InitializeAsync()
    {
        var routes = new Dictionary<string, HttpHandler>(StringComparer.Ordinal)
        {
            ["/health"] = exchange => exchange.WriteAsync(200, "OK"),
            ["/ready"] = exchange => exchange.WriteAsync(503, "kubernetes"),
            ["/boom"] = _ => throw new InvalidOperationException("handler failed"),
        };
        _server = await HttpStatusServer.StartAsync("127.0.0.1:0", routes);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, string, string[]> Exchanges => new()
    {
        { "GET 200", "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 200 OK", "Content-Length: 2", "\r\n\r\nOK"] },
        { "query string ignored", "GET /health?verbose=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 200 OK"] },
        { "absolute form", "GET http://x:8080/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 200 OK"] },
        { "any method", "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", ["HTTP/1.1 200 OK"] },
        { "HEAD has no body", "HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 200 OK", "Content-Length: 2"] },
        { "503 with text", "GET /ready HTTP/1.0\r\n\r\n", ["HTTP/1.1 503 Service Unavailable", "\r\n\r\nkubernetes"] },
        { "unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 404 Not Found", "Content-Length: 0"] },
        { "handler throws", "GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 500 Internal Server Error", "handler failed"] },
        { "body refused", "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", ["HTTP/1.1 413 Payload Too Large", "Connection: close"] },
        { "pipelined keep-alive", "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ["HTTP/1.1 200 OK", "HTTP/1.1 503 Service Unavailable"] },
        { "not HTTP: closed silently", "HELLO\r\n\r\n", [] },
        { "bad version: closed silently", "GET /health HTTP/2.0\r\n\r\n", [] },
    };

    [Theory]
    [MemberData(nameof(Exchanges))]
    public async Task Each_request_gets_the_expected_status_and_body(string name, string request, string[] expected)
    {
        var response = await ExchangeAsync(request);
        if (expected.Length == 0)
        {
            Assert.True(response.Length == 0, $"{name}: expected no reply, got {response}");
        }
        foreach (var part in expected)
        {
            Assert.True(response.Contains(part, StringComparison.Ordinal), $"{name}: no \"{part}\" in {response}");
        }
        if (name == "HEAD has no body")
        {
            Assert.EndsWith("\r\n\r\n", response, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Keep_alive_serves_many_requests_on_one_connection()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _server.Port);
        var buffer = new byte[4096];
        for (var i = 0; i < 20; i++)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None);
            var text = string.Empty;
            while (!text.EndsWith("\r\n\r\nOK", StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                Assert.True(read > 0, $"request {i}: closed after \"{text}\"");
                text += Encoding.ASCII.GetString(buffer, 0, read);
            }
            Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_head_larger_than_the_limit_is_closed_and_the_server_keeps_serving()
    {
        var huge = "GET /health HTTP/1.1\r\nX: " + new string('a', HttpStatusServer.MaxHeadBytes) + "\r\n\r\n";
        Assert.Equal(string.Empty, await ExchangeAsync(huge));
        Assert.StartsWith("HTTP/1.1 200 OK", await ExchangeAsync("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Routes_swap_without_closing_the_socket()
    {
        _server.SetRoutes(new Dictionary<string, HttpHandler>(StringComparer.Ordinal) { ["/other"] = e => e.WriteAsync(200, "swapped") });
        Assert.Contains("swapped", await ExchangeAsync("GET /other HTTP/1.1\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
        Assert.Contains("404", await ExchangeAsync("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"), StringComparison.Ordinal);
    }

    private async Task<string> ExchangeAsync(string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, _server.Port);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        }
        catch (SocketException)
        {
            // The server may close before reading everything (an oversized head).
        }
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // reset after close: what arrived is the answer
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }
}
