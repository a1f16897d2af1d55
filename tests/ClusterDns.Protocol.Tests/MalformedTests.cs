using ClusterDns.Protocol;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ClusterDns.Protocol.Tests;

/// <summary>Hostile input: nothing may throw; each row has an exact disposition.</summary>
public class MalformedTests
{
    private static string L(int n) => new('a', n);

    /// <summary>(description, packet, DnsQueryParser disposition, DnsMessage.TryParse result)</summary>
    public static TheoryData<string, byte[], QueryDisposition, bool> Corpus()
    {
        var data = new TheoryData<string, byte[], QueryDisposition, bool>
        {
            { "empty", [], QueryDisposition.Drop, false },
            { "11 octets", Packet.Header().ToArray()[..11], QueryDisposition.Drop, false },
            { "header only, qd=0", Packet.Header(qd: 0).ToArray(), QueryDisposition.FormErr, true },
            { "valid query", Packet.Header().Question().ToArray(), QueryDisposition.Query, true },
            { "valid query with EDNS", Packet.Header(ar: 1).Question().Opt().ToArray(), QueryDisposition.Query, true },
            { "trailing garbage is ignored", Packet.Header().Question().Bytes(5, 0xFF).ToArray(), QueryDisposition.Query, true },
            { "QR set", Packet.Header(flags: 0x8100).Question().ToArray(), QueryDisposition.Drop, true },
            { "QR set, no question", Packet.Header(flags: 0x8000, qd: 0).ToArray(), QueryDisposition.Drop, true },
            { "QR set, truncated body", Packet.Header(flags: 0x8000, qd: 5).ToArray(), QueryDisposition.Drop, false },
            { "opcode IQUERY", Packet.Header(flags: 1 << 11).Question().ToArray(), QueryDisposition.NotImp, true },
            { "opcode STATUS", Packet.Header(flags: 2 << 11).Question().ToArray(), QueryDisposition.NotImp, true },
            { "opcode UPDATE", Packet.Header(flags: 5 << 11, qd: 1, ns: 3).Question().ToArray(), QueryDisposition.NotImp, false },
            { "opcode 15", Packet.Header(flags: 15 << 11, qd: 0).ToArray(), QueryDisposition.NotImp, true },
            { "opcode NOTIFY", Packet.Header(flags: 4 << 11).Question(6).ToArray(), QueryDisposition.Query, true },
            { "qdcount 2", Packet.Header(qd: 2).Question().Question().ToArray(), QueryDisposition.FormErr, true },
            { "ancount 2", Packet.Header(an: 2).Question().ToArray(), QueryDisposition.FormErr, false },
            { "ancount 65535", Packet.Header(an: 65535).Question().ToArray(), QueryDisposition.FormErr, false },
            { "nscount 2", Packet.Header(ns: 2).Question().ToArray(), QueryDisposition.FormErr, false },
            { "arcount 3", Packet.Header(ar: 3).Question().ToArray(), QueryDisposition.FormErr, false },
            { "arcount 1, record missing", Packet.Header(ar: 1).Question().ToArray(), QueryDisposition.FormErr, false },
            { "ancount 1, record missing", Packet.Header(an: 1).Question().ToArray(), QueryDisposition.FormErr, false },
            { "qdcount 65535", Packet.Header(qd: 65535).Question().ToArray(), QueryDisposition.FormErr, false },
            { "question name cut", Packet.Header().U8(7, (byte)'e', (byte)'x').ToArray(), QueryDisposition.FormErr, false },
            { "question without root label", Packet.Header().U8(1, (byte)'a').ToArray(), QueryDisposition.FormErr, false },
            { "question type/class missing", Packet.Header().Name("example", "org").U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "question class cut", Packet.Header().Name("example", "org").U16(1).U8(0).ToArray(), QueryDisposition.FormErr, false },
            { "pointer to itself", Packet.Header().Pointer(12).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "pointer forward", Packet.Header().Pointer(16).U16(1).U16(1).Name("a").ToArray(), QueryDisposition.FormErr, false },
            // offset 12: "a" then pointer(16); offset 16: pointer(14) → loop a→b→a
            { "pointer loop", Packet.Header().U8(1, (byte)'a').Pointer(16).Pointer(14).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "pointer into header", Packet.Header().Pointer(2).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "pointer cut", Packet.Header().U8(0xC0).ToArray(), QueryDisposition.FormErr, false },
            { "label type 0x40", Packet.Header().U8(0x41, 0).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "label type 0x80", Packet.Header().U8(0x81, 0).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "label of 63", Packet.Header().Name(L(63)).U16(1).U16(1).ToArray(), QueryDisposition.Query, true },
            { "label of 64", Packet.Header().Name(L(64)).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "name of 255", Packet.Header().Name(L(63), L(63), L(63), L(61)).U16(1).U16(1).ToArray(), QueryDisposition.Query, true },
            { "name of 256", Packet.Header().Name(L(63), L(63), L(63), L(62)).U16(1).U16(1).ToArray(), QueryDisposition.FormErr, false },
            { "opt rdlength past end", Packet.Header(ar: 1).Question().Opt(rdlength: 10).U8(0, 1).ToArray(), QueryDisposition.FormErr, false },
            { "opt cut in fixed part", Packet.Header(ar: 1).Question().U8(0).U16(41).U16(512).ToArray(), QueryDisposition.FormErr, false },
            { "opt twice", Packet.Header(ar: 2).Question().Opt().Opt().ToArray(), QueryDisposition.FormErr, false },
            { "opt option overruns rdata", Packet.Header(ar: 1).Question().Opt(rdlength: 4).U16(10).U16(8).ToArray(), QueryDisposition.FormErr, false },
            { "opt option cut", Packet.Header(ar: 1).Question().Opt(rdlength: 3).U16(10).U8(0).ToArray(), QueryDisposition.FormErr, false },
            { "opt with cookie", Packet.Header(ar: 1).Question().Opt(rdlength: 12).U16(10).U16(8).Bytes(8, 7).ToArray(), QueryDisposition.Query, true },
            { "A record with rdlength 3",
                Packet.Header(an: 1).Question().Pointer(12).U16(1).U16(1).U32(60).U16(3).U8(1, 2, 3).ToArray(), QueryDisposition.Query, false },
            { "A record rdlength 65535",
                Packet.Header(an: 1).Question().Pointer(12).U16(1).U16(1).U32(60).U16(65535).U8(1, 2, 3, 4).ToArray(), QueryDisposition.FormErr, false },
            { "CNAME target overruns rdlength",
                Packet.Header(an: 1).Question().Pointer(12).U16(5).U16(1).U32(60).U16(1).Name("x").ToArray(), QueryDisposition.Query, false }, // hot path frames records only
            { "compressed answer owner",
                Packet.Header(an: 1).Question().Pointer(12).U16(1).U16(1).U32(60).U16(4).U8(1, 2, 3, 4).ToArray(), QueryDisposition.Query, true },
            { "TXT string overruns rdlength",
                Packet.Header(an: 1).Question().Pointer(12).U16(16).U16(1).U32(60).U16(2).U8(5, (byte)'a').ToArray(), QueryDisposition.Query, false },
            { "SOA with short rdata",
                Packet.Header(an: 1).Question().Pointer(12).U16(6).U16(1).U32(60).U16(6).U8(0, 0, 1, 2, 3, 4).ToArray(), QueryDisposition.Query, false },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Corpus_disposition(string description, byte[] packet, QueryDisposition expected, bool parses)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        Assert.Equal(expected, DnsQueryParser.Parse(packet, name, out var info));
        Assert.True(parses == DnsMessage.TryParse(packet, out var message, out var error), description);
        Assert.Equal(parses, message is not null);
        Assert.Equal(parses ? DnsParseError.None : packet.Length < DnsHeader.Size ? DnsParseError.NoHeader : DnsParseError.Malformed, error);
        if (expected == QueryDisposition.Query && message is not null)
        {
            Assert.True(name[..info.NameLength].SequenceEqual(message.Questions[0].Name.Wire));
            Assert.Equal(message.Questions[0].Type, info.Type);
        }
        if (expected is QueryDisposition.FormErr or QueryDisposition.NotImp)
        {
            var reply = new byte[512];
            var length = DnsQueryParser.WriteErrorReply(packet, info, expected == QueryDisposition.NotImp ? DnsRcode.NotImp : DnsRcode.FormErr, reply);
            Assert.InRange(length, DnsHeader.Size, 512);
            Assert.True(DnsMessage.TryParse(reply.AsSpan(0, length), out var parsedReply, out _), description);
            Assert.True(parsedReply.Header.IsResponse);
            Assert.Equal(Packet.ReadU16(packet, 0), parsedReply.Header.Id);
        }
        AssertReaderSafe(packet);
    }

    /// <summary>Every DnsReader entry point at every offset: false or a value, never an exception.</summary>
    private static void AssertReaderSafe(byte[] packet)
    {
        Span<byte> small = stackalloc byte[16];
        for (var offset = 0; offset <= packet.Length; offset++)
        {
            var reader = new DnsReader(packet, offset);
            _ = reader.TryReadName(out DnsName? _);
            reader = new DnsReader(packet, offset);
            _ = reader.TryReadName(small, out _); // too-small destination is a failure, not an overrun
            reader = new DnsReader(packet, offset);
            _ = reader.TrySkipName();
            reader = new DnsReader(packet, offset);
            _ = reader.TryReadUInt8(out _) && reader.TryReadUInt16(out _) && reader.TryReadUInt32(out _);
            reader = new DnsReader(packet, offset);
            _ = reader.TryReadBytes(-1, out _);
            _ = reader.TryReadBytes(packet.Length + 1, out _);
            reader = new DnsReader(packet, offset);
            _ = DnsRecord.TryRead(ref reader, out _);
        }
        var beyond = new DnsReader(packet, packet.Length + 3);
        Assert.False(beyond.TryReadUInt8(out _));
        Assert.False(beyond.TryReadName(out DnsName? _));
    }

    [Fact]
    public void Small_name_buffer_fails_cleanly()
    {
        var packet = Packet.Header().Question().ToArray();
        var tiny = new byte[5];
        Assert.Equal(QueryDisposition.FormErr, DnsQueryParser.Parse(packet, tiny, out _));
    }

    private static bool AcceptedByHeader(byte[] packet)
    {
        DnsHeader.TryRead(packet, out var h);
        return h.QuestionCount == 1 && h.AnswerCount <= 1 && h.AuthorityCount <= 1 && h.AdditionalCount <= 2;
    }

    private static void CheckConsistent(byte[] packet)
    {
        var name = new byte[DnsName.MaxWireLength];
        var disposition = DnsQueryParser.Parse(packet, name, out var info);
        var parsed = DnsMessage.TryParse(packet, out var message, out var error);
        if (packet.Length < DnsHeader.Size)
        {
            Assert.Equal(QueryDisposition.Drop, disposition);
            Assert.Equal(DnsParseError.NoHeader, error);
            return;
        }
        DnsHeader.TryRead(packet, out var header);
        var expectedByHeader = header.IsResponse ? QueryDisposition.Drop
            : header.Opcode is not (DnsOpcode.Query or DnsOpcode.Notify) ? QueryDisposition.NotImp
            : !AcceptedByHeader(packet) ? QueryDisposition.FormErr
            : (QueryDisposition?)null;
        if (expectedByHeader is { } byHeader)
        {
            Assert.Equal(byHeader, disposition);
        }
        else
        {
            Assert.True(disposition is QueryDisposition.Query or QueryDisposition.FormErr);
            if (parsed && message!.Opt is null || parsed && message!.Additionals.Count(r => r is OptRecord) <= 1)
            {
                // Whatever the full parser accepts, the hot-path parser accepts too, with the same question.
                Assert.Equal(QueryDisposition.Query, disposition);
                Assert.True(name.AsSpan(0, info.NameLength).SequenceEqual(message!.Questions[0].Name.Wire));
                Assert.Equal(message.Opt is not null, info.HasOpt);
            }
        }
        if (disposition != QueryDisposition.Drop)
        {
            var reply = new byte[512];
            Assert.True(DnsQueryParser.WriteErrorReply(packet, info, DnsRcode.FormErr, reply) >= DnsHeader.Size);
        }
    }

    [Property(MaxTest = 2000)]
    public Property Random_bytes_never_throw() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), packet =>
        {
            CheckConsistent(packet);
            AssertReaderSafe(packet.Length > 64 ? packet[..64] : packet);
        });

    /// <summary>Random headers in front of a plausible body reach the deeper parsing paths more often than pure noise.</summary>
    [Property(MaxTest = 2000)]
    public Property Random_header_and_body_never_throw() =>
        Prop.ForAll(
            (from flags in Gen.Elements<ushort>(0x0100, 0x0000, 0x2000, 0x8000, 0x0110)
             from qd in Gen.Choose(0, 2)
             from an in Gen.Choose(0, 2)
             from ns in Gen.Choose(0, 2)
             from ar in Gen.Choose(0, 3)
             from body in Gen.Choose(0, 255).Select(i => (byte)i).ArrayOf()
             from useValid in Gen.Elements(true, false)
             select useValid
                 ? Packet.Header(7, flags, (ushort)qd, (ushort)an, (ushort)ns, (ushort)ar).Question().Opt().U8(body).ToArray()
                 : Packet.Header(7, flags, (ushort)qd, (ushort)an, (ushort)ns, (ushort)ar).U8(body).ToArray()).ToArbitrary(),
            CheckConsistent);

    /// <summary>Bit flips and cuts of real messages (with compression) must be handled without exceptions.</summary>
    [Property(MaxTest = 1000)]
    public Property Mutated_messages_never_throw() =>
        Prop.ForAll(
            (from message in Generators.Message
             from flips in Gen.Choose(1, 4)
             from seed in Gen.Choose(0, int.MaxValue)
             select (message, flips, seed)).ToArbitrary(),
            input =>
            {
                var wire = input.message.ToArray();
                var random = new Random(input.seed);
                for (var i = 0; i < input.flips; i++)
                {
                    wire[random.Next(wire.Length)] ^= (byte)(1 << random.Next(8));
                }
                var cut = wire[..random.Next(wire.Length + 1)];
                CheckConsistent(wire);
                CheckConsistent(cut);
                if (DnsMessage.TryParse(wire, out var parsed, out _))
                {
                    // Whatever parses must write and parse again.
                    Assert.True(DnsMessage.TryParse(parsed.ToArray(), out _, out _));
                }
            });
}
