using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ClusterDns.Server;

/// <summary>
/// The address a UDP query was sent to, read from its IP_PKTINFO / IPV6_PKTINFO control message, so the reply can
/// leave from that same address. A socket bound to the wildcard address otherwise replies from whatever source the
/// routing table picks — on a host with several addresses, not the one the client asked, and every stub resolver
/// (glibc, musl, Go) drops such a reply. CoreDNS (miekg/dns) does the same with its session's out-of-band data.
/// Layout is Linux's on 64-bit: <c>cmsghdr</c> {size_t len; int level; int type;} then the data at offset 16.
/// </summary>
internal readonly struct PacketDestination
{
    /// <summary>Room for one received control message (IPV6_PKTINFO takes 40 octets; IP_PKTINFO 32).</summary>
    public const int ControlSize = 64;

    private const int IpProtoIp = 0;
    private const int IpProtoIpv6 = 41;
    private const int IpPktInfo = 8;
    private const int Ipv6RecvPktInfo = 49;
    private const int Ipv6PktInfo = 50;
    private const int HeaderSize = 16;

    private readonly UInt128 _address; // IPv6, or IPv4-mapped
    private readonly int _interfaceIndex;

    private PacketDestination(UInt128 address, int interfaceIndex)
    {
        _address = address;
        _interfaceIndex = interfaceIndex;
        IsKnown = true;
    }

    public bool IsKnown { get; }

    /// <summary>Asks the kernel to report each datagram's destination (wildcard-bound sockets only need it).</summary>
    public static void Enable(Socket socket)
    {
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // On a dual-stack socket this reports IPv4 destinations too, as IPv4-mapped addresses.
            socket.SetRawSocketOption(IpProtoIpv6, Ipv6RecvPktInfo, BitConverter.GetBytes(1));
        }
        else
        {
            socket.SetRawSocketOption(IpProtoIp, IpPktInfo, BitConverter.GetBytes(1));
        }
    }

    /// <summary>True for a socket bound to the wildcard address (the case where the reply source must be chosen).</summary>
    public static bool IsWildcard(Socket socket) =>
        socket.LocalEndPoint is IPEndPoint local && (local.Address.Equals(IPAddress.IPv6Any) || local.Address.Equals(IPAddress.Any));

    /// <summary>Reads the destination from received control data; unknown when there is none.</summary>
    public static PacketDestination Read(ReadOnlySpan<byte> control)
    {
        while (control.Length >= HeaderSize)
        {
            var length = (int)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(control), int.MaxValue);
            if (length < HeaderSize || length > control.Length)
            {
                break;
            }
            var level = BinaryPrimitives.ReadInt32LittleEndian(control[8..]);
            var type = BinaryPrimitives.ReadInt32LittleEndian(control[12..]);
            var data = control[HeaderSize..length];
            if (level == IpProtoIpv6 && type == Ipv6PktInfo && data.Length >= 20)
            {
                // in6_pktinfo { in6_addr addr; unsigned int ifindex; }
                return new PacketDestination(BinaryPrimitives.ReadUInt128BigEndian(data), BinaryPrimitives.ReadInt32LittleEndian(data[16..]));
            }
            if (level == IpProtoIp && type == IpPktInfo && data.Length >= 12)
            {
                // in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }: addr is the header's destination.
                var v4 = BinaryPrimitives.ReadUInt32BigEndian(data[8..]);
                return new PacketDestination(((UInt128)0xFFFF << 32) | v4, BinaryPrimitives.ReadInt32LittleEndian(data));
            }
            control = control[Math.Min(Align(length), control.Length)..];
        }
        return default;
    }

    /// <summary>Writes the control message that sends a reply from this address; returns its length (0: none).</summary>
    public int Write(Span<byte> control, AddressFamily socketFamily)
    {
        if (!IsKnown)
        {
            return 0;
        }
        control[..ControlSize].Clear();
        if (socketFamily == AddressFamily.InterNetworkV6)
        {
            // Linux accepts IPV6_PKTINFO with an IPv4-mapped source for IPv4 replies on a dual-stack socket.
            const int dataLength = 20;
            BinaryPrimitives.WriteUInt64LittleEndian(control, HeaderSize + dataLength);
            BinaryPrimitives.WriteInt32LittleEndian(control[8..], IpProtoIpv6);
            BinaryPrimitives.WriteInt32LittleEndian(control[12..], Ipv6PktInfo);
            BinaryPrimitives.WriteUInt128BigEndian(control[HeaderSize..], _address);
            // The interface only matters (and only helps) for link-local addresses; elsewhere routing picks it.
            BinaryPrimitives.WriteInt32LittleEndian(control[(HeaderSize + 16)..], IsLinkLocal ? _interfaceIndex : 0);
            return Align(HeaderSize + dataLength);
        }
        else
        {
            const int dataLength = 12;
            BinaryPrimitives.WriteUInt64LittleEndian(control, HeaderSize + dataLength);
            BinaryPrimitives.WriteInt32LittleEndian(control[8..], IpProtoIp);
            BinaryPrimitives.WriteInt32LittleEndian(control[12..], IpPktInfo);
            BinaryPrimitives.WriteUInt32BigEndian(control[(HeaderSize + 4)..], (uint)_address); // spec_dst: the source
            return Align(HeaderSize + dataLength);
        }
    }

    /// <summary>The address as .NET sees it (IPv4 for IPv4-mapped), for logs and tests.</summary>
    public IPAddress? ToAddress()
    {
        if (!IsKnown)
        {
            return null;
        }
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, _address);
        var address = new IPAddress(bytes);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    private bool IsLinkLocal => (_address >> 118) == 0x3FA; // fe80::/10

    private static int Align(int length) => (length + 7) & ~7;
}

/// <summary>sendmsg(2) of one datagram with control data, for replies finished off the receive thread.</summary>
internal static partial class PacketSender
{
    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint sendmsg(nint fd, MsgHdr* message, int flags);

    /// <summary>Sends <paramref name="payload"/> to <paramref name="remote"/> from <paramref name="destination"/>'s address.</summary>
    public static unsafe void Send(Socket socket, ReadOnlySpan<byte> payload, SocketAddress remote, PacketDestination destination)
    {
        Span<byte> control = stackalloc byte[PacketDestination.ControlSize];
        var controlLength = destination.Write(control, socket.AddressFamily);
        fixed (byte* data = payload)
        fixed (byte* name = remote.Buffer.Span)
        fixed (byte* cmsg = control)
        {
            var vector = new IoVec { Base = (nint)data, Length = (nuint)payload.Length };
            var header = new MsgHdr
            {
                Name = (nint)name,
                NameLength = (uint)remote.Size,
                Iov = (nint)(&vector),
                IovLength = 1,
                Control = controlLength > 0 ? (nint)cmsg : 0,
                ControlLength = (nuint)controlLength,
            };
            _ = sendmsg(socket.SafeHandle.DangerousGetHandle(), &header, 0); // a reply that cannot be sent is dropped
        }
    }
}
