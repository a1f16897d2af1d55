using System.Net;
using System.Net.Sockets;

namespace ClusterDns.Protocol;

/// <summary>A record (RFC 1035 §3.4.1).</summary>
public sealed record ARecord(IPAddress Address) : DnsRecord
{
    public override DnsType Type => DnsType.A;

    public override bool TryWriteData(ref DnsWriter writer)
    {
        Span<byte> bytes = stackalloc byte[4];
        return Address.AddressFamily == AddressFamily.InterNetwork && Address.TryWriteBytes(bytes, out _) && writer.TryWriteBytes(bytes);
    }

    public override string DataText() => Address.ToString();
}

/// <summary>AAAA record (RFC 3596).</summary>
public sealed record AaaaRecord(IPAddress Address) : DnsRecord
{
    public override DnsType Type => DnsType.AAAA;

    public override bool TryWriteData(ref DnsWriter writer)
    {
        Span<byte> bytes = stackalloc byte[16];
        return Address.AddressFamily == AddressFamily.InterNetworkV6 && Address.TryWriteBytes(bytes, out _) && writer.TryWriteBytes(bytes);
    }

    public override string DataText() => Address.ToString();
}
