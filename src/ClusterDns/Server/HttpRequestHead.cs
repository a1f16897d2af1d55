using System.Text;

namespace ClusterDns.Server;

/// <summary>
/// The request line and the few headers <see cref="HttpStatusServer"/> acts on, read from a connection into a
/// fixed buffer. Anything that is not a well-formed HTTP/1.x head within the buffer yields <c>null</c>: the server
/// closes such a connection without a reply.
/// </summary>
internal readonly record struct HttpRequestHead(string Method, string Path, bool KeepAlive, bool HasBody, int Length, int Remaining)
{
    private static ReadOnlySpan<byte> EndOfHead => "\r\n\r\n"u8;

    /// <summary>
    /// Reads until the blank line that ends the head. <paramref name="filled"/> bytes already in
    /// <paramref name="buffer"/> (pipelined after the previous request) count first. <see cref="Remaining"/> bytes
    /// after the head stay in the buffer, right after <see cref="Length"/>.
    /// </summary>
    public static async ValueTask<HttpRequestHead?> ReadAsync(Stream stream, byte[] buffer, int filled, CancellationToken cancellationToken)
    {
        while (true)
        {
            var end = buffer.AsSpan(0, filled).IndexOf(EndOfHead);
            if (end >= 0)
            {
                return Parse(buffer.AsSpan(0, end), end + EndOfHead.Length, filled);
            }
            if (filled == buffer.Length)
            {
                return null; // head too large
            }
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }
            filled += read;
        }
    }

    internal static HttpRequestHead? Parse(ReadOnlySpan<byte> head, int length, int filled)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        var firstSpace = requestLine.IndexOf((byte)' ');
        var lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        {
            return null;
        }
        var version = requestLine[(lastSpace + 1)..];
        bool keepAlive;
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            keepAlive = true;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            keepAlive = false;
        }
        else
        {
            return null;
        }
        var method = requestLine[..firstSpace];
        var target = requestLine[(firstSpace + 1)..lastSpace];
        if (!IsToken(method) || !TryPath(target, out var path))
        {
            return null;
        }
        var hasBody = false;
        var headers = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        while (!headers.IsEmpty)
        {
            var next = headers.IndexOf("\r\n"u8);
            var line = next < 0 ? headers : headers[..next];
            headers = next < 0 ? [] : headers[(next + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return null;
            }
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t');
            if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                if (ContainsToken(value, "close"u8))
                {
                    keepAlive = false;
                }
                else if (ContainsToken(value, "keep-alive"u8))
                {
                    keepAlive = true;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) ||
                     (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && !value.SequenceEqual("0"u8)))
            {
                hasBody = true;
            }
        }
        return new HttpRequestHead(Encoding.ASCII.GetString(method), path, keepAlive, hasBody, length, filled - length);
    }

    /// <summary>Origin form (<c>/ready?x=1</c> → <c>/ready</c>) or absolute form (<c>http://host:8181/ready</c>).</summary>
    private static bool TryPath(ReadOnlySpan<byte> target, out string path)
    {
        path = string.Empty;
        if (target.StartsWith("http://"u8) || target.StartsWith("https://"u8))
        {
            var afterScheme = target[(target.IndexOf("//"u8) + 2)..];
            var slash = afterScheme.IndexOf((byte)'/');
            target = slash < 0 ? "/"u8 : afterScheme[slash..];
        }
        if (target.IsEmpty || target[0] != (byte)'/')
        {
            return false;
        }
        var query = target.IndexOfAny((byte)'?', (byte)'#');
        if (query >= 0)
        {
            target = target[..query];
        }
        foreach (var b in target)
        {
            if (b <= 0x20 || b >= 0x7f)
            {
                return false;
            }
        }
        path = Encoding.ASCII.GetString(target);
        return true;
    }

    private static bool IsToken(ReadOnlySpan<byte> method)
    {
        foreach (var b in method)
        {
            if (b is < (byte)'A' or > (byte)'Z')
            {
                return false;
            }
        }
        return true;
    }

    private static bool ContainsToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        while (!value.IsEmpty)
        {
            var comma = value.IndexOf((byte)',');
            var item = (comma < 0 ? value : value[..comma]).Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(item, token))
            {
                return true;
            }
            value = comma < 0 ? [] : value[(comma + 1)..];
        }
        return false;
    }
}
