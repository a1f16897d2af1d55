using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>
/// Runs configurations: opens one UDP+TCP listener per address, swaps a new configuration in atomically
/// (listeners whose address stays keep their sockets; only the route table reference changes), and shuts down
/// with the configuration's shutdown hooks (lameduck) before closing sockets.
/// </summary>
public sealed partial class DnsServerHost : IAsyncDisposable
{
    private readonly ServiceHub _services;
    private readonly ListenerOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Listener> _listeners = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _applyLock = new(1, 1);

    // Requests of internal lookups (dns64's A query, template's and file's CNAME targets), reused: a fresh request
    // per lookup would allocate its buffers and parsed state each time. IPv6-sized addresses take IPv4 ones too.
    private readonly RequestPool _lookupRequests = new(AddressFamily.InterNetworkV6, capacity: 16);
    private volatile ServerConfig? _current;

    public DnsServerHost(ServiceHub services, ListenerOptions? options = null)
    {
        _services = services;
        _options = options ?? new ListenerOptions();
        _logger = services.LoggerFactory.CreateLogger("clusterdns");
    }

    public ServerConfig? Current => _current;

    /// <summary>Bound endpoints per listener address (the real port when the Corefile said 0).</summary>
    public IReadOnlyDictionary<string, IPEndPoint> Endpoints
    {
        get
        {
            var result = new Dictionary<string, IPEndPoint>(StringComparer.Ordinal);
            lock (_listeners)
            {
                foreach (var (address, listener) in _listeners)
                {
                    result[address] = listener.Udp.LocalEndPoint;
                }
            }
            return result;
        }
    }

