using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Acl;

/// <summary>What a matching policy does with a query.</summary>
public enum AclAction : byte
{
    None,
    Allow,
    Block,
    Filter,
    Drop,
}

/// <summary>One source network (CIDR), compared against raw address bytes so matching allocates nothing.</summary>
public readonly record struct AclNetwork(byte[] Prefix, int Bits)
{
    public bool IsV4 => Prefix.Length == 4;

    /// <summary>The network <paramref name="address"/>/<paramref name="bits"/> with host bits cleared (Go's ParseCIDR).</summary>
    public static AclNetwork Create(IPAddress address, int bits)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(bits - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new AclNetwork(bytes, bits);
    }

    public bool Contains(ReadOnlySpan<byte> address)
    {
        if (address.Length != Prefix.Length)
        {
            return false;
        }
        var whole = Bits / 8;
        if (!address[..whole].SequenceEqual(Prefix.AsSpan(0, whole)))
        {
            return false;
        }
        var rest = Bits % 8;
        return rest == 0 || (address[whole] & (byte)(0xFF << (8 - rest))) == Prefix[whole];
    }

    public override string ToString() => $"{new IPAddress(Prefix)}/{Bits}";
}

/// <summary>One <c>ACTION [type QTYPE...] [net SOURCE...]</c> line: matches when both the type and the source match.</summary>
public sealed class AclPolicy(AclAction action, DnsType[] types, bool allTypes, AclNetwork[] networks)
{
    public AclAction Action { get; } = action;

    public bool AllTypes { get; } = allTypes;

    public IReadOnlyList<DnsType> Types => types;

    public IReadOnlyList<AclNetwork> Networks => networks;

    public bool Matches(DnsType type, ReadOnlySpan<byte> source)
    {
        if (!AllTypes && Array.IndexOf(types, type) < 0)
        {
            return false;
        }
        foreach (var network in networks)
        {
            if (network.Contains(source))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The client address of <paramref name="address"/> as raw bytes (IPv4-mapped IPv6 as IPv4); false when the
    /// socket address is neither IPv4 nor IPv6.</summary>
    public static bool TrySourceBytes(SocketAddress address, Span<byte> destination, out int length)
    {
        var buffer = address.Buffer.Span;
        switch (address.Family)
        {
            case AddressFamily.InterNetwork when address.Size >= 8:
                buffer.Slice(4, 4).CopyTo(destination);
                length = 4;
                return true;
            case AddressFamily.InterNetworkV6 when address.Size >= 24:
                var v6 = buffer.Slice(8, 16);
                if (v6[..10].IndexOfAnyExcept((byte)0) < 0 && v6[10] == 0xFF && v6[11] == 0xFF)
                {
                    v6[12..].CopyTo(destination);
                    length = 4;
                    return true;
                }
                v6.CopyTo(destination);
                length = 16;
                return true;
            default:
                length = 0;
                return false;
        }
    }
}

/// <summary>The zones a list of policies applies to (one <c>acl</c> directive).</summary>
public sealed class AclRule(Corefile.ZoneSet zones, AclPolicy[] policies)
{
    public Corefile.ZoneSet Zones { get; } = zones;

    public IReadOnlyList<AclPolicy> Policies => policies;

    /// <summary>The first matching policy's action (matchWithPolicies), or None.</summary>
    public AclAction Match(DnsType type, ReadOnlySpan<byte> source)
    {
        foreach (var policy in policies)
        {
            if (policy.Matches(type, source))
            {
                return policy.Action;
            }
        }
        return AclAction.None;
    }
}
