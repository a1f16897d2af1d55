using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace ClusterDns.Protocol;

/// <summary>
/// Reads a DNS message from a span with an explicit offset. Every method is a Try-method: malformed input
/// (short data, bad labels, compression loops) yields false, never an exception.
/// </summary>
public ref struct DnsReader
{
    private readonly ReadOnlySpan<byte> _packet;

    public DnsReader(ReadOnlySpan<byte> packet, int position = 0)
    {
        _packet = packet;
        Position = position;
    }

    public int Position { get; set; }

    public readonly ReadOnlySpan<byte> Packet => _packet;

    public readonly int Remaining => _packet.Length - Position;

    public bool TryReadUInt8(out byte value)
    {
        if (Position >= _packet.Length)
        {
            value = 0;
            return false;
        }
        value = _packet[Position++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (Position + 2 > _packet.Length)
        {
            value = 0;
            return false;
        }
        value = BinaryPrimitives.ReadUInt16BigEndian(_packet[Position..]);
        Position += 2;
        return true;
    }

    public bool TryReadUInt32(out uint value)
    {
        if (Position + 4 > _packet.Length)
        {
            value = 0;
            return false;
        }
        value = BinaryPrimitives.ReadUInt32BigEndian(_packet[Position..]);
        Position += 4;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        if (count < 0 || Position + count > _packet.Length)
        {
            bytes = default;
            return false;
        }
        bytes = _packet.Slice(Position, count);
        Position += count;
        return true;
    }

    /// <summary>Reads a possibly compressed name and writes its uncompressed wire form to <paramref name="destination"/>
    /// (at least 255 octets). Guards: labels over 63, names over 255, reserved label types, pointers into the header, and
    /// pointers that do not point strictly backwards (this also rules out loops).</summary>
    public bool TryReadName(scoped Span<byte> destination, out int length)
    {
        length = 0;
        var position = Position;
        var end = -1;                 // where the reader continues after the name
        var lowestTarget = Position;  // each pointer must go below every earlier name start
        var written = 0;
        while (true)
        {
            if (position >= _packet.Length)
            {
                return false;
            }
            var octet = _packet[position];
            switch (octet & 0xC0)
            {
                case 0x00:
                    if (octet == 0)
                    {
                        if (written + 1 > DnsName.MaxWireLength || written + 1 > destination.Length)
                        {
                            return false;
                        }
                        destination[written++] = 0;
                        Position = end >= 0 ? end : position + 1;
                        length = written;
                        return true;
                    }
                    if (position + 1 + octet > _packet.Length || written + 1 + octet + 1 > DnsName.MaxWireLength
                        || written + 1 + octet >= destination.Length)
                    {
                        return false;
                    }
                    _packet.Slice(position, octet + 1).CopyTo(destination[written..]);
                    written += octet + 1;
                    position += octet + 1;
                    break;
                case 0xC0:
                    if (position + 2 > _packet.Length)
                    {
                        return false;
                    }
                    var target = BinaryPrimitives.ReadUInt16BigEndian(_packet[position..]) & 0x3FFF;
                    if (target >= lowestTarget)
                    {
                        return false; // forward pointer, self pointer or loop
                    }
                    if (target < DnsHeader.Size)
                    {
                        return false; // no name lives in the header; copying such a name verbatim would also break replies
                    }
                    if (end < 0)
                    {
                        end = position + 2;
                    }
                    lowestTarget = target;
                    position = target;
                    break;
                default:
                    return false; // 0x40 / 0x80: extended and reserved label types
            }
        }
    }

    public bool TryReadName([NotNullWhen(true)] out DnsName? name)
    {
        Span<byte> buffer = stackalloc byte[DnsName.MaxWireLength];
        if (!TryReadName(buffer, out var length))
        {
            name = null;
            return false;
        }
        name = DnsName.FromValidatedWire(buffer[..length]);
        return true;
    }

    /// <summary>Skips a name without copying it.</summary>
    public bool TrySkipName()
    {
        Span<byte> buffer = stackalloc byte[DnsName.MaxWireLength];
        return TryReadName(buffer, out _);
    }
}
