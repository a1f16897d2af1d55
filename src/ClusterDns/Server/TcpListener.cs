using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>
/// DNS over TCP (RFC 7766) on one address: 2-octet length framing, several queries per connection answered
/// as they complete (pipelining), an idle timeout, a per-frame read timeout, and fair connection limits: a cap per
/// client address, and at the listener's cap the longest-idle connection makes room for a new one (RFC 7766 §6.2.3:
/// a server may close idle connections when it runs short of resources), so idle or slow clients cannot lock others out.
/// </summary>
internal sealed partial class DnsTcpListener : IDisposable
{
    private readonly Socket _socket;
    private readonly Func<ListenerRoutes> _routes;
    private readonly ListenerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, Connection> _connections = new();
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly Lock _admission = new();
    private readonly RequestPool _pool;
    private Task? _acceptLoop;
    private Timer? _sweeper;

    public DnsTcpListener(IPAddress? bindAddress, int port, ListenerOptions options, Func<ListenerRoutes> routes, ILogger logger)
    {
        _socket = SocketFactory.CreateTcp(bindAddress, port);
        _routes = routes;
        _options = options;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _pool = new RequestPool(_socket.AddressFamily);
    }

    public IPEndPoint LocalEndPoint { get; }

    private static readonly TimeSpan AcceptBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the read, idle and write deadlines of the connections are checked.</summary>
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(100);

