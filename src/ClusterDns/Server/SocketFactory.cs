using System.Net;
using System.Net.Sockets;

namespace ClusterDns.Server;

/// <summary>Creates listening sockets: dual-stack on the wildcard address, SO_REUSEPORT for UDP fan-out on Linux.</summary>
internal static class SocketFactory
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public static Socket CreateUdp(IPAddress? bindAddress, int port, bool reusePort)
    {
        var socket = Create(bindAddress, SocketType.Dgram, ProtocolType.Udp, out var endPoint, port);
        try
        {
            if (reusePort && OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            }
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.SendBufferSize = 4 * 1024 * 1024;
            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static Socket CreateTcp(IPAddress? bindAddress, int port)
    {
        var socket = Create(bindAddress, SocketType.Stream, ProtocolType.Tcp, out var endPoint, port);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.NoDelay = true;
            socket.Bind(endPoint);
            socket.Listen(1024);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static Socket Create(IPAddress? bindAddress, SocketType type, ProtocolType protocol, out IPEndPoint endPoint, int port)
    {
        if (bindAddress is null)
        {
            if (Socket.OSSupportsIPv6)
            {
                var dual = new Socket(AddressFamily.InterNetworkV6, type, protocol) { DualMode = true };
                endPoint = new IPEndPoint(IPAddress.IPv6Any, port);
                return dual;
            }
            bindAddress = IPAddress.Any;
        }
        endPoint = new IPEndPoint(bindAddress, port);
        return new Socket(bindAddress.AddressFamily, type, protocol);
    }
}
