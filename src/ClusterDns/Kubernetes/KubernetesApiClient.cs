using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Authentication;

namespace ClusterDns.Kubernetes;

/// <summary>A non-success answer of the API server, or an ERROR event of a watch; <see cref="Code"/> is its HTTP
/// status (410 Gone: the resourceVersion expired, relist).</summary>
public sealed class KubernetesApiException(int code, string message) : Exception(message)
{
    public int Code => code;
}

/// <summary>
/// The list and watch requests of the kubernetes plugin, over one <see cref="HttpClient"/>. The connection comes from
/// KubernetesClient's <see cref="KubernetesClientConfiguration"/> (kubeconfig, in-cluster, <c>endpoint</c>/<c>tls</c>):
/// its CA check, client certificate and credentials (bearer token, token file, basic auth) are applied here with the
/// library's own helpers. The library's generated API class is not used: its typed operations read every answer
/// through a serializer that covers all ~1,000 API types, which made up over a third of the native AOT image
/// (docs/performance/footprint.md). Answers are read with <see cref="ApiJson"/>.
/// </summary>
public sealed class KubernetesApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly ServiceClientCredentials? _credentials;
    private readonly string? _userAgent;

    /// <param name="handlers">Delegating handlers, outermost first (e.g. rate limits, then request metrics).</param>
    public KubernetesApiClient(KubernetesClientConfiguration config, params DelegatingHandler[] handlers)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (string.IsNullOrWhiteSpace(config.Host) || !Uri.TryCreate(config.Host, UriKind.Absolute, out var host))
        {
            throw new k8s.Exceptions.KubeConfigException($"bad API server URL '{config.Host}'");
        }
        _base = new Uri(host.AbsoluteUri.EndsWith('/') ? host.AbsoluteUri : host.AbsoluteUri + "/");
        var sockets = new SocketsHttpHandler
        {
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        sockets.SslOptions.ClientCertificates = [];
        if (_base.Scheme == Uri.UriSchemeHttps)
        {
            ConfigureTls(sockets.SslOptions, config);
        }
        (config.FirstMessageHandlerSetup ?? KubernetesConnection.BoundConnections)(sockets);

        HttpMessageHandler first = sockets;
        for (var i = handlers.Length - 1; i >= 0; i--)
        {
            var innermost = handlers[i];
            while (innermost.InnerHandler is DelegatingHandler d)
            {
                innermost = d;
            }
            innermost.InnerHandler = first;
            first = handlers[i];
        }
        // Lists have their own timeout and watches their watchdog (Reflector): no client-wide timeout.
        _http = new HttpClient(first, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _credentials = k8s.Kubernetes.CreateCredentials(config);
        _userAgent = config.UserAgent;
    }

    private static void ConfigureTls(SslClientAuthenticationOptions ssl, KubernetesClientConfiguration config)
    {
        if (!string.IsNullOrEmpty(config.TlsServerName))
        {
            ssl.TargetHost = config.TlsServerName;
        }
        if (config.SkipTlsVerify)
        {
            ssl.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (config.SslCaCerts is { Count: > 0 } ca)
        {
            // The server's chain must end in one of the given CAs (the library's check).
            ssl.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                certificate is not null && chain is not null
                && k8s.Kubernetes.CertificateValidationCallBack(sender, ca, certificate, chain, errors);
        }
        // No CA given: the system's trust store decides, as client-go does.

        if (ClientCertificate(config) is { } clientCert)
        {
            ssl.ClientCertificates!.Add(clientCert);
        }
    }

    /// <summary>The client certificate and key: PEM files, or base64 PEM data (kubeconfig's <c>client-certificate-data</c>).</summary>
    internal static X509Certificate2? ClientCertificate(KubernetesClientConfiguration config)
    {
        var cert = Pem(config.ClientCertificateData, config.ClientCertificateFilePath);
        var key = Pem(config.ClientCertificateKeyData, config.ClientKeyFilePath);
        if (cert is null || key is null)
        {
            return null;
        }
        // Round-trip through PKCS#12 so the key is a persisted one, as TLS client authentication expects.
        using var ephemeral = X509Certificate2.CreateFromPem(cert, key);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    private static string? Pem(string? base64, string? path) =>
        !string.IsNullOrEmpty(base64) ? Encoding.UTF8.GetString(Convert.FromBase64String(base64))
        : !string.IsNullOrEmpty(path) ? File.ReadAllText(path)
        : null;

    /// <summary>One page of a LIST.</summary>
    internal async Task<ListPage<T>> ListAsync<T>(string path, string? labelSelector, string? fieldSelector, string? cont, int limit,
        ModelReader<T> read, CancellationToken ct)
    {
        var query = new StringBuilder();
        Add(query, "continue", cont);
        Add(query, "fieldSelector", fieldSelector);
        Add(query, "labelSelector", labelSelector);
        Add(query, "limit", limit > 0 ? limit.ToString(CultureInfo.InvariantCulture) : null);
        using var response = await SendAsync(path, query, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        return ApiJson.ReadList(body, read);
    }

    /// <summary>
    /// A WATCH from <paramref name="resourceVersion"/> with bookmarks. ERROR events go to <paramref name="onError"/>
    /// (as a <see cref="KubernetesApiException"/>) and the stream goes on; every other event is yielded. The response
    /// is disposed the moment the stream ends, breaks or is cancelled (a cancellation also ends a read pending on a
    /// half-open connection), so a watch never leaves its connection behind.
    /// </summary>
    internal async IAsyncEnumerable<(WatchEventType, T)> WatchAsync<T>(string path, string? labelSelector, string? fieldSelector,
        string resourceVersion, int timeoutSeconds, ModelReader<T> read, Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken ct) where T : class
    {
        var query = new StringBuilder();
        Add(query, "allowWatchBookmarks", "true");
        Add(query, "fieldSelector", fieldSelector);
        Add(query, "labelSelector", labelSelector);
        Add(query, "resourceVersion", resourceVersion);
        Add(query, "timeoutSeconds", timeoutSeconds.ToString(CultureInfo.InvariantCulture));
        Add(query, "watch", "true");
        var response = await SendAsync(path, query, ct).ConfigureAwait(false);
        try
        {
            using var registration = ct.Register(static r => ((IDisposable)r!).Dispose(), response);
            var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var lines = new LineReader(stream);
            try
            {
                while (await lines.NextAsync(ct).ConfigureAwait(false) is { } line)
                {
                    var ev = ApiJson.ReadWatchLine(lines.Span(line), read);
                    if (ev.Type == WatchEventType.Error)
                    {
                        var status = ev.Status;
                        onError(new KubernetesApiException(status?.Code ?? 0,
                            $"watch of {path} failed: {status?.Code} {status?.Reason}: {status?.Message}"));
                        continue;
                    }
                    if (ev.Object is { } obj)
                    {
                        yield return (ev.Type, obj);
                    }
                }
            }
            finally
            {
                lines.Dispose();
            }
        }
        finally
        {
            response.Dispose();
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string path, StringBuilder query, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, query.Length > 0 ? path + "?" + query : path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (!string.IsNullOrEmpty(_userAgent))
        {
            request.Headers.UserAgent.TryParseAdd(_userAgent);
        }
        if (_credentials is not null)
        {
            await _credentials.ProcessHttpRequestAsync(request, ct).ConfigureAwait(false);
        }
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            byte[] body;
            try
            {
                body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            }
            catch (HttpRequestException)
            {
                body = [];
            }
            var status = ApiJson.TryReadStatus(body);
            var code = (int)response.StatusCode;
            throw new KubernetesApiException(code, status?.Message is { Length: > 0 } message
                ? $"GET {path}: {code} {status.Reason ?? response.ReasonPhrase}: {message}"
                : $"GET {path}: {code} {response.ReasonPhrase}");
        }
    }

    private static void Add(StringBuilder query, string name, string? value)
    {
        if (value is null)
        {
            return;
        }
        if (query.Length > 0)
        {
            query.Append('&');
        }
        query.Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Newline-separated JSON documents from a stream, each returned as a range of a pooled buffer.</summary>
    private sealed class LineReader(Stream stream) : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        private int _start;   // first byte not yet returned
        private int _end;     // end of the bytes read so far
        private int _scanned; // bytes before this are known not to be a newline

        public ReadOnlySpan<byte> Span(Range line) => _buffer.AsSpan(line);

        /// <summary>The next non-empty line (without its newline); null at the end of the stream.</summary>
        public async ValueTask<Range?> NextAsync(CancellationToken ct)
        {
            while (true)
            {
                var newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    var lineEnd = _scanned + newline;
                    var line = _start..lineEnd;
                    _start = _scanned = lineEnd + 1;
                    if (!IsBlank(_buffer.AsSpan(line)))
                    {
                        return line;
                    }
                    continue;
                }
                _scanned = _end;
                if (_start > 0 && _start == _end)
                {
                    _start = _end = _scanned = 0;
                }
                if (_end == _buffer.Length)
                {
                    Grow();
                }
                var read = await stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    // A last line without a newline still counts.
                    if (_end > _start && !IsBlank(_buffer.AsSpan(_start, _end - _start)))
                    {
                        var last = _start.._end;
                        _start = _scanned = _end;
                        return last;
                    }
                    return null;
                }
                _end += read;
            }
        }

        private void Grow()
        {
            var live = _end - _start;
            // Compact when half the buffer is already consumed, else double it (a large object).
            var target = live < _buffer.Length / 2 ? _buffer : ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, _start, target, 0, live);
            if (!ReferenceEquals(target, _buffer))
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = target;
            }
            _scanned -= _start;
            _end = live;
            _start = 0;
        }

        private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
