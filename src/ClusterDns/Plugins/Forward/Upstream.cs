using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Forward;

internal enum ExchangeStatus : byte
{
    Ok,
    Error,
    /// <summary>A pooled TCP connection the upstream had closed: retry on a fresh one (ErrCachedClosed).</summary>
    CachedClosed,
}

/// <summary>Outcome of one exchange. On success <see cref="Buffer"/> is rented from the shared pool: the caller returns it.</summary>
internal readonly record struct ExchangeResult(ExchangeStatus Status, byte[]? Buffer, int Length, string? Error)
{
    public static ExchangeResult Fail(string error) => new(ExchangeStatus.Error, null, 0, error);
}

/// <summary>A connection to an upstream, kept idle in a pool between queries. Holds one unit of
/// <see cref="SocketBudget"/>, given back when disposed.</summary>
internal sealed class UpstreamConnection(Socket socket, Stream? stream, string proto) : IDisposable
{
    private int _disposed;

    public Socket Socket { get; } = socket;

    /// <summary>TCP and TLS only (NetworkStream or SslStream).</summary>
    public Stream? Stream { get; } = stream;

    public string Proto { get; } = proto;

    public long LastUsedTicks;

    public bool Cached;

    public readonly byte[] Prefix = new byte[2];

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        SocketBudget.Return();
        try
        {
            Stream?.Dispose();
            Socket.Dispose();
        }
        catch (Exception exception) when (exception is IOException or SocketException or ObjectDisposedException)
        {
        }
    }
}

/// <summary>TLS settings of an upstream (DoT).</summary>
internal sealed class UpstreamTls
{
    public string? ServerName { get; init; }

    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? ClientCertificates { get; init; }

    /// <summary>Custom CA roots; null = system trust.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? Roots { get; init; }
}

/// <summary>
/// One TO of a forward instance (CoreDNS's pkg/proxy.Proxy): its connection pools, the exchange of one query,
/// the fails counter and the background health checker that runs only while the upstream is failing.
/// </summary>
internal sealed partial class Upstream : IUpstreamStatistics, IDisposable
{
    private static readonly ConcurrentQueue<CancellationTokenSource> TimeoutSources = new();

    private readonly Lock _gate = new();
    private readonly Stack<UpstreamConnection>[] _idle = [new(), new(), new()];
    private readonly ILogger _logger;
    private int _fails;
    private int _probing;
    private long _avgDialTicks = TimeSpan.FromSeconds(15).Ticks;
    private string? _udpExhausted; // the error text at the socket budget, made once
    private string? _tcpExhausted;
    private CancellationTokenSource _stopping = new();
    private Timer? _cleaner;

    public Upstream(string to, IPEndPoint endPoint, UpstreamTls? tls, ILogger logger)
    {
        To = to;
        Series = ForwardMetrics.For(to);
        EndPoint = endPoint;
        Tls = tls;
        _logger = logger;
    }

    public string To { get; }

    public IPEndPoint EndPoint { get; }

    public UpstreamTls? Tls { get; }

    public UpstreamCounters Counters { get; } = new();

    /// <summary>The exported <c>coredns_proxy_*</c>/<c>coredns_forward_*</c> children of this <c>to</c> (shared across
    /// reloads); updated next to <see cref="Counters"/> with lock-free increments.</summary>
    public UpstreamSeries Series { get; }

