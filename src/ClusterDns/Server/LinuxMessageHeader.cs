using System.Runtime.InteropServices;

namespace ClusterDns.Server;

/// <summary>
/// <c>struct iovec</c> in the 64-bit Linux layout: one buffer of a datagram, for <c>recvmmsg</c>/<c>sendmmsg</c>
/// (<see cref="BatchedUdpReceiver"/>) and <c>sendmsg</c> (<see cref="PacketSender"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoVec
{
    public nint Base;
    public nuint Length;
}

/// <summary><c>struct msghdr</c> in the 64-bit Linux layout: address, buffers and control data of one datagram.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsgHdr
{
    public nint Name;
    public uint NameLength;
    public nint Iov;
    public nuint IovLength;
    public nint Control;
    public nuint ControlLength;
    public int Flags;
}
