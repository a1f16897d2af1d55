using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>
/// UDP on one address: several SO_REUSEPORT sockets, each drained by a dedicated thread with synchronous,
/// allocation-free ReceiveFrom/SendTo into buffers owned by reusable <see cref="DnsRequest"/>s. A query whose
/// chain completes synchronously (every locally answered query) is answered inline; one that awaits I/O
/// (forward) is finished by its continuation while the thread moves on with a fresh request.
/// </summary>
internal sealed partial class UdpListener : IDisposable
{
    private readonly Socket[] _sockets;
    private readonly Thread[] _threads;
    private readonly Func<ListenerRoutes> _routes;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RequestPool _pool;

    public UdpListener(IPAddress? bindAddress, int port, int socketCount, Func<ListenerRoutes> routes, ILogger logger)
    {
        _routes = routes;
        _logger = logger;
        _sockets = new Socket[socketCount];
        try
        {
            for (var i = 0; i < socketCount; i++)
            {
                _sockets[i] = SocketFactory.CreateUdp(bindAddress, port, reusePort: socketCount > 1);
                if (port == 0)
                {
                    port = ((IPEndPoint)_sockets[i].LocalEndPoint!).Port; // the others share the picked port
                }
            }
        }
        catch
        {
            foreach (var socket in _sockets)
            {
                socket?.Dispose();
            }
            throw;
        }
        LocalEndPoint = (IPEndPoint)_sockets[0].LocalEndPoint!;
        _pool = new RequestPool(_sockets[0].AddressFamily);
        _threads = new Thread[socketCount];
        for (var i = 0; i < socketCount; i++)
        {
            var socket = _sockets[i];
            ThreadStart loop = BatchedUdpReceiver.IsSupported
                ? new BatchedUdpReceiver(socket, routes, logger, _pool, _stopping.Token).Run
                : () => ReceiveLoop(socket);
            _threads[i] = new Thread(loop) { IsBackground = true, Name = $"dns-udp-{port}-{i}" };
        }
    }

    public IPEndPoint LocalEndPoint { get; }

    public void Start()
    {
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }


    private void ReceiveLoop(Socket socket)
    {
        var request = _pool.Rent();
        var datagram = new byte[DnsRequest.MaxMessageSize]; // received here, copied into the request (sized to the query)
        var local = (IPEndPoint)socket.LocalEndPoint!;
        while (!_stopping.IsCancellationRequested)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(datagram, SocketFlags.None, request.RemoteAddress);
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue; // ICMP port unreachable from an earlier send, or an oversized datagram: not fatal
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException exception)
            {
                // Anything else (no buffer space, …) must not end this thread and with it the listener: as the
                // recvmmsg path does, log, pause briefly, go on.
                LogReceiveFailed(_logger, exception.SocketErrorCode);
                Thread.Sleep(10);
                continue;
            }
            request.InvalidateRemote();
            request.LocalEndPoint = local;
            datagram.AsSpan(0, received).CopyTo(request.QuerySpace(received));
            var disposition = request.Prepare(received, DnsTransport.Udp);
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
            if (pending.IsCompletedSuccessfully)
            {
                Send(socket, request);
                continue;
            }
            _ = FinishAsync(socket, request, pending);
            request = _pool.Rent();
        }
    }

    private async Task FinishAsync(Socket socket, DnsRequest request, ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
            Send(socket, request);
        }
        catch (Exception exception)
        {
            LogUnexpected(_logger, exception);
        }
        finally
        {
            _pool.Return(request);
        }
    }

    private void Send(Socket socket, DnsRequest request)
    {
        if (!request.Response.Written)
        {
            return;
        }
        try
        {
            socket.SendTo(request.Response.Bytes, SocketFlags.None, request.RemoteAddress);
        }
        catch (SocketException exception)
        {
            LogSendFailed(_logger, exception.SocketErrorCode.ToString());
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        foreach (var thread in _threads)
        {
            if (thread.IsAlive && thread != Thread.CurrentThread)
            {
                thread.Join(TimeSpan.FromSeconds(2));
            }
        }
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error answering a UDP query")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "UDP receive failed: {Error}")]
    private static partial void LogReceiveFailed(ILogger logger, SocketError error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "UDP send failed: {Error}")]
    private static partial void LogSendFailed(ILogger logger, string error);
}
