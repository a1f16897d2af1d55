namespace ClusterDns.Protocol;

/// <summary>CNAME (RFC 1035 §3.3.1).</summary>
public sealed record CnameRecord(DnsName Target) : DnsRecord
{
    public override DnsType Type => DnsType.CNAME;

    public override bool TryWriteData(ref DnsWriter writer) => writer.TryWriteName(Target);

    public override string DataText() => Target.ToString();
}

/// <summary>NS (RFC 1035 §3.3.11).</summary>
public sealed record NsRecord(DnsName Target) : DnsRecord
{
    public override DnsType Type => DnsType.NS;

    public override bool TryWriteData(ref DnsWriter writer) => writer.TryWriteName(Target);

    public override string DataText() => Target.ToString();
}

/// <summary>PTR (RFC 1035 §3.3.12).</summary>
public sealed record PtrRecord(DnsName Target) : DnsRecord
{
    public override DnsType Type => DnsType.PTR;

    public override bool TryWriteData(ref DnsWriter writer) => writer.TryWriteName(Target);

    public override string DataText() => Target.ToString();
}

/// <summary>DNAME (RFC 6672). Its target is never compressed.</summary>
public sealed record DnameRecord(DnsName Target) : DnsRecord
{
    public override DnsType Type => DnsType.DNAME;

    public override bool TryWriteData(ref DnsWriter writer) => writer.TryWriteName(Target, compress: false);

    public override string DataText() => Target.ToString();
}

/// <summary>MX (RFC 1035 §3.3.9).</summary>
public sealed record MxRecord(ushort Preference, DnsName Exchange) : DnsRecord
{
    public override DnsType Type => DnsType.MX;

    public override bool TryWriteData(ref DnsWriter writer) => writer.TryWriteUInt16(Preference) && writer.TryWriteName(Exchange);

    public override string DataText() => $"{Preference} {Exchange}";
}

/// <summary>SRV (RFC 2782). The target is not compressed on write (RFC 2782), but read either way.</summary>
public sealed record SrvRecord(ushort Priority, ushort Weight, ushort Port, DnsName Target) : DnsRecord
{
    public override DnsType Type => DnsType.SRV;

    public override bool TryWriteData(ref DnsWriter writer) =>
        writer.TryWriteUInt16(Priority) && writer.TryWriteUInt16(Weight) && writer.TryWriteUInt16(Port)
        && writer.TryWriteName(Target, compress: false);

    public override string DataText() => $"{Priority} {Weight} {Port} {Target}";
}

/// <summary>SOA (RFC 1035 §3.3.13).</summary>
public sealed record SoaRecord(DnsName PrimaryServer, DnsName Mailbox, uint Serial, uint Refresh, uint Retry, uint Expire, uint Minimum) : DnsRecord
{
    public override DnsType Type => DnsType.SOA;

    public override bool TryWriteData(ref DnsWriter writer) =>
        writer.TryWriteName(PrimaryServer) && writer.TryWriteName(Mailbox) && writer.TryWriteUInt32(Serial)
        && writer.TryWriteUInt32(Refresh) && writer.TryWriteUInt32(Retry) && writer.TryWriteUInt32(Expire) && writer.TryWriteUInt32(Minimum);

    public override string DataText() => $"{PrimaryServer} {Mailbox} {Serial} {Refresh} {Retry} {Expire} {Minimum}";
}