    /// <summary>Starts background plugin work, opens new listeners, swaps routes, then retires the old configuration.
    /// Throws (leaving the running configuration in place) when a listener cannot be opened.</summary>
    public async Task ApplyAsync(ServerConfig config, CancellationToken cancellationToken = default)
    {
        await _applyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var opened = new List<Listener>();
            try
            {
                foreach (var spec in config.Listeners)
                {
                    Listener? existing;
                    lock (_listeners)
                    {
                        _listeners.TryGetValue(spec.Address, out existing);
                    }
                    if (existing is null)
                    {
                        opened.Add(Listener.Open(spec, _options, _logger));
                    }
                }
            }
            catch (ConfigException)
            {
                foreach (var listener in opened)
                {
                    listener.Dispose();
                }
                throw;
            }
            try
            {
                await StartLifecyclesAsync(config, cancellationToken).ConfigureAwait(false);
                foreach (var (address, routes) in config.HttpRoutes)
                {
                    await _services.ServeHttpAsync(address, routes).ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The running configuration stays: close what this attempt opened and stop what it started.
                foreach (var listener in opened)
                {
                    listener.Dispose();
                }
                await StopLifecyclesAsync(config).ConfigureAwait(false);
                if (exception is ConfigException or OperationCanceledException)
                {
                    throw;
                }
                throw new ConfigException(exception.Message);
            }
            await _services.RetainHttpAsync(new HashSet<string>(config.HttpRoutes.Keys, StringComparer.Ordinal)).ConfigureAwait(false);
            var retired = new List<Listener>();
            lock (_listeners)
            {
                foreach (var listener in opened)
                {
                    _listeners[listener.Address] = listener;
                }
                var wanted = new HashSet<string>(StringComparer.Ordinal);
                foreach (var spec in config.Listeners)
                {
                    wanted.Add(spec.Address);
                    _listeners[spec.Address].Routes = spec.Routes;
                }
                foreach (var (address, listener) in _listeners)
                {
                    if (!wanted.Contains(address))
                    {
                        retired.Add(listener);
                    }
                }
                foreach (var listener in retired)
                {
                    _listeners.Remove(listener.Address);
                }
            }
            foreach (var listener in opened)
            {
                listener.Start();
            }
            var previous = _current;
            _current = config;
            foreach (var listener in retired)
            {
                listener.Dispose();
            }
            if (previous is not null)
            {
                await StopLifecyclesAsync(previous).ConfigureAwait(false);
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }

    private static async Task StartLifecyclesAsync(ServerConfig config, CancellationToken cancellationToken)
    {
        var starting = new List<Task>(config.Lifecycles.Count);
        foreach (var lifecycle in config.Lifecycles)
        {
            starting.Add(lifecycle.StartAsync(cancellationToken));
        }
        await Task.WhenAll(starting).ConfigureAwait(false);
    }

    private async Task StopLifecyclesAsync(ServerConfig config)
    {
        foreach (var lifecycle in config.Lifecycles)
        {
            try
            {
                await lifecycle.StopAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                LogStopFailed(_logger, exception);
            }
        }
    }

    /// <summary>The resolver plugins use to query the server's own chain on <paramref name="listenerAddress"/>.</summary>
    /// <remarks>With an <c>origin</c> the sub-query carries the client's request as CoreDNS's <c>upstream.Lookup</c>
    /// does (<c>state.SizeAndDo</c> and the client's writer): its EDNS size and DO bit (no OPT when it had none), its
    /// transport, and its client and local addresses, so plugins such as <c>log</c> show whom it was for.</remarks>
    public InternalResolver ResolverFor(string listenerAddress) =>
        (name, type, cancellationToken, origin) => ResolveAsync(listenerAddress, name, type, origin, cancellationToken);

    private async ValueTask<DnsMessage?> ResolveAsync(string listenerAddress, DnsName name, DnsType type, DnsRequest? origin,
        CancellationToken cancellationToken)
    {
        ListenerRoutes? routes = null;
        lock (_listeners)
        {
            if (_listeners.TryGetValue(listenerAddress, out var listener))
            {
                routes = listener.Routes;
            }
        }
        if (routes is null)
        {
            return null;
        }
        var remote = origin?.RemoteEndPoint ?? new IPEndPoint(IPAddress.Loopback, 0);
        var request = _lookupRequests.Rent();
        try
        {
            return await ResolveWithAsync(request, routes, remote, name, type, origin, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lookupRequests.Return(request);
        }
    }

    private async ValueTask<DnsMessage?> ResolveWithAsync(DnsRequest request, ListenerRoutes routes, IPEndPoint remote, DnsName name, DnsType type,
        DnsRequest? origin, CancellationToken cancellationToken)
    {
        var query = new DnsMessage();
        query.Header.Id = (ushort)Random.Shared.Next(ushort.MaxValue);
        query.Header.RecursionDesired = true;
        query.Questions.Add(new DnsQuestion(name, type));
        if (origin is null)
        {
            query.Additionals.Add(OptRecord.Create(DnsRequest.MaxMessageSize));
        }
        else if (origin.HasEdns)
        {
            query.Additionals.Add(OptRecord.Create((ushort)origin.UdpSize, origin.DnssecOk));
        }
        var disposition = request.Load(query.ToArray(), origin?.Transport ?? DnsTransport.Tcp);
        request.SetRemote(remote);
        request.LocalEndPoint = origin?.LocalEndPoint;
        await QueryProcessor.ProcessAsync(request, disposition, routes, _logger, cancellationToken).ConfigureAwait(false);
        return request.Response.Written && DnsMessage.TryParse(request.Response.Bytes, out var reply, out _) ? reply : null;
    }

    /// <summary>Graceful stop: shutdown hooks (lameduck keeps serving meanwhile), then close listeners and stop plugins.</summary>
    public async Task StopAsync()
    {
        var config = _current;
        if (config is not null)
        {
            foreach (var hook in config.ShutdownHooks)
            {
                await hook().ConfigureAwait(false);
            }
        }
        _services.ShuttingDown = true;
        lock (_listeners)
        {
            foreach (var listener in _listeners.Values)
            {
                listener.Dispose();
            }
            _listeners.Clear();
        }
        if (config is not null)
        {
            await StopLifecyclesAsync(config).ConfigureAwait(false);
        }
        _current = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _applyLock.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopping a plugin failed")]
    private static partial void LogStopFailed(ILogger logger, Exception exception);

    /// <summary>UDP and TCP sockets of one address; the route table is swapped by reference on reload.</summary>
    private sealed class Listener : IDisposable
    {
        private volatile ListenerRoutes _routes;

        private Listener(string address, ListenerRoutes routes)
        {
            Address = address;
            _routes = routes;
        }

        public string Address { get; }

        public ListenerRoutes Routes { get => _routes; set => _routes = value; }

        public UdpListener Udp { get; private set; } = null!;

        public DnsTcpListener Tcp { get; private set; } = null!;

        public static Listener Open(ListenerSpec spec, ListenerOptions options, ILogger logger)
        {
            var listener = new Listener(spec.Address, spec.Routes);
            // Port 0 (tests): UDP picks the port and TCP takes the same one; retry if TCP's is taken.
            for (var attempt = 0; ; attempt++)
            {
                UdpListener udp;
                try
                {
                    udp = new UdpListener(spec.BindAddress, spec.Port, options.EffectiveUdpSockets, () => listener._routes, logger);
                }
                catch (SocketException exception)
                {
                    throw ListenError("udp", spec, spec.Port, exception);
                }
                try
                {
                    listener.Tcp = new DnsTcpListener(spec.BindAddress, udp.LocalEndPoint.Port, options, () => listener._routes, logger);
                    listener.Udp = udp;
                    return listener;
                }
                catch (SocketException) when (spec.Port == 0 && attempt < 20)
                {
                    udp.Dispose();
                }
                catch (SocketException exception)
                {
                    udp.Dispose();
                    throw ListenError("tcp", spec, udp.LocalEndPoint.Port, exception);
                }
                catch
                {
                    udp.Dispose();
                    throw;
                }
            }
        }

        /// <summary>Go's text for a failed listen: <c>listen tcp :53: bind: address already in use</c>.</summary>
        private static ConfigException ListenError(string network, ListenerSpec spec, int port, SocketException exception)
        {
            var host = spec.BindAddress is null ? string.Empty
                : spec.BindAddress.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{spec.BindAddress}]" : spec.BindAddress.ToString();
            var reason = exception.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address already in use",
                SocketError.AccessDenied => "permission denied",
                SocketError.AddressNotAvailable => "cannot assign requested address",
                _ => exception.Message,
            };
            return new ConfigException($"listen {network} {host}:{port}: bind: {reason}");
        }

        public void Start()
        {
            Udp.Start();
            Tcp.Start();
        }

        public void Dispose()
        {
            Udp.Dispose();
            Tcp.Dispose();
        }
    }
}