    public TimeSpan Expire { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxIdleConns { get; set; }

    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public bool HealthCheckRecursionDesired { get; set; } = true;

    public byte[] HealthCheckDomain { get; set; } = [0];

    /// <summary>Health checks over TCP (force_tcp on a plain DNS upstream).</summary>
    public bool HealthCheckTcp { get; set; }

    public int Fails => Volatile.Read(ref _fails);

    public bool Down(int maxFails) => maxFails > 0 && Volatile.Read(ref _fails) > maxFails;

    public void Start()
    {
        _stopping = new CancellationTokenSource();
        if (Expire > TimeSpan.Zero)
        {
            _cleaner = new Timer(static state => ((Upstream)state!).CloseExpired(), this, Expire, Expire);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _cleaner?.Dispose();
        lock (_gate)
        {
            foreach (var stack in _idle)
            {
                while (stack.TryPop(out var connection))
                {
                    connection.Dispose();
                }
            }
        }
    }

    /// <summary>Sends <paramref name="frame"/> (2-octet length prefix then the query, id already set) and waits for the
    /// reply with that id, skipping others. <paramref name="udpSize"/> bounds a UDP reply; <paramref name="deadline"/> (the
    /// query's <c>cancel</c> deadline) abandons the exchange when it fires.</summary>
    public async ValueTask<ExchangeResult> ExchangeAsync(byte[] frame, int length, bool tcp, int udpSize, CancellationToken cancellationToken,
        CancellationToken deadline = default)
    {
        var proto = Tls is not null ? "tcp-tls" : tcp ? "tcp" : "udp";
        Interlocked.Increment(ref Counters.Requests);
        Series.Request();
        var connection = Take(proto);
        if (connection is null)
        {
            var dialing = DialAsync(proto, cancellationToken);
            var dialed = dialing.IsCompletedSuccessfully ? dialing.Result : await dialing.ConfigureAwait(false);
            if (dialed.Connection is null)
            {
                return ExchangeResult.Fail(dialed.Error!);
            }
            connection = dialed.Connection;
        }
        var id = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(2));
        var timeout = RentTimeout(ReadTimeout);
        // Only queries under a cancel deadline pay for the registration.
        var onDeadline = deadline.CanBeCanceled ? deadline.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout) : default;
        byte[]? buffer = null;
        try
        {
            if (connection.Stream is null)
            {
                await connection.Socket.SendAsync(frame.AsMemory(2, length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                buffer = ArrayPool<byte>.Shared.Rent(Math.Max(udpSize, 512));
                while (true)
                {
                    int received;
                    try
                    {
                        received = await connection.Socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    }
                    catch (SocketException exception) when (exception.SocketErrorCode == SocketError.MessageSize)
                    {
                        // Oversized datagram (an upstream ignoring our EDNS size): hand back an empty TC reply, the
                        // client retries over TCP (CoreDNS's truncateResponse).
                        received = TruncatedReply(frame.AsSpan(2, length), buffer);
                    }
                    if (received >= DnsHeader.Size && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id)
                    {
                        Yield(connection);
                        var result = new ExchangeResult(ExchangeStatus.Ok, buffer, received, null);
                        buffer = null;
                        return result;
                    }
                    // A late reply to an earlier (timed out) query on this socket, or garbage: keep waiting.
                }
            }
            var stream = connection.Stream;
            await stream.WriteAsync(frame.AsMemory(0, length + 2), timeout.Token).ConfigureAwait(false);
            while (true)
            {
                await stream.ReadExactlyAsync(connection.Prefix, timeout.Token).ConfigureAwait(false);
                var size = BinaryPrimitives.ReadUInt16BigEndian(connection.Prefix);
                buffer = ArrayPool<byte>.Shared.Rent(Math.Max((int)size, DnsHeader.Size));
                await stream.ReadExactlyAsync(buffer.AsMemory(0, size), timeout.Token).ConfigureAwait(false);
                if (size >= DnsHeader.Size && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id)
                {
                    Yield(connection);
                    var result = new ExchangeResult(ExchangeStatus.Ok, buffer, size, null);
                    buffer = null;
                    return result;
                }
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            var error = deadline.IsCancellationRequested ? "context deadline exceeded" : Describe(connection, exception, timeout.IsCancellationRequested);
            connection.Dispose(); // not given back
            if (connection.Cached && connection.Stream is not null && exception is EndOfStreamException or IOException)
            {
                return new ExchangeResult(ExchangeStatus.CachedClosed, null, 0, error);
            }
            return ExchangeResult.Fail(error);
        }
        finally
        {
            onDeadline.Dispose();
            ReturnTimeout(timeout);
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Go-style error text: <c>read udp 127.0.0.1:40000-&gt;127.0.0.1:53: i/o timeout</c>.</summary>
    private string Describe(UpstreamConnection connection, Exception exception, bool timedOut)
    {
        if (exception is EndOfStreamException)
        {
            return "EOF";
        }
        var network = connection.Proto == "udp" ? "udp" : "tcp";
        var local = SafeLocal(connection.Socket);
        if (timedOut || exception is OperationCanceledException)
        {
            return $"read {network} {local}->{EndPoint}: i/o timeout";
        }
        var socketError = exception as SocketException ?? exception.InnerException as SocketException;
        return socketError is null
            ? $"read {network} {local}->{EndPoint}: {exception.Message}"
            : $"read {network} {local}->{EndPoint}: read: {GoErrno(socketError.SocketErrorCode, socketError.Message)}";
    }

    private static string SafeLocal(Socket socket)
    {
        try
        {
            return socket.LocalEndPoint?.ToString() ?? "?";
        }
        catch (ObjectDisposedException)
        {
            return "?";
        }
    }

    private static string GoErrno(SocketError error, string fallback) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.HostUnreachable => "no route to host",
        SocketError.NetworkUnreachable => "network is unreachable",
        SocketError.TimedOut => "i/o timeout",
        SocketError.TooManyOpenSockets => "too many open files",
        _ => fallback.ToLowerInvariant(),
    };

    /// <summary>Header and question of our query with QR and TC set.</summary>
    private static int TruncatedReply(ReadOnlySpan<byte> query, Span<byte> destination)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        if (DnsQueryParser.Parse(query, name, out var info) != QueryDisposition.Query)
        {
            return 0;
        }
        query[..info.QuestionEnd].CopyTo(destination);
        var flags = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(query[2..]) | DnsHeader.QrBit | DnsHeader.TcBit);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], flags);
        destination[6..12].Clear();
        return info.QuestionEnd;
    }

