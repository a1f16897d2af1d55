using System.Net;
using ClusterDns.Protocol;

namespace ClusterDns.Protocol.Tests;

public class CompressionTests
{
    private static DnsName N(string text) => DnsName.Parse(text);

    private static int UncompressedSize(DnsMessage message)
    {
        var size = DnsHeader.Size;
        foreach (var question in message.Questions)
        {
            size += question.Name.WireLength + 4;
        }
        foreach (var record in message.Answers.Concat(message.Authorities).Concat(message.Additionals))
        {
            var data = new byte[1024];
            var writer = new DnsWriter(data) { Compress = false };
            Assert.True(record.TryWriteData(ref writer));
            size += record.Name.WireLength + 10 + writer.Position;
        }
        return size;
    }

    [Fact]
    public void Shared_suffixes_shrink_the_message_and_parse_back()
    {
        var query = DnsMessage.CreateQuery("_http._tcp.web.ns1.svc.cluster.local.", DnsType.SRV);
        var reply = DnsMessage.CreateReply(query);
        for (var i = 0; i < 10; i++)
        {
            reply.Answers.Add(new SrvRecord(0, 10, 80, N($"pod-{i}.web.ns1.svc.cluster.local.")) { Name = N("_http._tcp.web.ns1.svc.cluster.local."), Ttl = 5 });
            reply.Additionals.Add(new ARecord(IPAddress.Parse($"10.0.0.{i}")) { Name = N($"pod-{i}.web.ns1.svc.cluster.local."), Ttl = 5 });
        }
        reply.Authorities.Add(new SoaRecord(N("ns.dns.cluster.local."), N("hostmaster.cluster.local."), 1, 7200, 1800, 86400, 5) { Name = N("cluster.local.") });
        reply.Authorities.Add(new NsRecord(N("ns.dns.CLUSTER.local.")) { Name = N("Cluster.Local.") });
        reply.Answers.Add(new CnameRecord(N("web.ns1.svc.cluster.local.")) { Name = N("alias.ns1.svc.cluster.local.") });
        reply.Answers.Add(new MxRecord(10, N("mail.ns1.svc.cluster.local.")) { Name = N("ns1.svc.cluster.local.") });
        reply.Answers.Add(new PtrRecord(N("web.ns1.svc.cluster.local.")) { Name = N("1.0.0.10.in-addr.arpa.") });

        var wire = reply.ToArray();
        Assert.True(wire.Length < UncompressedSize(reply) * 2 / 3, $"{wire.Length} vs {UncompressedSize(reply)}");
        Assert.True(DnsMessage.TryParse(wire, out var parsed, out _));
        Assert.Equal(reply.Answers, parsed.Answers);
        Assert.Equal(reply.Authorities, parsed.Authorities);
        Assert.Equal(reply.Additionals, parsed.Additionals);
    }

    [Fact]
    public void Owner_matches_question_case_insensitively()
    {
        var reply = DnsMessage.CreateReply(DnsMessage.CreateQuery("WEB.Ns1.svc.cluster.local.", DnsType.A, id: 9));
        reply.Answers.Add(new ARecord(IPAddress.Parse("10.0.0.1")) { Name = N("web.ns1.SVC.cluster.local."), Ttl = 30 });
        var wire = reply.ToArray();
        var answerStart = DnsHeader.Size + reply.Questions[0].Name.WireLength + 4;
        Assert.Equal(0xC0, wire[answerStart]);
        Assert.Equal(DnsHeader.Size, wire[answerStart + 1]);
        Assert.Equal(answerStart + 2 + 10 + 4, wire.Length);
        // The question keeps the asker's case (DNS 0x20); the compressed owner reads back with it.
        var parsed = DnsMessage.Parse(wire);
        Assert.Equal("WEB.Ns1.svc.cluster.local.", parsed.Questions[0].Name.ToString());
        Assert.Equal("WEB.Ns1.svc.cluster.local.", parsed.Answers[0].Name.ToString());
    }

    [Fact]
    public void Srv_target_and_dname_are_not_compressed()
    {
        var reply = DnsMessage.CreateReply(DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.SRV));
        reply.Answers.Add(new SrvRecord(1, 2, 3, N("web.ns1.svc.cluster.local.")) { Name = N("web.ns1.svc.cluster.local.") });
        var wire = reply.ToArray();
        var target = N("web.ns1.svc.cluster.local.").Wire.ToArray();
        Assert.Equal(target, wire[^target.Length..]);
        Assert.Equal(target.Length + 6, Packet.ReadU16(wire, wire.Length - target.Length - 8));

