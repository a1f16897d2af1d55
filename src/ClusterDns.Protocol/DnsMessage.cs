using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace ClusterDns.Protocol;

/// <summary>Why a message could not be decoded.</summary>
public enum DnsParseError
{
    None,
    /// <summary>Shorter than the 12-octet header: nothing to answer, drop it.</summary>
    NoHeader,
    /// <summary>The header is readable but a later part is malformed: answer FORMERR.</summary>
    Malformed,
}

/// <summary>
/// A whole DNS message as objects: the flexible (allocating) form used by plugins that rebuild answers,
/// by forward/cache and by tests. The query hot path does not use it; see <c>DnsQueryInfo</c>.
/// The OPT record, when present, stays in <see cref="Additionals"/>.
/// </summary>
public sealed class DnsMessage
{
    public DnsHeader Header;

    public List<DnsQuestion> Questions { get; } = [];

    public List<DnsRecord> Answers { get; } = [];

    public List<DnsRecord> Authorities { get; } = [];

    public List<DnsRecord> Additionals { get; } = [];

    public DnsQuestion? Question => Questions.Count > 0 ? Questions[0] : null;

    public OptRecord? Opt
    {
        get
        {
            foreach (var record in Additionals)
            {
                if (record is OptRecord opt)
                {
                    return opt;
                }
            }
            return null;
        }
    }

    /// <summary>The full 12-bit rcode (header bits plus the OPT extension). Setting it also updates the OPT
    /// record's extended bits when there is one; without OPT only the low four bits can be sent (BADVERS and
    /// other extended codes need an OPT record first).</summary>
    public DnsRcode Rcode
    {
        get => (DnsRcode)(Header.Rcode | (Opt is { } opt ? opt.ExtendedRcode << 4 : 0));
        set
        {
            Header.Rcode = (byte)((int)value & 0xF);
            for (var i = 0; i < Additionals.Count; i++)
            {
                if (Additionals[i] is OptRecord opt)
                {
                    var extended = (uint)((int)value >> 4) & 0xFF;
                    Additionals[i] = opt with { Ttl = (opt.Ttl & 0x00FFFFFF) | (extended << 24) };
                    return;
                }
            }
        }
    }

