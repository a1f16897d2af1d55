using System.Globalization;
using System.Net;
using System.Text;

namespace ClusterDns.Plugins.Dns64;

/// <summary>
/// An RFC 6052 IPv4-embedded IPv6 prefix (/32, /40, /48, /56, /64 or /96): where the 32 bits of an IPv4 address go
/// in the synthesized IPv6 address. Bits 64–71 (the "u" octet) stay zero; for /96 the address takes the last 32 bits.
/// </summary>
public sealed class Dns64Prefix
{
    /// <summary>The well-known prefix of RFC 6052 §2.1, CoreDNS's default.</summary>
    public static Dns64Prefix WellKnown { get; } = new(IPAddress.Parse("64:ff9b::").GetAddressBytes(), 96);

    private readonly byte[] _network;

    internal Dns64Prefix(byte[] network, int length)
    {
        _network = network;
        Length = length;
    }

    /// <summary>The prefix length in bits.</summary>
    public int Length { get; }

    /// <summary>The network address (host bits cleared).</summary>
    public ReadOnlySpan<byte> Network => _network;

    /// <summary>Embeds <paramref name="ipv4"/> (4 octets) into <paramref name="ipv6"/> (16 octets) as CoreDNS's <c>to6</c>.</summary>
    public void Embed(ReadOnlySpan<byte> ipv4, Span<byte> ipv6)
    {
        ipv6[..16].Clear();
        var i = 0;
        var j = 0;
        for (; i < Length / 8; i++)
        {
            ipv6[i] = _network[i];
        }
        for (; i < 8; i++, j++)
        {
            ipv6[i] = ipv4[j];
        }
        if (i == 8)
        {
            i++; // skip the u octet
        }
        for (; j < 4; i++, j++)
        {
            ipv6[i] = ipv4[j];
        }
    }

    /// <summary>The synthesized address for <paramref name="ipv4"/>.</summary>
    public IPAddress Embed(IPAddress ipv4)
    {
        Span<byte> v4 = stackalloc byte[4];
        Span<byte> v6 = stackalloc byte[16];
        ipv4.TryWriteBytes(v4, out _);
        Embed(v4, v6);
        return new IPAddress(v6);
    }

    public override string ToString() => GoNetworkText(_network, Length);

    /// <summary>Go's <c>(*net.IPNet).String()</c>: an IPv4 or IPv4-mapped network in dotted form with its IPv4 length,
    /// otherwise Go's IPv6 text (the longest run of two or more zero groups as <c>::</c>).</summary>
    internal static string GoNetworkText(ReadOnlySpan<byte> network, int bits)
    {
        if (network.Length == 4)
        {
            return $"{new IPAddress(network)}/{bits.ToString(CultureInfo.InvariantCulture)}";
        }
        if (IsV4Mapped(network))
        {
            return $"{new IPAddress(network[12..])}/{Math.Max(0, bits - 96).ToString(CultureInfo.InvariantCulture)}";
        }
        return $"{GoIPv6Text(network)}/{bits.ToString(CultureInfo.InvariantCulture)}";
    }

    private static bool IsV4Mapped(ReadOnlySpan<byte> address)
    {
        for (var i = 0; i < 10; i++)
        {
            if (address[i] != 0)
            {
                return false;
            }
        }
        return address[10] == 0xFF && address[11] == 0xFF;
    }

    private static string GoIPv6Text(ReadOnlySpan<byte> p)
    {
        int e0 = -1, e1 = -1;
        for (var i = 0; i < 16; i += 2)
        {
            var j = i;
            while (j < 16 && p[j] == 0 && p[j + 1] == 0)
            {
                j += 2;
            }
            if (j > i && j - i > e1 - e0)
            {
                e0 = i;
                e1 = j;
                i = j;
            }
        }
        if (e1 - e0 <= 2)
        {
            e0 = e1 = -1;
        }
        var text = new StringBuilder(39);
        for (var i = 0; i < 16; i += 2)
        {
            if (i == e0)
            {
                text.Append("::");
                i = e1;
                if (i >= 16)
                {
                    break;
                }
            }
            else if (i > 0)
            {
                text.Append(':');
            }
            text.Append(((p[i] << 8) | p[i + 1]).ToString("x", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
