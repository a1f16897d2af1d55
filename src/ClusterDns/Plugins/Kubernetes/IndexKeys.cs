using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>Keys of the index's tries (service <c>name.ns</c> hashes, address keys) and the wire pieces entries are
/// made of (labels, <c>[label.]relative.zone</c> targets); shared by the index, the resolver and zone transfer.</summary>
internal static class IndexKeys
{
    /// <summary>FNV-1a over the key's chars with a murmur finaliser: the trie consumes the low bits first.</summary>
    public static ulong KeyHash(ReadOnlySpan<char> key)
    {
        var h = 14695981039346656037UL;
        foreach (var c in key)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return TrieHash.Mix(h);
    }

    public static ulong KeyHash(string name, string ns)
    {
        Span<char> key = stackalloc char[name.Length + 1 + ns.Length];
        name.CopyTo(key);
        key[name.Length] = '.';
        ns.CopyTo(key[(name.Length + 1)..]);
        return KeyHash(key);
    }

    public static ulong IpHash(UInt128 key) => TrieHash.Mix((ulong)key ^ ((ulong)(key >> 64) * 0x9E3779B97F4A7C15UL));

    /// <summary>IPv4 lives in the IPv4-mapped range so both families share one key space.</summary>
    public static UInt128 ToKey(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes.Clear();
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static byte[] ToLabel(string text)
    {
        var length = Math.Min(text.Length, DnsName.MaxLabelLength);
        var label = new byte[length + 1];
        label[0] = (byte)length;
        Encoding.Latin1.GetBytes(text.AsSpan(0, length), label.AsSpan(1));
        return label;
    }

    /// <summary>The lower-case wire labels <c>name.ns.svc</c> (no zone, no root): the relative part of a service's names.</summary>
    public static byte[] ServiceRelativeWire(string name, string ns)
    {
        var relative = new byte[name.Length + ns.Length + 6];
        var at = 0;
        foreach (var part in (ReadOnlySpan<string>)[name, ns, "svc"])
        {
            relative[at++] = (byte)part.Length;
            foreach (var c in part)
            {
                relative[at++] = (byte)char.ToLowerInvariant(c);
            }
        }
        return relative;
    }

    /// <summary>The addresses among <paramref name="texts"/> that parse, in order (a ClusterIP list, an import's IPs).</summary>
    public static IPAddress[] ParseAddresses(ImmutableArray<string> texts)
    {
        if (texts.IsDefaultOrEmpty)
        {
            return [];
        }
        var list = new List<IPAddress>(texts.Length);
        foreach (var text in texts)
        {
            if (IPAddress.TryParse(text, out var ip))
            {
                list.Add(ip);
            }
        }
        return [.. list];
    }

    /// <summary>Builds <c>[label.]relative.zone</c>; null when the result would be too long.</summary>
    public static DnsName? Target(byte[]? label, ReadOnlySpan<byte> relative, DnsName zone)
    {
        var length = (label?.Length ?? 0) + relative.Length + zone.WireLength;
        if (length > DnsName.MaxWireLength)
        {
            return null;
        }
        Span<byte> wire = stackalloc byte[length];
        var at = 0;
        if (label is not null)
        {
            label.CopyTo(wire);
            at = label.Length;
        }
        relative.CopyTo(wire[at..]);
        zone.Wire.CopyTo(wire[(at + relative.Length)..]);
        return DnsName.FromValidatedWire(wire);
    }
}