    public static bool TryParse(ReadOnlySpan<byte> packet, [NotNullWhen(true)] out DnsMessage? message, out DnsParseError error)
    {
        message = null;
        if (!DnsHeader.TryRead(packet, out var header))
        {
            error = DnsParseError.NoHeader;
            return false;
        }
        error = DnsParseError.Malformed;
        var result = new DnsMessage { Header = header };
        var reader = new DnsReader(packet, DnsHeader.Size);
        for (var i = 0; i < header.QuestionCount; i++)
        {
            if (!reader.TryReadName(out var name) || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out var @class))
            {
                return false;
            }
            result.Questions.Add(new DnsQuestion(name, (DnsType)type, (DnsClass)@class));
        }
        if (!ReadSection(ref reader, header.AnswerCount, result.Answers)
            || !ReadSection(ref reader, header.AuthorityCount, result.Authorities)
            || !ReadSection(ref reader, header.AdditionalCount, result.Additionals)
            || CountOpt(result.Additionals) > 1)
        {
            return false; // RFC 6891 §6.1.1: more than one OPT is a format error
        }
        error = DnsParseError.None;
        message = result;
        return true;
    }

    private static int CountOpt(List<DnsRecord> records)
    {
        var count = 0;
        foreach (var record in records)
        {
            if (record is OptRecord)
            {
                count++;
            }
        }
        return count;
    }

    public static DnsMessage Parse(ReadOnlySpan<byte> packet) =>
        TryParse(packet, out var message, out var error) ? message : throw new FormatException($"malformed DNS message: {error}");

    private static bool ReadSection(ref DnsReader reader, int count, List<DnsRecord> section)
    {
        // Each record takes at least 11 octets: a count larger than the rest of the packet is malformed.
        if (count * 11 > reader.Remaining)
        {
            return false;
        }
        for (var i = 0; i < count; i++)
        {
            if (!DnsRecord.TryRead(ref reader, out var record))
            {
                return false;
            }
            section.Add(record!);
        }
        return true;
    }

    /// <summary>
    /// Encodes the message with name compression. When it does not fit in <paramref name="maxSize"/> octets,
    /// whole records are dropped from the end (answer, then authority, then additional), TC is set, and the
    /// OPT record is kept (room is reserved for it) — as miekg/dns <c>Msg.Truncate</c> does.
    /// Returns the length, or -1 if not even the header and question fit.
    /// </summary>
    public int Write(Span<byte> buffer, int maxSize = ushort.MaxValue)
    {
        if (buffer.Length < DnsHeader.Size)
        {
            return -1;
        }
        var limit = Math.Min(buffer.Length, Math.Max(maxSize, 12));
        var writer = new DnsWriter(buffer[..limit]);
        var opt = Opt;
        var optSize = opt is null ? 0 : 11 + OptDataLength(opt);
        writer.Position = DnsHeader.Size;
        foreach (var question in Questions)
        {
            if (!writer.TryWriteName(question.Name) || !writer.TryWriteUInt16((ushort)question.Type) || !writer.TryWriteUInt16((ushort)question.Class))
            {
                return -1;
            }
        }
        var header = Header;
        header.QuestionCount = (ushort)Questions.Count;
        var budget = limit - optSize;
        var truncated = false;
        header.AnswerCount = WriteSection(ref writer, Answers, budget, ref truncated);
        header.AuthorityCount = WriteSection(ref writer, Authorities, budget, ref truncated);
        header.AdditionalCount = WriteSection(ref writer, Additionals, budget, ref truncated);
        if (opt is not null && writer.Position + optSize <= limit && opt.TryWrite(ref writer))
        {
            header.AdditionalCount++;
        }
        if (truncated)
        {
            header.Truncated = true;
        }
        header.Write(buffer);
        return writer.Position;
    }

    private static int OptDataLength(OptRecord opt)
    {
        var length = 0;
        foreach (var option in opt.Options)
        {
            length += 4 + option.Data.Length;
        }
        return length;
    }

    private static ushort WriteSection(ref DnsWriter writer, List<DnsRecord> records, int budget, ref bool truncated)
    {
        ushort count = 0;
        foreach (var record in records)
        {
            if (record is OptRecord)
            {
                continue;
            }
            if (truncated)
            {
                return count;
            }
            var before = writer.Position;
            if (!record.TryWrite(ref writer) || writer.Position > budget)
            {
                writer.Position = before;
                truncated = true;
                return count;
            }
            count++;
        }
        return count;
    }

    /// <summary>Encodes into a new array (tests and slow paths).</summary>
    public byte[] ToArray(int maxSize = ushort.MaxValue)
    {
        // Encode into a pooled scratch buffer and copy out the exact length: a fresh (zeroed) 64 KiB array per call
        // dominated the cost of compiling answers.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(maxSize, ushort.MaxValue));
        try
        {
            var length = Write(buffer.AsSpan(0, Math.Min(maxSize, ushort.MaxValue)), maxSize);
            return length < 0 ? [] : buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A reply skeleton for <paramref name="request"/>: same id, opcode, RD, CD and question; QR set.</summary>
    public static DnsMessage CreateReply(DnsMessage request)
    {
        var reply = new DnsMessage();
        reply.Header.Id = request.Header.Id;
        reply.Header.IsResponse = true;
        reply.Header.Opcode = request.Header.Opcode;
        reply.Header.RecursionDesired = request.Header.RecursionDesired;
        reply.Header.CheckingDisabled = request.Header.CheckingDisabled;
        reply.Questions.AddRange(request.Questions);
        return reply;
    }

    /// <summary>A query for tests and clients.</summary>
    public static DnsMessage CreateQuery(string name, DnsType type, ushort id = 1, bool recursionDesired = true, ushort? ednsSize = null, bool dnssecOk = false)
    {
        var query = new DnsMessage();
        query.Header.Id = id;
        query.Header.RecursionDesired = recursionDesired;
        query.Questions.Add(new DnsQuestion(DnsName.Parse(name), type));
        if (ednsSize is { } size)
        {
            query.Additionals.Add(OptRecord.Create(size, dnssecOk));
        }
        return query;
    }

    /// <summary>dig-like text: header line, then each section.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder();
        builder.Append(";; opcode: ").Append(Header.Opcode.ToString().ToUpperInvariant()).Append(", status: ").Append(Rcode.ToText())
            .Append(", id: ").Append(Header.Id).AppendLine();
        builder.Append(";; flags: ").Append(Header.FlagsText().Replace(',', ' ')).AppendLine();
        builder.AppendLine(";; QUESTION SECTION:");
        foreach (var question in Questions)
        {
            builder.Append(';').AppendLine(question.ToString());
        }
        AppendSection(builder, "ANSWER", Answers);
        AppendSection(builder, "AUTHORITY", Authorities);
        AppendSection(builder, "ADDITIONAL", Additionals);
        return builder.ToString();
    }

    private static void AppendSection(StringBuilder builder, string title, List<DnsRecord> records)
    {
        if (records.Count == 0)
        {
            return;
        }
        builder.Append(";; ").Append(title).AppendLine(" SECTION:");
        foreach (var record in records)
        {
            builder.AppendLine(record.ToString());
        }
    }
}