        var dname = DnsMessage.CreateReply(DnsMessage.CreateQuery("x.cluster.local.", DnsType.A));
        dname.Answers.Add(new DnameRecord(N("x.cluster.local.")) { Name = N("cluster.local.") });
        wire = dname.ToArray();
        Assert.Equal(N("x.cluster.local.").Wire.ToArray(), wire[^17..]);
    }

    [Fact]
    public void Later_names_may_point_into_an_uncompressed_srv_target()
    {
        var reply = DnsMessage.CreateReply(DnsMessage.CreateQuery("a.", DnsType.SRV));
        reply.Answers.Add(new SrvRecord(1, 2, 3, N("pod.web.example.")) { Name = N("a.") });
        reply.Additionals.Add(new ARecord(IPAddress.Loopback) { Name = N("pod.web.example.") });
        var wire = reply.ToArray();
        Assert.Equal(0xC0, wire[^16]); // additional owner is a pointer to the SRV target
        Assert.Equal(reply.Additionals, DnsMessage.Parse(wire).Additionals);
    }

    [Theory]
    [InlineData("a.a.")]
    [InlineData("svc.svc.")]
    [InlineData("com.example.com.")]
    [InlineData("A.a.A.a.")]
    [InlineData("x.y.x.y.x.y.")]
    public void Repeated_labels_do_not_point_into_the_name_being_written(string name)
    {
        // Regression: the writer once matched a suffix against the current name's own half-written labels,
        // pointing at unwritten octets (a loop on a zeroed buffer, garbage on a reused one).
        foreach (var fill in new byte[] { 0x00, 0xFF })
        {
            var buffer = Enumerable.Repeat(fill, 512).ToArray();
            var message = DnsMessage.CreateQuery(name, DnsType.A);
            message.Answers.Add(new CnameRecord(N(name)) { Name = N("b." + name) });
            var length = message.Write(buffer);
            Assert.True(DnsMessage.TryParse(buffer.AsSpan(0, length), out var parsed, out _), Convert.ToHexString(buffer, 0, length));
            Assert.Equal(message.Questions, parsed.Questions);
            Assert.Equal(message.Answers, parsed.Answers);
        }
    }

    [Fact]
    public void Rewind_forgets_compression_targets()
    {
        // Regression: a record rewound after not fitting left its name offsets behind; a later name could then be
        // "compressed" into whatever overwrote them.
        var buffer = new byte[128];
        var writer = new DnsWriter(buffer) { Position = DnsHeader.Size };
        Assert.True(writer.TryWriteName(N("keep.example.")));
        var mark = writer.Position;
        Assert.True(writer.TryWriteName(N("gone.other.")));
        writer.Position = mark; // rewind
        Assert.True(writer.TryWriteBytes([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]));
        var second = writer.Position;
        Assert.True(writer.TryWriteName(N("x.other.")));
        Assert.Equal(N("x.other.").Wire.ToArray(), buffer[second..writer.Position]); // written in full, no pointer
        var third = writer.Position;
        Assert.True(writer.TryWriteName(N("y.EXAMPLE.")));
        Assert.Equal([1, (byte)'y', 0xC0, DnsHeader.Size + 5], buffer[third..writer.Position]);
    }

    [Fact]
    public void Failed_name_write_rewinds_and_forgets()
    {
        var buffer = new byte[DnsHeader.Size + 10];
        var writer = new DnsWriter(buffer) { Position = DnsHeader.Size };
        Assert.False(writer.TryWriteName(N("abcdef.example.")));
        Assert.Equal(DnsHeader.Size, writer.Position);
        Assert.True(writer.TryWriteName(N("abc.")));
        Assert.True(writer.TryWriteName(N("abc.")));
        Assert.Equal([3, (byte)'a', (byte)'b', (byte)'c', 0, 0xC0, DnsHeader.Size], buffer[DnsHeader.Size..writer.Position]);
    }

    [Fact]
    public void No_compression_beyond_14_bit_offsets()
    {
        // Pointers hold 14 bits (RFC 1035 §4.1.4): a name first written past 0x3FFF cannot be a target.
        var message = DnsMessage.CreateQuery("q.", DnsType.TXT);
        var filler = new string('x', 255);
        for (var i = 0; i < 70; i++)
        {
            message.Answers.Add(new TxtRecord([filler]) { Name = N("q.") });
        }
        message.Answers.Add(new ARecord(IPAddress.Loopback) { Name = N("late.example.") });
        message.Answers.Add(new ARecord(IPAddress.Loopback) { Name = N("late.example.") });
        var wire = message.ToArray();
        Assert.True(wire.Length > 0x4000);
        const int record = 14 + 10 + 4; // owner, fixed fields, IPv4
        Assert.Equal(N("late.example.").Wire.ToArray(), wire[^(2 * record)..^(record + 14)]);
        Assert.Equal(N("late.example.").Wire.ToArray(), wire[^record..^14]);
        Assert.Equal(message.Answers, DnsMessage.Parse(wire).Answers);
    }

    [Fact]
    public void Compress_false_writes_every_name_in_full()
    {
        var buffer = new byte[64];
        var writer = new DnsWriter(buffer) { Position = DnsHeader.Size, Compress = false };
        Assert.True(writer.TryWriteName(N("a.b.")));
        Assert.True(writer.TryWriteName(N("a.b.")));
        Assert.Equal(DnsHeader.Size + 10, writer.Position);
    }
}
