using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace ClusterDns.Protocol;

/// <summary>Offsets of names already written, for compression. Inline storage: no allocation.</summary>
[InlineArray(Capacity)]
internal struct CompressionOffsets
{
    public const int Capacity = 96;
    private ushort _element;
}

/// <summary>
/// Writes a DNS message into a span with an explicit offset. Try-methods return false when the buffer is
/// full, so a caller can stop at a record boundary (truncation). Names are compressed against names
/// written earlier in the same message (RFC 1035 §4.1.4), compared case-insensitively.
/// </summary>
public ref struct DnsWriter
{
    private readonly Span<byte> _buffer;
    private CompressionOffsets _offsets;
    private int _offsetCount;

    private int _position;

    public DnsWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>The write offset. Moving it backwards (rewinding a record that did not fit) also forgets
    /// compression targets at or after the new offset: they are about to be overwritten, and a pointer to them
    /// would point into unrelated bytes.</summary>
    public int Position
    {
        readonly get => _position;
        set
        {
            while (_offsetCount > 0 && _offsets[_offsetCount - 1] >= value)
            {
                _offsetCount--;
            }
            _position = value;
        }
    }

    public readonly Span<byte> Buffer => _buffer;

    public readonly ReadOnlySpan<byte> Written => _buffer[..Position];

    public bool Compress { get; set; } = true;

    public bool TryWriteUInt8(byte value)
    {
        if (_position >= _buffer.Length)
        {
            return false;
        }
        _buffer[_position++] = value;
        return true;
    }

    public bool TryWriteUInt16(ushort value)
    {
        if (_position + 2 > _buffer.Length)
        {
            return false;
        }
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], value);
        _position += 2;
        return true;
    }

    public bool TryWriteUInt32(uint value)
    {
        if (_position + 4 > _buffer.Length)
        {
            return false;
        }
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[_position..], value);
        _position += 4;
        return true;
    }

    public bool TryWriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        if (_position + bytes.Length > _buffer.Length)
        {
            return false;
        }
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
        return true;
    }

    public bool TryWriteName(DnsName name, bool compress = true) => TryWriteName(name.Wire, compress);

    /// <summary>Writes an uncompressed wire-form name, replacing its longest already-written suffix by a pointer.</summary>
    public bool TryWriteName(scoped ReadOnlySpan<byte> wire, bool compress = true)
    {
        if (wire.IsEmpty)
        {
            return false;
        }
        compress &= Compress;
        var start = _position;
        var offset = 0;
        while (wire[offset] != 0)
        {
            if (compress)
            {
                var pointer = FindSuffix(wire[offset..], start);
                if (pointer >= 0)
                {
                    if (!TryWriteUInt16((ushort)(0xC000 | pointer)))
                    {
                        Position = start;
                        return false;
                    }
                    return true;
                }
            }
            var labelLength = wire[offset] + 1;
            if (_position + labelLength > _buffer.Length)
            {
                Position = start;
                return false;
            }
            if (_position <= 0x3FFF && _offsetCount < CompressionOffsets.Capacity)
            {
                _offsets[_offsetCount++] = (ushort)_position;
            }
            wire.Slice(offset, labelLength).CopyTo(_buffer[_position..]);
            _position += labelLength;
            offset += labelLength;
        }
        if (!TryWriteUInt8(0))
        {
            Position = start;
            return false;
        }
        return true;
    }

    /// <summary>Offset of a written name equal to <paramref name="suffix"/>, or -1. Only names that start before
    /// <paramref name="limit"/> (the name being written) count: the current name's own labels are followed by
    /// octets not written yet, and pointing at them would make a loop (e.g. <c>a.a.</c>).</summary>
    private readonly int FindSuffix(scoped ReadOnlySpan<byte> suffix, int limit)
    {
        // Offsets are recorded in increasing order.
        for (var i = 0; i < _offsetCount && _offsets[i] < limit; i++)
        {
            if (NameAtEquals(_offsets[i], suffix))
            {
                return _offsets[i];
            }
        }
        return -1;
    }

    private readonly bool NameAtEquals(int position, scoped ReadOnlySpan<byte> name)
    {
        var n = 0;
        for (var hops = 0; hops < 128; hops++)
        {
            var octet = _buffer[position];
            if ((octet & 0xC0) == 0xC0)
            {
                position = BinaryPrimitives.ReadUInt16BigEndian(_buffer[position..]) & 0x3FFF;
                continue;
            }
            if (octet != name[n])
            {
                return false;
            }
            if (octet == 0)
            {
                return true;
            }
            if (!DnsNameSpan.EqualsIgnoreCase(_buffer.Slice(position + 1, octet), name.Slice(n + 1, octet)))
            {
                return false;
            }
            position += octet + 1;
            n += octet + 1;
        }
        return false;
    }

    /// <summary>Reserves a 16-bit length field; returns its offset for <see cref="PatchLength"/>.</summary>
    public bool TryReserveLength(out int lengthOffset)
    {
        lengthOffset = _position;
        return TryWriteUInt16(0);
    }

    /// <summary>Writes the number of octets since the reserved field into it.</summary>
    public readonly void PatchLength(int lengthOffset) =>
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[lengthOffset..], (ushort)(_position - lengthOffset - 2));
}
