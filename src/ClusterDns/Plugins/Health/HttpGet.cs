using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ClusterDns.Plugins.Health;

/// <summary>
/// The smallest HTTP GET the self-probe needs: connect, send the request, wait for the status line. Any status line
/// is a success (Go's <c>client.Get</c> returns no error for a 503 either); the failure texts are Go's
/// <c>*url.Error</c> texts, so the log line reads as CoreDNS's.
/// </summary>
internal static class HttpGet
{
    /// <summary>Null on success, else why it failed.</summary>
    public static async Task<string?> StatusLineAsync(string url, IPEndPoint endPoint, TimeSpan timeout, CancellationToken stopping)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endPoint, deadline.Token).ConfigureAwait(false);
        }
        catch (SocketException error)
        {
            var network = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : endPoint.ToString();
            return $"Get \"{url}\": dial tcp {network}: connect: {GoText(error.SocketErrorCode, error.Message)}";
        }
        catch (OperationCanceledException)
        {
            return Timeout(url);
        }
        var host = new Uri(url).Authority;
        var request = Encoding.ASCII.GetBytes($"GET {HealthPlugin.Path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nConnection: close\r\n\r\n");
        var buffer = new byte[64];
        try
        {
            await socket.SendAsync(request, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            var filled = 0;
            while (filled < buffer.Length)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, deadline.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return $"Get \"{url}\": EOF";
                }
                filled += read;
                if (buffer.AsSpan(0, filled).IndexOf("\r\n"u8) >= 0)
                {
                    break;
                }
            }
            return buffer.AsSpan(0, filled).StartsWith("HTTP/1."u8)
                ? null
                : $"Get \"{url}\": net/http: HTTP/1.x transport connection broken: malformed HTTP response";
        }
        catch (SocketException error)
        {
            return $"Get \"{url}\": read tcp: {GoText(error.SocketErrorCode, error.Message)}";
        }
        catch (OperationCanceledException)
        {
            return Timeout(url);
        }
    }

    private static string Timeout(string url) =>
        $"Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)";

    private static string GoText(SocketError error, string message) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.NetworkUnreachable => "network is unreachable",
        SocketError.HostUnreachable => "no route to host",
        _ => message,
    };
}
