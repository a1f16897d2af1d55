using System.Globalization;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Rewrite;

/// <summary>cname target rules (CoreDNS's cname_target_test.go table), edns0 unset and revert, and edns0 local
/// variables, through the real server over UDP and TCP.</summary>
public sealed class RewriteCnameAndEdnsTests
{
    // The names the chain knows: CoreDNS's test answers for the questions and its MockedUpstream for the new targets.
    private static readonly Dictionary<(string, DnsType), string[]> Zone = new()
    {
        [("abc.example.com.", DnsType.A)] = ["abc.example.com. 5 IN CNAME def.example.com.", "def.example.com. 5 IN A 1.2.3.4"],
        [("abc.example.com.", DnsType.AAAA)] = ["abc.example.com. 5 IN CNAME def.example.com.", "def.example.com. 5 IN AAAA 2a01:7e00::f03c:91ff:fe79:234c"],
        [("chat.openai.com.", DnsType.A)] =
        [
            "chat.openai.com. 20 IN CNAME chat.openai.com.cdn.cloudflare.net.",
            "chat.openai.com.cdn.cloudflare.net. 30 IN A 23.2.1.2", "chat.openai.com.cdn.cloudflare.net. 30 IN A 24.6.0.8",
        ],
        [("coredns.io.", DnsType.A)] = ["coredns.io. 100 IN CNAME www.hosting.uvw.", "www.hosting.uvw. 200 IN A 7.2.3.4"],
        [("core.dns.rocks.", DnsType.A)] = ["core.dns.rocks. 200 IN CNAME abcd.efgh.pqrst.", "abcd.efgh.pqrst. 100 IN A 200.30.45.67"],
        [("order.service.eu.", DnsType.A)] = ["order.service.eu. 200 IN CNAME orders.web.eu.site.", "orders.web.eu.site. 50 IN A 10.10.15.1"],
        [("xyz.example.com.", DnsType.A)] = ["xyz.example.com. 3600 IN A 3.4.5.6"],
        [("xyz.example.com.", DnsType.AAAA)] = ["xyz.example.com. 3600 IN AAAA 3a01:7e00::f03c:91ff:fe79:234c"],
        [("bard.google.com.cdn.cloudflare.net.", DnsType.A)] = ["bard.google.com.cdn.cloudflare.net. 1800 IN A 9.7.2.1"],
        [("www.hosting.xyz.", DnsType.A)] = ["www.hosting.xyz. 500 IN A 20.30.40.50"],
        [("abcd.zzzz.www.pqrst.", DnsType.A)] = ["abcd.zzzz.www.pqrst. 120 IN A 101.20.5.1", "abcd.zzzz.www.pqrst. 120 IN A 101.20.5.2"],
        [("orders.webapp.eu.org.", DnsType.A)] = ["orders.webapp.eu.org. 120 IN A 20.0.0.9"],
    };

    private static readonly IReadOnlyDictionary<string, PluginDescriptor> ZonePlugin = TestPlugins.With(TestPlugins.Answering("erratic", _ => request =>
    {
        var reply = request.CreateReply();
        if (Zone.TryGetValue((request.Name, request.Type), out var lines))
        {
            foreach (var line in lines)
            {
                reply.Answers.Add(ZoneText.ParseRecord(line));
            }
        }
        return reply;
    }));

    private const string CnameRules = """
            rewrite continue cname exact def.example.com. xyz.example.com.
            rewrite continue cname prefix chat.openai.com bard.google.com
            rewrite continue cname suffix uvw. xyz.
            rewrite continue cname substring efgh zzzz.www
            rewrite continue cname regex (.*)\.web\.(.*)\.site\. {1}.webapp.{2}.org.
        """;

