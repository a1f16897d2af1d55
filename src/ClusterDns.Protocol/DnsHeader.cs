using System.Buffers.Binary;

namespace ClusterDns.Protocol;

/// <summary>The 12-octet message header (RFC 1035 §4.1.1). Flags are kept as the raw 16-bit word;
/// the properties decode it. The rcode here is the 4-bit header part only.</summary>
public struct DnsHeader
{
    public const int Size = 12;

    public ushort Id;
    public ushort Flags;
    public ushort QuestionCount;
    public ushort AnswerCount;
    public ushort AuthorityCount;
    public ushort AdditionalCount;

    public const ushort QrBit = 0x8000;
    public const ushort AaBit = 0x0400;
    public const ushort TcBit = 0x0200;
    public const ushort RdBit = 0x0100;
    public const ushort RaBit = 0x0080;
    public const ushort ZBit = 0x0040;
    public const ushort AdBit = 0x0020;
    public const ushort CdBit = 0x0010;
    public const ushort OpcodeMask = 0x7800;

    /// <summary>The bits a reply copies from its query (opcode, RD, CD): a reply compiled once and served to many
    /// clients must take these from each query, never from the first asker's.</summary>
    public const ushort EchoedBits = OpcodeMask | RdBit | CdBit;

    public bool IsResponse { readonly get => (Flags & QrBit) != 0; set => SetBit(QrBit, value); }
    public bool Authoritative { readonly get => (Flags & AaBit) != 0; set => SetBit(AaBit, value); }
    public bool Truncated { readonly get => (Flags & TcBit) != 0; set => SetBit(TcBit, value); }
    public bool RecursionDesired { readonly get => (Flags & RdBit) != 0; set => SetBit(RdBit, value); }
    public bool RecursionAvailable { readonly get => (Flags & RaBit) != 0; set => SetBit(RaBit, value); }
    public bool Zero { readonly get => (Flags & ZBit) != 0; set => SetBit(ZBit, value); }
    public bool AuthenticData { readonly get => (Flags & AdBit) != 0; set => SetBit(AdBit, value); }
    public bool CheckingDisabled { readonly get => (Flags & CdBit) != 0; set => SetBit(CdBit, value); }

    public DnsOpcode Opcode
    {
        readonly get => (DnsOpcode)((Flags >> 11) & 0xF);
        set => Flags = (ushort)((Flags & ~OpcodeMask) | (((int)value & 0xF) << 11));
    }

    /// <summary>The low four bits of the rcode.</summary>
    public byte Rcode
    {
        readonly get => (byte)(Flags & 0xF);
        set => Flags = (ushort)((Flags & ~0xF) | (value & 0xF));
    }

    private void SetBit(ushort bit, bool on) => Flags = on ? (ushort)(Flags | bit) : (ushort)(Flags & ~bit);

    public static bool TryRead(ReadOnlySpan<byte> packet, out DnsHeader header)
    {
        if (packet.Length < Size)
        {
            header = default;
            return false;
        }
        header = new DnsHeader
        {
            Id = BinaryPrimitives.ReadUInt16BigEndian(packet),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            QuestionCount = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]),
            AnswerCount = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]),
            AuthorityCount = BinaryPrimitives.ReadUInt16BigEndian(packet[8..]),
            AdditionalCount = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]),
        };
        return true;
    }

    public readonly void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, Id);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], QuestionCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], AnswerCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], AuthorityCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], AdditionalCount);
    }

    /// <summary>Flags joined by commas in CoreDNS's log order (<c>qr,aa,tc,rd,ra,z,ad,cd</c>).</summary>
    public readonly string FlagsText()
    {
        Span<char> buffer = stackalloc char[32];
        var length = 0;
        Append(buffer, ref length, IsResponse, "qr");
        Append(buffer, ref length, Authoritative, "aa");
        Append(buffer, ref length, Truncated, "tc");
        Append(buffer, ref length, RecursionDesired, "rd");
        Append(buffer, ref length, RecursionAvailable, "ra");
        Append(buffer, ref length, Zero, "z");
        Append(buffer, ref length, AuthenticData, "ad");
        Append(buffer, ref length, CheckingDisabled, "cd");
        return new string(buffer[..length]);

        static void Append(Span<char> buffer, ref int length, bool on, string text)
        {
            if (!on)
            {
                return;
            }
            if (length > 0)
            {
                buffer[length++] = ',';
            }
            text.AsSpan().CopyTo(buffer[length..]);
            length += text.Length;
        }
    }
}
