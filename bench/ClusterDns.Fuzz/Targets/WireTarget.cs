using ClusterDns.Fuzz.Engine;
using ClusterDns.Protocol;

namespace ClusterDns.Fuzz.Targets;

/// <summary>
/// The wire parsers: <see cref="DnsQueryParser.Parse"/> (the hot path) and <see cref="DnsMessage.TryParse"/> (the object
/// form). Properties: a parsed message re-encodes and re-parses to an equal message, and re-encoding that is byte-identical;
/// both parsers agree on well-formed queries; every error reply parses, echoes the id and rcode, is exactly as long as
/// <see cref="DnsQueryParser.WriteErrorReply"/> says it needs, and is never longer than the query.
/// </summary>
public sealed class WireTarget : IFuzzTarget
{
    private static readonly DnsRcode[] ErrorCodes = [DnsRcode.FormErr, DnsRcode.NotImp, DnsRcode.ServFail, DnsRcode.Refused, DnsRcode.BadVers];
    private readonly byte[] _name = new byte[DnsName.MaxWireLength];
    private readonly byte[] _reply = new byte[ushort.MaxValue];

    public string Name => "wire";

    public bool IsText => false;

    public int LastSignature { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        var disposition = DnsQueryParser.Parse(input, _name, out var info);
        var signature = (int)disposition;
        if (disposition == QueryDisposition.Query)
        {
            CheckQueryInfo(input, info);
            signature |= (info.HasOpt ? 1 : 0) << 2 | (info.DnssecOk ? 1 : 0) << 3 | ((int)info.Type & 0xFF) << 4;
        }
        if (disposition != QueryDisposition.Drop)
        {
            foreach (var rcode in ErrorCodes)
            {
                CheckErrorReply(input, info, rcode);
            }
        }
        var parsed = DnsMessage.TryParse(input, out var message, out var error);
        signature = signature * 31 + (int)error;
        if (parsed)
        {
            signature = signature * 31 + RoundTrip(message!);
            CheckParsersAgree(input, message!, disposition, info);
        }
        LastSignature = signature;
    }

    private void CheckQueryInfo(ReadOnlySpan<byte> input, in DnsQueryInfo info)
    {
        if (info.NameLength is < 1 or > DnsName.MaxWireLength || info.QuestionEnd > input.Length || info.QuestionEnd < DnsHeader.Size + 5)
        {
            throw new FuzzInvariantException($"query info out of range: name {info.NameLength}, question end {info.QuestionEnd}, length {input.Length}");
        }
        if (!DnsName.TryFromWire(_name.AsSpan(0, info.NameLength), out _))
        {
            throw new FuzzInvariantException("question name written by the parser is not a valid wire name");
        }
        if (info.HasOpt && (info.OptDataOffset < info.QuestionEnd || info.OptDataOffset + info.OptDataLength > input.Length))
        {
            throw new FuzzInvariantException($"OPT data {info.OptDataOffset}+{info.OptDataLength} outside the packet ({input.Length})");
        }
    }