    public static TheoryData<DnsCase> CnameCases() => new()
    {
        new DnsCase("abc.example.com.", DnsType.A) { Answer = ["abc.example.com. 5 IN CNAME xyz.example.com.", "xyz.example.com. 3600 IN A 3.4.5.6"] },
        new DnsCase("abc.example.com.", DnsType.AAAA)
        {
            Answer = ["abc.example.com. 5 IN CNAME xyz.example.com.", "xyz.example.com. 3600 IN AAAA 3a01:7e00::f03c:91ff:fe79:234c"],
        },
        new DnsCase("chat.openai.com.", DnsType.A)
        {
            Answer = ["chat.openai.com. 20 IN CNAME bard.google.com.cdn.cloudflare.net.", "bard.google.com.cdn.cloudflare.net. 1800 IN A 9.7.2.1"],
        },
        new DnsCase("coredns.io.", DnsType.A) { Answer = ["coredns.io. 100 IN CNAME www.hosting.xyz.", "www.hosting.xyz. 500 IN A 20.30.40.50"] },
        new DnsCase("core.dns.rocks.", DnsType.A)
        {
            Answer = ["core.dns.rocks. 200 IN CNAME abcd.zzzz.www.pqrst.", "abcd.zzzz.www.pqrst. 120 IN A 101.20.5.1", "abcd.zzzz.www.pqrst. 120 IN A 101.20.5.2"],
        },
        new DnsCase("order.service.eu.", DnsType.A) { Answer = ["order.service.eu. 200 IN CNAME orders.webapp.eu.org.", "orders.webapp.eu.org. 120 IN A 20.0.0.9"] },
        // No CNAME target matches: the reply is left as it was.
        new DnsCase("xyz.example.com.", DnsType.A) { Answer = ["xyz.example.com. 3600 IN A 3.4.5.6"] },
    };

