using System.Net;
using ClusterDns.Protocol;

namespace ClusterDns.Protocol.Tests;

public class TruncationTests
{
    private static DnsName N(string text) => DnsName.Parse(text);

    private static DnsMessage BigReply(int answers, bool withOpt, int authorities = 0, int additionals = 0)
    {
        var query = DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A, id: 77, ednsSize: withOpt ? (ushort)1232 : null);
        var reply = DnsMessage.CreateReply(query);
        for (var i = 0; i < answers; i++)
        {
            reply.Answers.Add(new ARecord(new IPAddress([10, 0, (byte)(i / 256), (byte)i])) { Name = N("web.ns1.svc.cluster.local."), Ttl = 5 });
        }
        for (var i = 0; i < authorities; i++)
        {
            reply.Authorities.Add(new NsRecord(N($"ns{i}.cluster.local.")) { Name = N("cluster.local.") });
        }
        for (var i = 0; i < additionals; i++)
        {
            reply.Additionals.Add(new TxtRecord([new string('t', 100)]) { Name = N($"extra{i}.") });
        }
        if (withOpt)
        {
            reply.Additionals.Add(OptRecord.Create(1232, dnssecOk: true, options: [new EdnsOption(10, [1, 2, 3, 4, 5, 6, 7, 8])]));
        }
        return reply;
    }

    [Fact]
    public void Drops_whole_records_sets_tc_and_keeps_opt()
    {
        var reply = BigReply(60, withOpt: true, authorities: 2, additionals: 2);
        var buffer = new byte[4096];
        var length = reply.Write(buffer, 512);
        Assert.InRange(length, 400, 512);
        var parsed = DnsMessage.Parse(buffer.AsSpan(0, length));
        Assert.True(parsed.Header.Truncated);
        Assert.InRange(parsed.Answers.Count, 1, 59);
        Assert.Equal(reply.Answers.Take(parsed.Answers.Count), parsed.Answers); // a prefix, in order
        Assert.Empty(parsed.Authorities);                                        // nothing after the first cut
        var opt = Assert.IsType<OptRecord>(Assert.Single(parsed.Additionals));
        Assert.Equal(reply.Opt, opt);
        Assert.Equal(1, parsed.Header.AdditionalCount);
        // One more answer would not have fitted: the cut is as late as possible.
        Assert.True(length + 16 > 512);
        // The input message is not modified.
        Assert.Equal(60, reply.Answers.Count);
        Assert.False(reply.Header.Truncated);
    }

    [Fact]
    public void Cut_in_additional_keeps_answers_and_authorities()
    {
        var reply = BigReply(3, withOpt: true, authorities: 2, additionals: 8);
        var wire = reply.ToArray(512);
        var parsed = DnsMessage.Parse(wire);
        Assert.True(parsed.Header.Truncated);
        Assert.Equal(3, parsed.Answers.Count);
        Assert.Equal(2, parsed.Authorities.Count);
        Assert.InRange(parsed.Additionals.Count, 2, 8); // some TXT plus the OPT
        Assert.IsType<OptRecord>(parsed.Additionals[^1]);
    }

    [Fact]
    public void Without_opt_uses_the_whole_budget()
    {
        var wire = BigReply(60, withOpt: false).ToArray(512);
        Assert.True(wire.Length <= 512 && wire.Length + 16 > 512);
        var parsed = DnsMessage.Parse(wire);
        Assert.True(parsed.Header.Truncated);
        Assert.Empty(parsed.Additionals);
    }

    [Fact]
    public void Fitting_message_is_not_truncated()
    {
        var reply = BigReply(5, withOpt: true);
        var full = reply.ToArray();
        var exact = reply.ToArray(full.Length);
        Assert.Equal(full, exact);
        Assert.False(DnsMessage.Parse(exact).Header.Truncated);
        var oneShort = DnsMessage.Parse(reply.ToArray(full.Length - 1));
        Assert.True(oneShort.Header.Truncated);
        Assert.Equal(4, oneShort.Answers.Count);
        Assert.NotNull(oneShort.Opt);
    }

    [Fact]
    public void Preset_tc_is_kept()
    {
        var reply = BigReply(1, withOpt: false);
        reply.Header.Truncated = true;
        Assert.True(DnsMessage.Parse(reply.ToArray()).Header.Truncated);
    }

    [Fact]
    public void Question_that_does_not_fit_fails()
    {
        var reply = BigReply(1, withOpt: false);
        Assert.Equal(-1, reply.Write(new byte[20]));
        Assert.Equal(-1, reply.Write(new byte[512], 20));
        Assert.Equal(-1, reply.Write(new byte[5]));
        Assert.Empty(reply.ToArray(20));
        Assert.Equal(DnsHeader.Size, new DnsMessage().Write(new byte[DnsHeader.Size]));
    }

    [Fact]
    public void Extended_rcode_goes_into_opt()
    {
        var reply = BigReply(0, withOpt: true);
        reply.Rcode = DnsRcode.BadVers;
        Assert.Equal(DnsRcode.BadVers, reply.Rcode);
        var parsed = DnsMessage.Parse(reply.ToArray());
        Assert.Equal(0, parsed.Header.Rcode);
        Assert.Equal(1, parsed.Opt!.ExtendedRcode);
        Assert.Equal(DnsRcode.BadVers, parsed.Rcode);
        Assert.True(parsed.Opt.DnssecOk); // other OPT fields untouched
        reply.Rcode = DnsRcode.NXDomain;
        Assert.Equal(DnsRcode.NXDomain, DnsMessage.Parse(reply.ToArray()).Rcode);
        Assert.Equal(0, reply.Opt!.ExtendedRcode);
    }

    // Query: id BEEF, RD+CD, example.org. A IN, OPT 4096 DO.
    private const string EdnsQuery = "beef 0110 0001 0000 0000 0001 076578616d706c65036f726700 0001 0001 00 0029 1000 00008000 0000";

    [Theory]
    // FORMERR: QR, RD, CD echoed, rcode 1; question copied; OPT with DO echoed.
    [InlineData(EdnsQuery, DnsRcode.FormErr, true, "beef 8111 0001 0000 0000 0001 076578616d706c65036f726700 0001 0001 00 0029 1000 00008000 0000")]
    [InlineData(EdnsQuery, DnsRcode.FormErr, false, "beef 8111 0000 0000 0000 0001 00 0029 1000 00008000 0000")]
    [InlineData(EdnsQuery, DnsRcode.Refused, true, "beef 8115 0001 0000 0000 0001 076578616d706c65036f726700 0001 0001 00 0029 1000 00008000 0000")]
    // BADVERS (16): low bits 0 in the header, 1 in the OPT extended-rcode octet.
    [InlineData(EdnsQuery, DnsRcode.BadVers, true, "beef 8110 0001 0000 0000 0001 076578616d706c65036f726700 0001 0001 00 0029 1000 01008000 0000")]
    // No EDNS, payload below 512 is raised to 512 in the echoed OPT.
    [InlineData("0001 0100 0001 0000 0000 0000 0161 00 0010 0001", DnsRcode.ServFail, true, "0001 8102 0001 0000 0000 0000 0161 00 0010 0001")]
    [InlineData("0001 0000 0001 0000 0000 0001 0161 00 0010 0001 00 0029 0100 00000000 0000", DnsRcode.FormErr, true,
        "0001 8001 0001 0000 0000 0001 0161 00 0010 0001 00 0029 0200 00000000 0000")]
    // NOTIMP for opcode STATUS: parsing stops at the header, so no question; opcode echoed.
    [InlineData("0002 1100 0001 0000 0000 0000 0161 00 0001 0001", DnsRcode.NotImp, true, "0002 9104 0000 0000 0000 0000")]
    // qdcount 2: FORMERR without question.
    [InlineData("0003 0100 0002 0000 0000 0000 0161 00 0001 0001 0162 00 0001 0001", DnsRcode.FormErr, true, "0003 8101 0000 0000 0000 0000")]
    public void ErrorReplyBytes(string queryHex, DnsRcode rcode, bool includeQuestion, string expectedHex)
    {
        var query = Packet.Hex(queryHex);
        Span<byte> name = stackalloc byte[255];
        DnsQueryParser.Parse(query, name, out var info);
        var reply = new byte[512];
        var length = DnsQueryParser.WriteErrorReply(query, info, rcode, reply, includeQuestion);
        Assert.Equal(Convert.ToHexStringLower(Packet.Hex(expectedHex)), Convert.ToHexStringLower(reply, 0, length));
        Assert.Equal(-1, DnsQueryParser.WriteErrorReply(query, info, rcode, reply.AsSpan(0, length - 1), includeQuestion));
    }
}