    private void CheckErrorReply(ReadOnlySpan<byte> input, in DnsQueryInfo info, DnsRcode rcode)
    {
        var length = DnsQueryParser.WriteErrorReply(input, info, rcode, _reply);
        if (length < DnsHeader.Size)
        {
            throw new FuzzInvariantException($"{rcode} reply not written into 64 KiB (returned {length})");
        }
        if (length > Math.Max(input.Length, DnsHeader.Size))
        {
            throw new FuzzInvariantException($"{rcode} reply of {length} octets for a {input.Length}-octet query");
        }
        if (DnsQueryParser.WriteErrorReply(input, info, rcode, _reply.AsSpan(0, length - 1)) != -1)
        {
            throw new FuzzInvariantException($"{rcode} reply claims to fit in fewer octets than it wrote ({length})");
        }
        var exact = new byte[length];
        if (DnsQueryParser.WriteErrorReply(input, info, rcode, exact) != length || !exact.AsSpan().SequenceEqual(_reply.AsSpan(0, length)))
        {
            throw new FuzzInvariantException($"{rcode} reply differs when written into an exact-size buffer");
        }
        if (!DnsMessage.TryParse(exact, out var reply, out var error))
        {
            throw new FuzzInvariantException($"{rcode} reply does not parse ({error}): {Convert.ToHexStringLower(exact)}");
        }
        var expectedRcode = info.HasOpt ? rcode : (DnsRcode)((int)rcode & 0xF);
        if (!reply.Header.IsResponse || reply.Header.Id != info.Header.Id || reply.Rcode != expectedRcode
            || reply.Header.Opcode != info.Header.Opcode || (reply.Opt is not null) != info.HasOpt)
        {
            throw new FuzzInvariantException($"{rcode} reply header wrong: {reply}");
        }
        if (reply.Answers.Count != 0 || reply.Authorities.Count != 0 || reply.Questions.Count > 1)
        {
            throw new FuzzInvariantException($"{rcode} reply carries records: {reply}");
        }
    }

    private int RoundTrip(DnsMessage message)
    {
        // ToString is what log and debug print: it must not throw on anything that parsed.
        _ = message.ToString();
        var encoded = message.ToArray();
        if (encoded.Length < DnsHeader.Size)
        {
            throw new FuzzInvariantException("a parsed message does not re-encode");
        }
        if (!DnsMessage.TryParse(encoded, out var again, out var error))
        {
            throw new FuzzInvariantException($"re-encoded message does not parse ({error}): {Convert.ToHexStringLower(encoded)}");
        }
        var truncated = again.Header.Truncated && !message.Header.Truncated;
        if (!truncated)
        {
            // An OPT in the answer or authority section has no place on the wire: the writer leaves it out.
            if (!MessageCompare.HasOptOutsideAdditional(message))
            {
                MessageCompare.AssertSame(message, again, "round trip");
            }
            var encodedAgain = again.ToArray();
            if (!encodedAgain.AsSpan().SequenceEqual(encoded))
            {
                throw new FuzzInvariantException("re-encoding a re-parsed message changed its bytes");
            }
        }
        var signature = message.Questions.Count;
        foreach (var record in message.Answers)
        {
            signature = signature * 7 + (int)record.Type;
        }
        foreach (var record in message.Additionals)
        {
            signature = signature * 7 + (int)record.Type;
        }
        return signature;
    }

    private void CheckParsersAgree(ReadOnlySpan<byte> input, DnsMessage message, QueryDisposition disposition, in DnsQueryInfo info)
    {
        var header = message.Header;
        var wellFormedQuery = !header.IsResponse && header.Opcode is DnsOpcode.Query or DnsOpcode.Notify && header.QuestionCount == 1
            && header.AnswerCount <= 1 && header.AuthorityCount <= 1 && header.AdditionalCount <= 2;
        if (!wellFormedQuery)
        {
            return;
        }
        if (disposition != QueryDisposition.Query)
        {
            throw new FuzzInvariantException($"DnsMessage parses a query that DnsQueryParser calls {disposition}");
        }
        var question = message.Questions[0];
        if (!question.Name.Wire.SequenceEqual(_name.AsSpan(0, info.NameLength)) || question.Type != info.Type || question.Class != info.Class)
        {
            throw new FuzzInvariantException($"parsers disagree on the question: {question} vs {DnsName.FromValidatedWire(_name.AsSpan(0, info.NameLength))}");
        }
        var opt = message.Opt;
        if ((opt is not null) != info.HasOpt || (opt is not null && (opt.UdpPayloadSize != info.UdpPayloadSize || opt.DnssecOk != info.DnssecOk)))
        {
            throw new FuzzInvariantException("parsers disagree on the OPT record");
        }
        _ = input;
    }
}