    [Theory]
    [MemberData(nameof(CnameCases))]
    public async Task Cname_rules_rewrite_targets_and_resolve_them(DnsCase expected)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n{CnameRules}\n    erratic\n}}\n", plugins: ZonePlugin);
        foreach (var tcp in new[] { false, true })
        {
            var reply = await server.QueryAsync(expected.Name, expected.Type, tcp);
            Assert.Empty(expected.Mismatches(reply));
            Assert.Equal(expected.Name, Assert.Single(reply.Questions).Name.ToString());
        }
    }

    [Fact]
    public async Task A_stop_cname_rule_ends_the_rule_list_for_every_query()
    {
        // CoreDNS's cname rule applies to every query, so the name rule after it never runs.
        var corefile = ".:0 {\n    rewrite cname exact def.example.com. xyz.example.com.\n    rewrite name exact q.example. xyz.example.com.\n    erratic\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile, plugins: ZonePlugin);
        var reply = await server.QueryAsync("q.example.", DnsType.A);
        Assert.Empty(reply.Answers);
        var followed = await server.QueryAsync("abc.example.com.", DnsType.A);
        Assert.Empty(new DnsCase("abc.example.com.", DnsType.A) { Answer = ["abc.example.com. 5 IN CNAME xyz.example.com.", "xyz.example.com. 3600 IN A 3.4.5.6"] }.Mismatches(followed));
    }

    [Fact]
    public async Task Dig_accepts_a_rewritten_cname_answer()
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n{CnameRules}\n    erratic\n}}\n", plugins: ZonePlugin);
        var dig = await ServerTestKit.DigAsync(server.Port, "coredns.io", "A");
        Assert.Equal("NOERROR", dig.Status);
        Assert.Contains(dig.Answers, line => line.Contains("www.hosting.xyz.", StringComparison.Ordinal) && line.Contains("CNAME", StringComparison.Ordinal));
        Assert.Contains(dig.Answers, line => line.Contains("20.30.40.50", StringComparison.Ordinal));
    }

    // The probe answers TXT with the question and the EDNS0 options it was asked (code=hex), echoes those options in its
    // reply's OPT (as an upstream echoing them would), and publishes the metadata label test/label.
    private sealed class Probe : DnsPlugin, IMetadataProvider
    {
        public override string Name => "erratic";

        public void CollectMetadata(DnsRequest request)
        {
            request.Items["test/label"] = (Func<string>)(() => "from-metadata");
            request.Items["test/empty"] = (Func<string>)(() => string.Empty);
        }

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            var reply = request.CreateReply();
            var seen = new List<string> { $"{request.Name} {request.Type}" };
            if (request.Message.Opt is { } opt)
            {
                seen.AddRange(opt.Options.Select(o => $"{o.Code:x}={Convert.ToHexString(o.Data).ToLowerInvariant()}"));
                reply.Additionals.RemoveAll(record => record is OptRecord);
                reply.Additionals.Add(OptRecord.Create(opt.UdpPayloadSize, options: opt.Options));
            }
            reply.Answers.Add(new TxtRecord([string.Join(' ', seen)]) { Name = request.QuestionName, Ttl = 0 });
            request.Response.Write(reply, Name);
            return new ValueTask<DnsResult>(DnsResult.Success);
        }
    }

    private static readonly IReadOnlyDictionary<string, PluginDescriptor> ProbePlugin =
        TestPlugins.With(TestPlugins.Plugin("erratic", (_, _) => new Probe()));

    private static string Hex(string text) => Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(text)).ToLowerInvariant();

    public static TheoryData<string, bool, string, string> EdnsCases() => new()
    {
        // rule; the query carries 0xffee=00 and NSID; what the chain saw; the options of the client's reply
        { "rewrite edns0 local unset 0xffee", true, "q.example. TXT 3=", "3=" },
        { "rewrite edns0 local unset 0xfff0", true, "q.example. TXT ffee=00 3=", "ffee=00 3=" },
        { "rewrite edns0 nsid unset", true, "q.example. TXT ffee=00", "ffee=00" },
        { "rewrite edns0 subnet unset", true, "q.example. TXT ffee=00 3=", "ffee=00 3=" },
        // unset of an absent option is ignored (CoreDNS's RewriteIgnored), so the stop rule does not end the list.
        { "rewrite edns0 local unset 0xfff0\n    rewrite edns0 local set 0xfff1 0x02", true, "q.example. TXT ffee=00 3= fff1=02", "ffee=00 3= fff1=02" },
        // revert: the reply carries the client's own option again, or none of the code.
        { "rewrite edns0 local set 0xfff0 0x01 revert", true, "q.example. TXT ffee=00 3= fff0=01", "ffee=00 3=" },
        { "rewrite edns0 local set 0xffee 0x01 revert", true, "q.example. TXT ffee=01 3=", "ffee=00 3=" },
        { "rewrite edns0 local replace 0xffee 0x01", true, "q.example. TXT ffee=01 3=", "ffee=01 3=" },
        { "rewrite edns0 subnet set 24 56 revert", true, "q.example. TXT ffee=00 3= 8=000118007f0000", "ffee=00 3=" },
        { "rewrite edns0 local set 0xfff0 0x01 revert", false, "q.example. TXT fff0=01", "" },
        // variables ({server_ip} is the address the listener is bound to, as CoreDNS's LocalAddr: a wildcard bind has none)
        { "rewrite edns0 local set 0xfff0 {qname}", true, $"q.example. TXT ffee=00 3= fff0={Hex("q.example.")}", $"ffee=00 3= fff0={Hex("q.example.")}" },
        { "rewrite edns0 local set 0xfff0 {qtype}", true, "q.example. TXT ffee=00 3= fff0=0010", "ffee=00 3= fff0=0010" },
        { "rewrite edns0 local set 0xfff0 {client_ip}", true, "q.example. TXT ffee=00 3= fff0=7f000001", "ffee=00 3= fff0=7f000001" },
        { "rewrite edns0 local set 0xfff0 {server_ip}", true, "q.example. TXT ffee=00 3= fff0=7f000001", "ffee=00 3= fff0=7f000001" },
        { "rewrite edns0 local set 0xfff0 {protocol}", true, $"q.example. TXT ffee=00 3= fff0={Hex("udp")}", $"ffee=00 3= fff0={Hex("udp")}" },
        { "rewrite edns0 local replace 0xffee {protocol}", true, $"q.example. TXT ffee={Hex("udp")} 3=", $"ffee={Hex("udp")} 3=" },
        { "rewrite edns0 local append 0xffee {protocol}", true, "q.example. TXT ffee=00 3=", "ffee=00 3=" },
        { "rewrite continue name exact q.example. r.example.\n    rewrite edns0 local set 0xfff0 {qname}", true, $"r.example. TXT ffee=00 3= fff0={Hex("r.example.")}", $"ffee=00 3= fff0={Hex("r.example.")}" },
        { "rewrite edns0 local set 0xfff0 {test/label}", true, $"q.example. TXT ffee=00 3= fff0={Hex("from-metadata")}", $"ffee=00 3= fff0={Hex("from-metadata")}" },
        // A label without a value, or one no plugin publishes, leaves the query alone.
        { "rewrite edns0 local set 0xfff0 {test/empty}", true, "q.example. TXT ffee=00 3=", "ffee=00 3=" },
        { "rewrite edns0 local set 0xfff0 {other/label}", true, "q.example. TXT ffee=00 3=", "ffee=00 3=" },
    };

    [Theory]
    [MemberData(nameof(EdnsCases))]
    public async Task Edns0_unset_revert_and_variables(string rewrite, bool withOptions, string seen, string replyOptions)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    bind 127.0.0.1\n    metadata\n    {rewrite}\n    erratic\n}}\n", plugins: ProbePlugin);
        var query = DnsMessage.CreateQuery("q.example.", DnsType.TXT, id: 5, ednsSize: withOptions ? (ushort)1232 : null);
        if (withOptions)
        {
            query.Additionals.Clear();
            query.Additionals.Add(OptRecord.Create(1232, options: [new EdnsOption(0xffee, [0]), new EdnsOption(3, [])]));
        }
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query.ToArray()))!);
        Assert.Equal(seen, string.Join(' ', ((TxtRecord)Assert.Single(reply.Answers)).Strings));
        var options = reply.Opt?.Options.Select(o => $"{o.Code:x}={Convert.ToHexString(o.Data).ToLowerInvariant()}") ?? [];
        Assert.Equal(replyOptions, string.Join(' ', options));
        Assert.Equal("q.example.", Assert.Single(reply.Questions).Name.ToString());
    }

    [Fact]
    public async Task Port_and_protocol_variables_over_tcp()
    {
        const string corefile = ".:0 {\n    rewrite continue edns0 local set 0xfff0 {client_port}\n    rewrite continue edns0 local set 0xfff1 {server_port}\n"
            + "    rewrite edns0 local set 0xfff2 {protocol}\n    erratic\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile, plugins: ProbePlugin);
        var query = DnsMessage.CreateQuery("q.example.", DnsType.TXT, id: 6, ednsSize: 1232).ToArray();
        using var client = new System.Net.Sockets.TcpClient(AddressFamily());
        await client.ConnectAsync(server.Endpoint);
        var local = (IPEndPoint)client.Client.LocalEndPoint!;
        var stream = client.GetStream();
        var frame = new byte[query.Length + 2];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
        query.CopyTo(frame, 2);
        await stream.WriteAsync(frame);
        var reply = DnsMessage.Parse((await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(10)))!);
        var expected = string.Create(CultureInfo.InvariantCulture,
            $"q.example. TXT fff0={local.Port:x4} fff1={server.Port:x4} fff2={Hex("tcp")}");
        Assert.Equal(expected, string.Join(' ', ((TxtRecord)Assert.Single(reply.Answers)).Strings));
    }

    private static System.Net.Sockets.AddressFamily AddressFamily() => System.Net.Sockets.AddressFamily.InterNetwork;
}