    private UpstreamConnection? Take(string proto)
    {
        var index = UpstreamCounters.ProtoIndex(proto);
        var now = Environment.TickCount64;
        lock (_gate)
        {
            var stack = _idle[index];
            while (stack.TryPop(out var connection))
            {
                if (Expire <= TimeSpan.Zero || now - connection.LastUsedTicks < Expire.TotalMilliseconds)
                {
                    Interlocked.Increment(ref Counters.ConnHits[index]);
                    Series.ConnCacheHit(index);
                    connection.Cached = true;
                    return connection;
                }
                connection.Dispose();
            }
        }
        Interlocked.Increment(ref Counters.ConnMisses[index]);
        Series.ConnCacheMiss(index);
        return null;
    }

    private void Yield(UpstreamConnection connection)
    {
        connection.LastUsedTicks = Environment.TickCount64;
        var index = UpstreamCounters.ProtoIndex(connection.Proto);
        lock (_gate)
        {
            var stack = _idle[index];
            if (!_stopping.IsCancellationRequested && (MaxIdleConns <= 0 || stack.Count < MaxIdleConns))
            {
                stack.Push(connection);
                return;
            }
        }
        connection.Dispose();
    }

    private void CloseExpired()
    {
        var now = Environment.TickCount64;
        lock (_gate)
        {
            foreach (var stack in _idle)
            {
                if (stack.Count == 0)
                {
                    continue;
                }
                var keep = stack.ToArray(); // newest first
                stack.Clear();
                for (var i = keep.Length - 1; i >= 0; i--)
                {
                    if (now - keep[i].LastUsedTicks < Expire.TotalMilliseconds)
                    {
                        stack.Push(keep[i]);
                    }
                    else
                    {
                        keep[i].Dispose();
                    }
                }
            }
        }
    }

    /// <summary>A dial's outcome: the connection, or Go's error text. Failing to dial is an answer (SERVFAIL), not an
    /// exception: at the socket budget every query of a flood fails here, and a throw per query would cost more than
    /// the query itself — enough to stall the receive loop that also answers everyone else.</summary>
    private readonly record struct Dialed(UpstreamConnection? Connection, string? Error);

    private ValueTask<Dialed> DialAsync(string proto, CancellationToken cancellationToken)
    {
        var udp = proto == "udp";
        if (!SocketBudget.TryTake())
        {
            return new(new Dialed(null, udp ? _udpExhausted ??= Exhausted("udp") : _tcpExhausted ??= Exhausted("tcp")));
        }
        var network = udp ? "udp" : "tcp";
        Socket socket;
        try
        {
            socket = new Socket(EndPoint.AddressFamily, udp ? SocketType.Dgram : SocketType.Stream, udp ? ProtocolType.Udp : ProtocolType.Tcp);
        }
        catch (SocketException exception)
        {
            // Out of descriptors for another reason (the rest of the process): fail this query, never the server.
            SocketBudget.Return();
            return new(new Dialed(null, $"dial {network} {EndPoint}: socket: {GoErrno(exception.SocketErrorCode, exception.Message)}"));
        }
        if (!udp)
        {
            return ConnectStreamAsync(socket, proto, cancellationToken);
        }
        try
        {
            socket.Connect(EndPoint); // no packet: just fixes the peer so ICMP errors come back to this socket
        }
        catch (SocketException exception)
        {
            SocketBudget.Return();
            socket.Dispose();
            return new(new Dialed(null, $"dial udp {EndPoint}: connect: {GoErrno(exception.SocketErrorCode, exception.Message)}"));
        }
        return new(new Dialed(new UpstreamConnection(socket, null, proto), null));
    }

