using System.Buffers.Binary;

namespace ClusterDns.Protocol;

/// <summary>
/// The OPT record of a reply to a query that had one — the one home of that rule, for replies built as objects and
/// for every prepared-bytes path (precompiled answers, cache hits, error replies). As CoreDNS's <c>SizeAndDo</c>: root
/// owner, version 0, the DO bit echoed, and the query's NSID, EXPIRE, COOKIE, TCP-KEEPALIVE and PADDING options copied
/// verbatim (others dropped). The payload size is the query's, raised to 512.
/// </summary>
public static class EdnsEcho
{
    /// <summary>Owner (root), type, class (size), TTL and RDLENGTH: an OPT record without options.</summary>
    public const int FixedLength = 11;

    public const ushort Nsid = 3;
    public const ushort Expire = 9;
    public const ushort Cookie = 10;
    public const ushort TcpKeepalive = 11;
    public const ushort Padding = 12;

    /// <summary>The options a reply copies from its query.</summary>
    public static bool IsEchoed(ushort code) => code is Nsid or Expire or Cookie or TcpKeepalive or Padding;

    /// <summary>Length of the reply's OPT record (0 when the query had none).</summary>
    public static int Length(ReadOnlySpan<byte> query, in DnsQueryInfo info) =>
        info.HasOpt ? FixedLength + EchoedLength(OptionData(query, info)) : 0;

    /// <summary>Writes the reply's OPT record; returns its length (0 when the query had none, -1 when it does not fit).</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> query, in DnsQueryInfo info, int extendedRcode = 0)
    {
        if (!info.HasOpt)
        {
            return 0;
        }
        var options = OptionData(query, info);
        var length = FixedLength + EchoedLength(options);
        if (destination.Length < length)
        {
            return -1;
        }
        destination[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], (ushort)DnsType.OPT);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], Math.Max(info.UdpPayloadSize, (ushort)512));
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], ((uint)(extendedRcode >> 4) << 24) | (info.DnssecOk ? OptRecord.DoBit : 0u));
        BinaryPrimitives.WriteUInt16BigEndian(destination[9..], (ushort)(length - FixedLength));
        var position = FixedLength;
        while (options.Length >= 4)
        {
            var size = 4 + BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (size > options.Length)
            {
                break;
            }
            if (IsEchoed(BinaryPrimitives.ReadUInt16BigEndian(options)))
            {
                options[..size].CopyTo(destination[position..]);
                position += size;
            }
            options = options[size..];
        }
        return length;
    }

    /// <summary>The echoed options as objects, for replies built as a <see cref="DnsMessage"/> (none: an empty list,
    /// no allocation).</summary>
    public static IReadOnlyList<EdnsOption> Options(ReadOnlySpan<byte> query, in DnsQueryInfo info)
    {
        var options = info.HasOpt ? OptionData(query, info) : default;
        if (EchoedLength(options) == 0)
        {
            return [];
        }
        var result = new List<EdnsOption>(2);
        while (options.Length >= 4)
        {
            var code = BinaryPrimitives.ReadUInt16BigEndian(options);
            var size = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (4 + size > options.Length)
            {
                break;
            }
            if (IsEchoed(code))
            {
                result.Add(new EdnsOption(code, options.Slice(4, size).ToArray()));
            }
            options = options[(4 + size)..];
        }
        return result;
    }

    /// <summary>The query's OPT RDATA; the parser has checked that its options are well framed.</summary>
    private static ReadOnlySpan<byte> OptionData(ReadOnlySpan<byte> query, in DnsQueryInfo info) =>
        info.OptDataLength > 0 && info.OptDataOffset + info.OptDataLength <= query.Length
            ? query.Slice(info.OptDataOffset, info.OptDataLength)
            : default;

    private static int EchoedLength(ReadOnlySpan<byte> options)
    {
        var total = 0;
        while (options.Length >= 4)
        {
            var size = 4 + BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (size > options.Length)
            {
                break;
            }
            if (IsEchoed(BinaryPrimitives.ReadUInt16BigEndian(options)))
            {
                total += size;
            }
            options = options[size..];
        }
        return total;
    }
}
