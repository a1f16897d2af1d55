namespace ClusterDns.Protocol;

/// <summary>One EDNS0 option (RFC 6891 §6.1.2), kept as opaque bytes.</summary>
public sealed record EdnsOption(ushort Code, byte[] Data)
{
    public bool Equals(EdnsOption? other) => other is not null && Code == other.Code && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(Code, Data.Length);
}

/// <summary>The OPT pseudo-record (RFC 6891): the class carries the UDP payload size, the TTL the extended
/// rcode, version and DO flag.</summary>
public sealed record OptRecord : DnsRecord
{
    public const ushort DoBit = 0x8000;

    public OptRecord()
    {
        Options = [];
    }

    public IReadOnlyList<EdnsOption> Options { get; init; }

    public override DnsType Type => DnsType.OPT;

    public ushort UdpPayloadSize => (ushort)Class;

    /// <summary>Upper 8 bits of the 12-bit rcode.</summary>
    public byte ExtendedRcode => (byte)(Ttl >> 24);

    public byte Version => (byte)(Ttl >> 16);

    public bool DnssecOk => (Ttl & DoBit) != 0;

    public static OptRecord Create(ushort udpPayloadSize, bool dnssecOk = false, byte version = 0, byte extendedRcode = 0,
        IReadOnlyList<EdnsOption>? options = null) => new()
    {
        Name = DnsName.Root,
        Class = (DnsClass)udpPayloadSize,
        Ttl = ((uint)extendedRcode << 24) | ((uint)version << 16) | (dnssecOk ? DoBit : 0u),
        Options = options ?? [],
    };

    public override bool TryWriteData(ref DnsWriter writer)
    {
        foreach (var option in Options)
        {
            if (!writer.TryWriteUInt16(option.Code) || !writer.TryWriteUInt16((ushort)option.Data.Length) || !writer.TryWriteBytes(option.Data))
            {
                return false;
            }
        }
        return true;
    }

    public override string DataText()
    {
        var parts = new List<string>(Options.Count + 1) { $"; EDNS: version {Version}; flags:{(DnssecOk ? " do" : "")}; udp: {UdpPayloadSize}" };
        foreach (var option in Options)
        {
            parts.Add($"option {option.Code} {Convert.ToHexStringLower(option.Data)}");
        }
        return string.Join(' ', parts);
    }

    public bool Equals(OptRecord? other) =>
        other is not null && base.Equals(other) && Options.SequenceEqual(other.Options);

    public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), Options.Count);
}