    private string Exhausted(string network) => $"dial {network} {EndPoint}: socket: too many open files";

    private async ValueTask<Dialed> ConnectStreamAsync(Socket socket, string proto, CancellationToken cancellationToken)
    {
        socket.NoDelay = true;
        var dialTimeout = TimeSpan.FromTicks(Math.Clamp(2 * Interlocked.Read(ref _avgDialTicks), TimeSpan.TicksPerSecond, 30 * TimeSpan.TicksPerSecond));
        var timeout = RentTimeout(dialTimeout);
        // The caller's token (the health check's 1 s budget, shutdown) bounds the connect and the TLS handshake too.
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken) : null;
        var token = linked?.Token ?? timeout.Token;
        var started = Environment.TickCount64;
        try
        {
            await socket.ConnectAsync(EndPoint, token).ConfigureAwait(false);
            UpdateDialTime(TimeSpan.FromMilliseconds(Environment.TickCount64 - started));
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (Tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(TlsOptions(), token).ConfigureAwait(false);
            }
            return new Dialed(new UpstreamConnection(socket, stream, proto), null);
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or IOException
            or System.Security.Authentication.AuthenticationException)
        {
            UpdateDialTime(TimeSpan.FromMilliseconds(Environment.TickCount64 - started));
            SocketBudget.Return();
            socket.Dispose();
            var reason = exception switch
            {
                OperationCanceledException => "i/o timeout",
                SocketException socketError => "connect: " + GoErrno(socketError.SocketErrorCode, socketError.Message),
                _ => "tls: " + exception.Message,
            };
            return new Dialed(null, $"dial tcp {EndPoint}: {reason}");
        }
        finally
        {
            ReturnTimeout(timeout);
        }
    }

    private void UpdateDialTime(TimeSpan elapsed)
    {
        // Cumulative moving average with weight 4, as CoreDNS's averageTimeout.
        var current = Interlocked.Read(ref _avgDialTicks);
        Interlocked.Exchange(ref _avgDialTicks, current + (elapsed.Ticks - current) / 4);
    }

    private SslClientAuthenticationOptions TlsOptions()
    {
        var tls = Tls!;
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = tls.ServerName ?? EndPoint.Address.ToString(),
            ClientCertificates = tls.ClientCertificates,
        };
        if (tls.Roots is { } roots)
        {
            options.CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }
        return options;
    }

    private static CancellationTokenSource RentTimeout(TimeSpan timeout)
    {
        var source = TimeoutSources.TryDequeue(out var pooled) ? pooled : new CancellationTokenSource();
        source.CancelAfter(timeout);
        return source;
    }

    private static void ReturnTimeout(CancellationTokenSource source)
    {
        if (source.TryReset() && TimeoutSources.Count < 1024)
        {
            TimeoutSources.Enqueue(source);
            return;
        }
        source.Dispose();
    }

    long IUpstreamStatistics.Requests => Interlocked.Read(ref Counters.Requests);

    long IUpstreamStatistics.HealthcheckFailures => Interlocked.Read(ref Counters.HealthcheckFailures);

    public long ResponsesByRcode(int rcode) => Interlocked.Read(ref Counters.Responses[Math.Min(rcode, 16)]);

    public long DurationBucket(int rcode, int bucket) => Counters.Bucket(rcode, bucket);

    public double DurationSumSeconds(int rcode) => Counters.SumSeconds(rcode);

    public long ConnCacheHits(string proto) => Interlocked.Read(ref Counters.ConnHits[UpstreamCounters.ProtoIndex(proto)]);

    public long ConnCacheMisses(string proto) => Interlocked.Read(ref Counters.ConnMisses[UpstreamCounters.ProtoIndex(proto)]);
}
