using System.Buffers.Binary;

namespace ClusterDns.Protocol.Tests;

/// <summary>Hand-assembles raw packets for malformed-input tests.</summary>
internal sealed class Packet
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public static Packet Header(ushort id = 0x1234, ushort flags = 0x0100, ushort qd = 1, ushort an = 0, ushort ns = 0, ushort ar = 0) =>
        new Packet().U16(id).U16(flags).U16(qd).U16(an).U16(ns).U16(ar);

    public Packet U8(params byte[] values)
    {
        _bytes.AddRange(values);
        return this;
    }

    public Packet U16(ushort value)
    {
        _bytes.Add((byte)(value >> 8));
        _bytes.Add((byte)value);
        return this;
    }

    public Packet U32(uint value) => U16((ushort)(value >> 16)).U16((ushort)value);

    /// <summary>Labels as given (no validation), then the root label.</summary>
    public Packet Name(params string[] labels)
    {
        foreach (var label in labels)
        {
            _bytes.Add((byte)label.Length);
            _bytes.AddRange(label.Select(c => (byte)c));
        }
        _bytes.Add(0);
        return this;
    }

    public Packet Pointer(int offset) => U16((ushort)(0xC000 | offset));

    public Packet Question(ushort type = 1, ushort @class = 1) => Name("example", "org").U16(type).U16(@class);

    public Packet Opt(ushort size = 1232, uint ttl = 0, ushort rdlength = 0) => U8(0).U16(41).U16(size).U32(ttl).U16(rdlength);

    public Packet Bytes(int count, byte value = 0)
    {
        _bytes.AddRange(Enumerable.Repeat(value, count));
        return this;
    }

    /// <summary>Overwrites a big-endian 16-bit value (for example a count) after the fact.</summary>
    public Packet Patch16(int offset, ushort value)
    {
        _bytes[offset] = (byte)(value >> 8);
        _bytes[offset + 1] = (byte)value;
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static ushort ReadU16(byte[] bytes, int offset) => BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(offset));
}
