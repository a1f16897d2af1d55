using System.Text;

namespace ClusterDns.Server;

/// <summary>Serves one HTTP request of a side service (<c>/health</c>, <c>/ready</c>, <c>/metrics</c>).</summary>
public delegate Task HttpHandler(HttpExchange exchange);

/// <summary>
/// One request and the response being built for it. The body is buffered (the side services answer a few bytes, a
/// metrics scrape some kilobytes) and sent with a <c>Content-Length</c>, so a handler never deals with framing.
/// </summary>
public sealed class HttpExchange
{
    public const string TextPlain = "text/plain; charset=utf-8";

    internal HttpExchange(string method, string path, CancellationToken aborted)
    {
        Method = method;
        Path = path;
        Aborted = aborted;
    }

    public string Method { get; }

    /// <summary>The request target without its query string, e.g. <c>/health</c>.</summary>
    public string Path { get; }

    /// <summary>Cancelled when the connection or the server closes.</summary>
    public CancellationToken Aborted { get; }

    public int StatusCode { get; set; } = 200;

    public string ContentType { get; set; } = TextPlain;

    /// <summary>What the handler writes; sent once the handler completes.</summary>
    public MemoryStream Body { get; } = new();

    /// <summary>Sets the status and writes <paramref name="text"/> (UTF-8) as the body.</summary>
    public Task WriteAsync(int statusCode, string text)
    {
        StatusCode = statusCode;
        var bytes = Encoding.UTF8.GetBytes(text);
        Body.Write(bytes);
        return Task.CompletedTask;
    }
}
