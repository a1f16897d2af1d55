using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>
/// Linux fast path for one UDP socket: <c>recvmmsg</c> takes up to <see cref="BatchSize"/> datagrams in one system
/// call, each is answered in place, and the replies leave in one <c>sendmmsg</c> — the per-packet syscall cost that
/// bounds a DNS server on loopback is paid once per batch (the technique Knot and NSD use). Requests whose chain
/// completes asynchronously (forward) are finished by their continuation with a plain SendTo.
/// </summary>
internal sealed partial class BatchedUdpReceiver
{
    public const int BatchSize = 32;
    private const int MsgWaitForOne = 0x10000;
    private const int SockaddrSize = 28; // sockaddr_in6, large enough for sockaddr_in too
    private const int Eagain = 11;
    private const int Eintr = 4;

    private readonly Socket _socket;
    private readonly Func<ListenerRoutes> _routes;
    private readonly ILogger _logger;
    private readonly RequestPool _pool;
    private readonly CancellationToken _stopping;
    private readonly bool _destinations;
    private readonly System.Net.IPEndPoint? _local;

    public BatchedUdpReceiver(Socket socket, Func<ListenerRoutes> routes, ILogger logger, RequestPool pool, CancellationToken stopping)
    {
        _socket = socket;
        _local = socket.LocalEndPoint as System.Net.IPEndPoint;
        _destinations = PacketDestination.IsWildcard(socket);
        if (_destinations)
        {
            PacketDestination.Enable(socket); // replies leave from the address each query was sent to
        }
        _routes = routes;
        _logger = logger;
        _pool = pool;
        _stopping = stopping;
    }