    public void Start()
    {
        _sweeper = new Timer(_ => Sweep(), null, SweepPeriod, SweepPeriod);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Shuts down every connection whose pending receive or send is past its deadline: its read or write then
    /// ends and so does its loop. One timer for all connections instead of a timer armed and disarmed around each receive.</summary>
    private void Sweep()
    {
        if (_connections.IsEmpty)
        {
            return;
        }
        var now = Environment.TickCount64;
        foreach (var (_, connection) in _connections) // the dictionary's own enumerator: no snapshot, no lock
        {
            if (Volatile.Read(ref connection.Deadline) <= now)
            {
                connection.ClearDeadline();
                try
                {
                    // Not Dispose: with a receive pending that would reset the connection; this ends the receive (0
                    // octets) or fails the send, and the reader closes the connection as at any end.
                    connection.Socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // Out of descriptors (EMFILE) and the like fail at once and again: back off rather than spin.
                await Task.Delay(AcceptBackoff, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            if (Admit(client) is not { } connection)
            {
                client.Dispose();
                continue;
            }
            client.NoDelay = true;
            _ = ServeConnectionAsync(connection);
        }
    }

    /// <summary>Registers a new connection, or null when it must be closed: its client already holds its share, or
    /// the listener is full and no connection is idle. At the cap the longest-idle connection is closed for it.</summary>
    private Connection? Admit(Socket client)
    {
        if (client.RemoteEndPoint is not IPEndPoint remote)
        {
            return null;
        }
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        var settings = _routes().Tcp;
        lock (_admission)
        {
            var mine = _perClient.GetValueOrDefault(address);
            if (mine >= (settings?.MaxConnectionsPerClient ?? _options.MaxTcpConnectionsPerClient))
            {
                return null;
            }
            if (_connections.Count >= (settings?.MaxConnections ?? _options.MaxTcpConnections))
            {
                if (LongestIdle() is not { } victim)
                {
                    return null;
                }
                Release(victim);
                victim.Close(); // its read ends and so does its loop; nothing of it was being answered
            }
            var connection = new Connection(client, address, new SemaphoreSlim(_options.MaxTcpPipelined, _options.MaxTcpPipelined))
            {
                ReadTimeout = settings?.Read ?? _options.TcpReadTimeout,
                WriteTimeout = settings?.Write ?? _options.TcpWriteTimeout,
                IdleTimeout = settings?.Idle ?? _options.TcpIdleTimeout,
                MaxQueries = settings?.MaxQueries is > 0 and var max ? max : int.MaxValue,
            };
            _connections[client] = connection;
            _perClient[address] = mine + 1;
            return connection;
        }
    }

    /// <summary>The connection waiting longest for its next query with no answer pending, if any (under the lock).</summary>
    private Connection? LongestIdle()
    {
        Connection? oldest = null;
        foreach (var candidate in _connections.Values)
        {
            if (candidate.WaitingForQuery && candidate.InFlight.CurrentCount == _options.MaxTcpPipelined
                && (oldest is null || candidate.LastActive < oldest.LastActive))
            {
                oldest = candidate;
            }
        }
        return oldest;
    }

    /// <summary>Forgets a connection (once: eviction and the connection's own end may both try).</summary>
    private void Release(Connection connection)
    {
        lock (_admission)
        {
            if (!_connections.TryRemove(connection.Socket, out _))
            {
                return;
            }
            var left = _perClient[connection.Client] - 1;
            if (left == 0)
            {
                _perClient.Remove(connection.Client);
            }
            else
            {
                _perClient[connection.Client] = left;
            }
        }
    }

    /// <summary>Octets of a connection's receive and reply buffers (rented per connection; a larger frame grows the
    /// receive buffer, a larger reply is sent on its own).</summary>
    private const int StreamBufferSize = 16 * 1024;

    /// <summary>
    /// Reads the connection as a stream: one receive takes whatever the client has pipelined, every complete frame of
    /// it is answered, answers that complete at once (the usual case) are gathered and go out in one send before the
    /// next receive; answers that wait (forward, erratic) finish on their own and send under the same lock.
    /// </summary>
    private async Task ServeConnectionAsync(Connection connection)
    {
        var client = connection.Socket;
        // Not disposed: an answer still running after the close below releases them (no wait handle is ever created).
        var sendLock = new SemaphoreSlim(1, 1);
        var inFlight = connection.InFlight;
        var served = 0;
        var remote = (IPEndPoint)client.RemoteEndPoint!;
        var remoteAddress = remote.Serialize();
        // As the request would map it on first use (a dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d), once.
        var client4 = remote.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(remote.Address.MapToIPv4(), remote.Port) : remote;
        var local = (IPEndPoint)client.LocalEndPoint!;
        var io = new StreamState();
        DnsRequest? request = null;
        var fullRead = false;
        try
        {
            if (TcpEventLoop.IsSupported)
            {
                client.Blocking = false; // receives below never block: the event loop says when to read
                connection.Waiter = TcpEventLoop.Register(client.SafeHandle.DangerousGetHandle(), _logger);
            }
            while (!_stopping.IsCancellationRequested && served < connection.MaxQueries)
            {
                var buffered = io.End - io.Start;
                if (buffered >= 2)
                {
                    var length = BinaryPrimitives.ReadUInt16BigEndian(io.Input.AsSpan(io.Start));
                    if (length == 0)
                    {
                        break;
                    }
                    if (buffered - 2 >= length)
                    {
                        if (inFlight.CurrentCount == 0)
                        {
                            // The pipelining budget is spent on answers still running: send what is ready, wait for one.
                            await FlushAsync(connection, io, sendLock).ConfigureAwait(false);
                            await inFlight.WaitAsync(_stopping.Token).ConfigureAwait(false);
                            inFlight.Release();
                        }
                        request ??= _pool.Rent();
                        io.Input.AsSpan(io.Start + 2, length).CopyTo(request.QuerySpace(length));
                        io.Start += 2 + length;
                        var disposition = request.Prepare(length, DnsTransport.Tcp);
                        request.SetRemote(client4, remoteAddress);
                        request.LocalEndPoint = local;
                        served++;
                        ValueTask pending;
                        try
                        {
                            pending = QueryProcessor.ProcessAsync(request, disposition, _routes(), _logger, _stopping.Token);
                        }
                        catch (Exception exception)
                        {
                            LogUnexpected(_logger, exception);
                            continue;
                        }
                        if (!pending.IsCompletedSuccessfully)
                        {
                            inFlight.Wait(0); // a slot is free: only this loop takes them
                            _ = AnswerAsync(connection, request, pending, sendLock);
                            request = null;
                            continue;
                        }
                        if (request.Response.Written && !io.TryAppend(request.Response))
                        {
                            await FlushAsync(connection, io, sendLock).ConfigureAwait(false);
                            if (!io.TryAppend(request.Response))
                            {
                                await SendAsync(connection, request.Response, sendLock).ConfigureAwait(false);
                            }
                        }
                        continue;
                    }
                    io.EnsureRoom(2 + length);
                }
                // Everything buffered is answered: send the answers, then wait for more (idle between frames, the read
                // timeout inside one).
                await FlushAsync(connection, io, sendLock).ConfigureAwait(false);
                io.Compact();
                var idle = io.End == 0;
                connection.WaitingForQuery = idle;
                connection.SetDeadline(idle ? connection.IdleTimeout : connection.ReadTimeout);
                int count;
                if (connection.Waiter is { } waiter)
                {
                    // A read that filled the buffer may have left more behind: try before waiting. Otherwise wait first
                    // (one query at a time: nothing is there yet, a speculative read would only find EAGAIN).
                    var room = io.Input.Length - io.End;
                    while (true)
                    {
                        if (fullRead)
                        {
                            count = client.Receive(io.Input.AsSpan(io.End), SocketFlags.None, out var error);
                            if (error == SocketError.Success)
                            {
                                break;
                            }
                            if (error != SocketError.WouldBlock)
                            {
                                throw new SocketException((int)error);
                            }
                        }
                        fullRead = true;
                        if (!await waiter.WaitReadableAsync().ConfigureAwait(false))
                        {
                            count = 0; // closed by the listener (eviction, shutdown)
                            break;
                        }
                    }
                    fullRead = count == room;
                }
                else
                {
                    count = await client.ReceiveAsync(io.Input.AsMemory(io.End), SocketFlags.None).ConfigureAwait(false);
                }
                connection.ClearDeadline();
                if (count == 0)
                {
                    break;
                }
                io.End += count;
                connection.WaitingForQuery = false;
                connection.LastActive = Environment.TickCount64;
            }
            await FlushAsync(connection, io, sendLock).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            if (request is not null)
            {
                _pool.Return(request);
            }
            Release(connection);
            // Let in-flight answers finish writing before closing.
            for (var i = 0; i < _options.MaxTcpPipelined; i++)
            {
                if (!await inFlight.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false))
                {
                    break;
                }
            }
            connection.Waiter?.Dispose(); // before the descriptor is closed
            client.Dispose();
            io.Dispose();
        }
    }

    /// <summary>Sends the gathered answers in one write under the send lock, within the write timeout (else closes).</summary>
    private async ValueTask FlushAsync(Connection connection, StreamState io, SemaphoreSlim sendLock)
    {
        if (io.OutputLength == 0)
        {
            return;
        }
        // Past the write timeout the sweep closes the connection (a client that does not read): the send fails, or the
        // answer holding the lock gives up on its own timeout and this send then fails.
        connection.SetDeadline(connection.WriteTimeout);
        await sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await connection.Socket.SendAsync(io.Output.AsMemory(0, io.OutputLength), SocketFlags.None).ConfigureAwait(false);
        }
        finally
        {
            sendLock.Release();
        }
        connection.ClearDeadline();
        io.OutputLength = 0;
    }

    private async Task AnswerAsync(Connection connection, DnsRequest request, ValueTask pending, SemaphoreSlim sendLock)
    {
        try
        {
            await pending.ConfigureAwait(false);
            if (request.Response.Written)
            {
                await SendAsync(connection, request.Response, sendLock).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        catch (Exception exception)
        {
            LogUnexpected(_logger, exception);
        }
        finally
        {
            _pool.Return(request);
            connection.InFlight.Release();
        }
    }

    /// <summary>One reply (and the further messages of a multi-message one) on its own, under the send lock.</summary>
    private async Task SendAsync(Connection connection, DnsResponseWriter reply, SemaphoreSlim sendLock)
    {
        var client = connection.Socket;
        var frame = new byte[reply.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)reply.Length);
        reply.Bytes.CopyTo(frame.AsSpan(2));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(connection.WriteTimeout);
        try
        {
            await sendLock.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            connection.Close(); // an earlier answer is stuck on a client that does not read
            throw;
        }
        try
        {
            await client.SendAsync(frame, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            // A multi-message reply (AXFR) goes out back to back, under the same lock so pipelined answers cannot interleave.
            foreach (var more in reply.MoreMessages)
            {
                var next = new byte[more.Length + 2];
                BinaryPrimitives.WriteUInt16BigEndian(next, (ushort)more.Length);
                more.CopyTo(next, 2);
                await client.SendAsync(next, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            connection.Close(); // part of a frame may be out: the stream cannot continue
            throw;
        }
        finally
        {
            sendLock.Release();
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _sweeper?.Dispose();
        _socket.Dispose();
        foreach (var connection in _connections.Values)
        {
            connection.Close();
        }
        _acceptLoop?.Wait(TimeSpan.FromSeconds(2));
    }

    /// <summary>One accepted connection: its client address (for the per-client cap) and how idle it is (for eviction).</summary>
    private sealed class Connection(Socket socket, IPAddress client, SemaphoreSlim inFlight)
    {
        public Socket Socket { get; } = socket;

        public IPAddress Client { get; } = client;

        /// <summary>Free slots of this connection's pipelining budget: all free means nothing is being answered.</summary>
        public SemaphoreSlim InFlight { get; } = inFlight;

        public volatile bool WaitingForQuery;

        public TimeSpan ReadTimeout { get; init; }

        public TimeSpan WriteTimeout { get; init; }

        public TimeSpan IdleTimeout { get; init; }

        /// <summary>Queries served before the connection is closed (after their answers).</summary>
        public int MaxQueries { get; init; }

        public long LastActive = Environment.TickCount64;

        /// <summary>When the pending receive or send of the reader times out (<see cref="Environment.TickCount64"/>).</summary>
        public long Deadline = long.MaxValue;

        public void SetDeadline(TimeSpan after) => Volatile.Write(ref Deadline, Environment.TickCount64 + (long)after.TotalMilliseconds);

        public void ClearDeadline() => Volatile.Write(ref Deadline, long.MaxValue);

        /// <summary>The connection's readiness on the TCP event loop (Linux), or null: .NET's socket engine.</summary>
        public TcpEventLoop.ReadyWaiter? Waiter { get; set; }

        /// <summary>Closes from outside the reader: on .NET's engine the socket is disposed (its pending read fails);
        /// on the event loop it is shut down and the reader's wait ends — the reader unregisters, then disposes, so a
        /// descriptor number reused by a new connection is never touched.</summary>
        public void Close()
        {
            if (!TcpEventLoop.IsSupported)
            {
                Socket.Dispose();
                return;
            }
            try
            {
                Socket.Shutdown(SocketShutdown.Both); // readable at once: a reader not waiting yet finds the end too
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
            }
            Waiter?.Abort();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error answering a TCP query")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
