using ClusterDns.Fuzz.Engine;
using ClusterDns.Protocol;

namespace ClusterDns.Fuzz.Targets;

/// <summary>
/// The reply writer: every parsed input is written back under small size limits (<see cref="DnsMessage.Write"/> with
/// <c>maxSize</c>) — the output must fit, parse, keep the OPT record when it fits, carry a prefix of the records and
/// set TC exactly when records were dropped. A reply built for a parsed query as the server builds one (question,
/// the input's records as answers, the echoed OPT) is written at the query's UDP limit and must obey it; its OPT
/// record must equal the one <see cref="EdnsEcho.Write"/> puts on prepared replies.
/// </summary>
public sealed class ReplyTarget : IFuzzTarget
{
    private static readonly int[] Limits = [12, 13, 17, 29, 40, 64, 100, 255, 256, 512, 513, 1232, 4096];
    private readonly byte[] _buffer = new byte[ushort.MaxValue];
    private readonly byte[] _name = new byte[DnsName.MaxWireLength];

    public string Name => "reply";

    public bool IsText => false;

    public int LastSignature { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        LastSignature = 0;
        if (!DnsMessage.TryParse(input, out var message, out _))
        {
            return;
        }
        var signature = 1;
        // The limit comes from the input (its id octets and length), so a rerun of an input takes the same path: AFL's
        // coverage feedback needs a deterministic target.
        var limit = Limits[(input.Length + input[0] + input[1] * 7) % Limits.Length];
        signature = signature * 31 + CheckTruncation(message, limit, "parsed input");
        signature = signature * 31 + CheckTruncation(message, 12 + (input.Length * 7 % 600), "parsed input");
        if (DnsQueryParser.Parse(input, _name, out var info) == QueryDisposition.Query)
        {
            signature = signature * 31 + CheckServerStyleReply(input, message, info);
        }
        LastSignature = signature;
    }

    private int CheckTruncation(DnsMessage message, int limit, string what)
    {
        var length = message.Write(_buffer, limit);
        var questionBound = DnsHeader.Size;
        foreach (var question in message.Questions)
        {
            questionBound += question.Name.WireLength + 4;
        }
        if (length < 0)
        {
            if (limit >= questionBound)
            {
                throw new FuzzInvariantException($"{what}: Write({limit}) gave up although header and questions need at most {questionBound}");
            }
            return -1;
        }
        if (length > limit)
        {
            throw new FuzzInvariantException($"{what}: Write({limit}) wrote {length} octets");
        }
        var output = _buffer.AsSpan(0, length);
        if (!DnsMessage.TryParse(output, out var written, out var error))
        {
            throw new FuzzInvariantException($"{what}: Write({limit}) output does not parse ({error}): {Convert.ToHexStringLower(output)}");
        }
        var original = MessageCompare.CountRecords(message.Answers) + MessageCompare.CountRecords(message.Authorities)
            + MessageCompare.CountRecords(message.Additionals);
        var kept = written.Answers.Count + written.Authorities.Count + MessageCompare.CountRecords(written.Additionals);
        var dropped = kept < original;
        if (dropped && !written.Header.Truncated)
        {
            throw new FuzzInvariantException($"{what}: Write({limit}) dropped {original - kept} records without setting TC");
        }
        if (!dropped && written.Header.Truncated != message.Header.Truncated)
        {
            throw new FuzzInvariantException($"{what}: Write({limit}) set TC with every record kept");
        }
        if (written.Answers.Count > MessageCompare.CountRecords(message.Answers) || !Prefix(message.Answers, written.Answers)
            || !Prefix(message.Authorities, written.Authorities))
        {
            throw new FuzzInvariantException($"{what}: Write({limit}) kept records that are not a prefix of the original sections");
        }
        if (message.Opt is { } opt && opt.Name.IsRoot && written.Opt is null && limit >= length + 11 + OptDataLength(opt))
        {
            throw new FuzzInvariantException($"{what}: Write({limit}) dropped the OPT record though it fits");
        }
        return (dropped ? 1 : 0) + (written.Opt is null ? 0 : 2);
    }

    private static bool Prefix(List<DnsRecord> original, List<DnsRecord> written)
    {
        var i = 0;
        foreach (var record in original)
        {
            if (record is OptRecord)
            {
                continue;
            }
            if (i == written.Count)
            {
                return true;
            }
            if (!Equals(record, written[i++]))
            {
                return false;
            }
        }
        return i == written.Count;
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

    private int CheckServerStyleReply(ReadOnlySpan<byte> input, DnsMessage query, in DnsQueryInfo info)
    {
        var reply = DnsMessage.CreateReply(query);
        reply.Header.Authoritative = true;
        foreach (var record in query.Answers)
        {
            reply.Answers.Add(record);
        }
        foreach (var record in query.Additionals)
        {
            if (record is not OptRecord)
            {
                reply.Additionals.Add(record);
            }
        }
        var udpLimit = 512;
        if (info.HasOpt)
        {
            udpLimit = Math.Max(info.UdpPayloadSize, (ushort)512);
            var echoed = OptRecord.Create((ushort)udpLimit, info.DnssecOk, options: EdnsEcho.Options(input, info));
            reply.Additionals.Add(echoed);
            CheckEchoAgrees(input, info, echoed);
        }
        CheckTruncation(reply, udpLimit, "server-style reply");
        return udpLimit;
    }

    private static void CheckEchoAgrees(ReadOnlySpan<byte> input, in DnsQueryInfo info, OptRecord echoed)
    {
        var length = EdnsEcho.Length(input, info);
        var bytes = new byte[length];
        if (EdnsEcho.Write(bytes, input, info) != length || (length > 0 && EdnsEcho.Write(bytes.AsSpan(0, length - 1), input, info) != -1))
        {
            throw new FuzzInvariantException($"EdnsEcho.Write disagrees with EdnsEcho.Length ({length})");
        }
        var reader = new DnsReader(bytes);
        if (!DnsRecord.TryRead(ref reader, out var record) || reader.Position != length || !Equals(record, echoed))
        {
            throw new FuzzInvariantException($"EdnsEcho.Write ({Convert.ToHexStringLower(bytes)}) differs from EdnsEcho.Options ({echoed})");
        }
    }
}
