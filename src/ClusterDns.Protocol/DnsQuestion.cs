namespace ClusterDns.Protocol;

/// <summary>A question (RFC 1035 §4.1.2).</summary>
public sealed record DnsQuestion(DnsName Name, DnsType Type, DnsClass Class = DnsClass.IN)
{
    public override string ToString() => $"{Name}\t{Class.ToText()}\t{Type.ToText()}";
}
