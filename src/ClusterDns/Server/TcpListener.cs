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

    public void Start() => _acceptLoop = AcceptLoopAsync();

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
        lock (_admission)
        {
            var mine = _perClient.GetValueOrDefault(address);
            if (mine >= _options.MaxTcpConnectionsPerClient)
            {
                return null;
            }
            if (_connections.Count >= _options.MaxTcpConnections)
            {
                if (LongestIdle() is not { } victim)
                {
                    return null;
                }
                Release(victim);
                victim.Socket.Dispose(); // its read fails and its loop ends; nothing of it was being answered
            }
            var connection = new Connection(client, address, new SemaphoreSlim(_options.MaxTcpPipelined, _options.MaxTcpPipelined));
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

    private async Task ServeConnectionAsync(Connection connection)
    {
        var client = connection.Socket;
        // Not disposed: an answer still running after the close below releases them (no wait handle is ever created).
        var sendLock = new SemaphoreSlim(1, 1);
        var inFlight = connection.InFlight;
        var lengthPrefix = new byte[2];
        var remote = (IPEndPoint)client.RemoteEndPoint!;
        var local = (IPEndPoint)client.LocalEndPoint!;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                // Idle: wait for the first octet of the next frame up to the idle timeout.
                connection.WaitingForQuery = true;
                if (!await ReadExactlyAsync(client, lengthPrefix, _options.TcpIdleTimeout).ConfigureAwait(false))
                {
                    return;
                }
                connection.WaitingForQuery = false;
                connection.LastActive = Environment.TickCount64;
                var length = BinaryPrimitives.ReadUInt16BigEndian(lengthPrefix);
                if (length == 0)
                {
                    return;
                }
                await inFlight.WaitAsync(_stopping.Token).ConfigureAwait(false);
                var request = _pool.Rent();
                if (!await ReadExactlyAsync(client, request.QueryBuffer.AsMemory(0, length), _options.TcpReadTimeout).ConfigureAwait(false))
                {
                    _pool.Return(request);
                    inFlight.Release();
                    return;
                }
                request.SetRemote(remote);
                request.LocalEndPoint = local;
                var disposition = request.Prepare(length, DnsTransport.Tcp);
                _ = AnswerAsync(client, request, disposition, sendLock, inFlight);
            }
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            Release(connection);
            // Let in-flight answers finish writing before closing.
            for (var i = 0; i < _options.MaxTcpPipelined; i++)
            {
                if (!await inFlight.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false))
                {
                    break;
                }
            }
            client.Dispose();
        }
    }

    private async Task AnswerAsync(Socket client, DnsRequest request, Protocol.QueryDisposition disposition, SemaphoreSlim sendLock, SemaphoreSlim inFlight)
    {
        try
        {
            await QueryProcessor.ProcessAsync(request, disposition, _routes(), _logger, _stopping.Token).ConfigureAwait(false);
            if (request.Response.Written)
            {
                var reply = request.Response;
                var frame = new byte[reply.Length + 2];
                BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)reply.Length);
                reply.Bytes.CopyTo(frame.AsSpan(2));
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                deadline.CancelAfter(_options.TcpWriteTimeout);
                try
                {
                    await sendLock.WaitAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    client.Dispose(); // an earlier answer is stuck on a client that does not read
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
                    client.Dispose(); // part of a frame may be out: the stream cannot continue
                    throw;
                }
                finally
                {
                    sendLock.Release();
                }
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
            inFlight.Release();
        }
    }

    private async ValueTask<bool> ReadExactlyAsync(Socket client, Memory<byte> buffer, TimeSpan timeout)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timer.CancelAfter(timeout);
        var read = 0;
        try
        {
            while (read < buffer.Length)
            {
                var count = await client.ReceiveAsync(buffer[read..], SocketFlags.None, timer.Token).ConfigureAwait(false);
                if (count == 0)
                {
                    return false;
                }
                read += count;
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _socket.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Dispose();
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

        public long LastActive = Environment.TickCount64;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error answering a TCP query")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