    /// <summary>True where the native layouts (<see cref="MsgHdr"/>, <see cref="IoVec"/>, MMsgHdr below) are right: 64-bit
    /// Linux.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess
        && Environment.GetEnvironmentVariable("CLUSTERDNS_NO_MMSG") is null;

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int recvmmsg(nint fd, MMsgHdr* messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int sendmmsg(nint fd, MMsgHdr* messages, uint count, int flags);

    /// <summary>Runs until the socket is closed or stopping is signalled (checked at least every 500 ms).</summary>
    public unsafe void Run()
    {
        // A receive timeout lets the loop notice shutdown: closing an fd does not wake a blocked recvmmsg.
        Span<byte> timeval = stackalloc byte[16];
        BitConverter.TryWriteBytes(timeval, 0L);
        BitConverter.TryWriteBytes(timeval[8..], 500_000L);
        _socket.SetRawSocketOption(1 /* SOL_SOCKET */, 20 /* SO_RCVTIMEO */, timeval);

        var requests = new DnsRequest[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            requests[i] = _pool.Rent();
        }
        // Datagrams land in the batch's own buffers and are copied into their requests, which are sized for the query:
        // a request that waits on an upstream then holds a few KiB, not a 64 KiB receive buffer (the pages of these
        // are touched only as far as datagrams reach).
        var datagrams = (byte*)NativeMemory.Alloc((nuint)(BatchSize * DnsRequest.MaxMessageSize));
        var addresses = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * SockaddrSize));
        var receiveVectors = (IoVec*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(IoVec)));
        var sendVectors = (IoVec*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(IoVec)));
        var received = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(MMsgHdr)));
        var replies = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(MMsgHdr)));
        var receiveControls = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * PacketDestination.ControlSize));
        var sendControls = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * PacketDestination.ControlSize));
        try
        {
            var fd = _socket.SafeHandle.DangerousGetHandle();
            while (!_stopping.IsCancellationRequested)
            {
                for (var i = 0; i < BatchSize; i++)
                {
                    receiveVectors[i].Base = (nint)(datagrams + i * DnsRequest.MaxMessageSize);
                    receiveVectors[i].Length = DnsRequest.MaxMessageSize;
                    received[i].Header = new MsgHdr
                    {
                        Name = (nint)(addresses + i * SockaddrSize),
                        NameLength = SockaddrSize,
                        Iov = (nint)(receiveVectors + i),
                        IovLength = 1,
                        Control = _destinations ? (nint)(receiveControls + i * PacketDestination.ControlSize) : 0,
                        ControlLength = _destinations ? PacketDestination.ControlSize : 0u,
                    };
                    received[i].Length = 0;
                }
                var count = recvmmsg(fd, received, BatchSize, MsgWaitForOne, 0);
                if (count <= 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    if (count < 0 && error is not (Eagain or Eintr) && !_stopping.IsCancellationRequested)
                    {
                        LogReceiveFailed(_logger, error);
                        Thread.Sleep(10); // e.g. EBADF during shutdown races; never spin
                    }
                    continue;
                }
                var replyCount = 0;
                for (var i = 0; i < count; i++)
                {
                    var request = requests[i];
                    var nameLength = (int)received[i].Header.NameLength;
                    var address = request.RemoteAddress;
                    address.Size = nameLength;
                    new ReadOnlySpan<byte>(addresses + i * SockaddrSize, nameLength).CopyTo(address.Buffer.Span);
                    request.InvalidateRemote();
                    request.LocalEndPoint = _local;
                    request.Destination = _destinations
                        ? PacketDestination.Read(new ReadOnlySpan<byte>(receiveControls + i * PacketDestination.ControlSize, (int)received[i].Header.ControlLength))
                        : default;
                    var length = (int)received[i].Length;
                    new ReadOnlySpan<byte>(datagrams + i * DnsRequest.MaxMessageSize, length).CopyTo(request.QuerySpace(length));
                    var disposition = request.Prepare(length, DnsTransport.Udp);
                    ValueTask pending;
                    try
                    {
                        pending = QueryProcessor.ProcessAsync(request, disposition, _routes(), _logger, _stopping);
                    }
                    catch (Exception exception) when (exception is not OutOfMemoryException)
                    {
                        LogUnexpected(_logger, exception);
                        continue;
                    }
                    if (!pending.IsCompletedSuccessfully)
                    {
                        _ = FinishAsync(request, pending);
                        requests[i] = _pool.Rent();
                        continue;
                    }
                    if (!request.Response.Written)
                    {
                        continue;
                    }
                    sendVectors[replyCount].Base = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(request.Response.GetBufferArray()));
                    sendVectors[replyCount].Length = (nuint)request.Response.Length;
                    replies[replyCount].Header = new MsgHdr
                    {
                        Name = (nint)(addresses + i * SockaddrSize),
                        NameLength = (uint)nameLength,
                        Iov = (nint)(sendVectors + replyCount),
                        IovLength = 1,
                    };
                    if (request.Destination.IsKnown)
                    {
                        var control = sendControls + replyCount * PacketDestination.ControlSize;
                        replies[replyCount].Header.Control = (nint)control;
                        replies[replyCount].Header.ControlLength = (nuint)request.Destination.Write(
                            new Span<byte>(control, PacketDestination.ControlSize), _socket.AddressFamily);
                    }
                    replyCount++;
                }
                var sent = 0;
                while (sent < replyCount)
                {
                    var result = sendmmsg(fd, replies + sent, (uint)(replyCount - sent), 0);
                    if (result <= 0)
                    {
                        var error = Marshal.GetLastPInvokeError();
                        if (error == Eintr)
                        {
                            continue;
                        }
                        // A reply that cannot be sent (e.g. unreachable client) is dropped, as a failed SendTo would be.
                        sent++;
                        continue;
                    }
                    sent += result;
                }
            }
        }
        finally
        {
            NativeMemory.Free(datagrams);
            NativeMemory.Free(addresses);
            NativeMemory.Free(receiveVectors);
            NativeMemory.Free(sendVectors);
            NativeMemory.Free(received);
            NativeMemory.Free(replies);
            NativeMemory.Free(receiveControls);
            NativeMemory.Free(sendControls);
            foreach (var request in requests)
            {
                _pool.Return(request);
            }
        }
    }

    private async Task FinishAsync(DnsRequest request, ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
            if (request.Response.Written)
            {
                if (request.Destination.IsKnown)
                {
                    PacketSender.Send(_socket, request.Response.Bytes, request.RemoteAddress, request.Destination);
                }
                else
                {
                    _socket.SendTo(request.Response.Bytes, SocketFlags.None, request.RemoteAddress);
                }
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "recvmmsg failed with errno {Errno}")]
    private static partial void LogReceiveFailed(ILogger logger, int errno);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error answering a UDP query")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
