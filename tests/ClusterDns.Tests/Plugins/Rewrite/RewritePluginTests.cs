using System.Globalization;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Rewrite;

/// <summary>The rewrite plugin through the real server over UDP, with hosts, template or a probe plugin answering the
/// rewritten question.</summary>
public sealed class RewritePluginTests
{
    private const string Hosts = "    hosts {\n        10.0.0.1 a.example.net\n        10.0.0.2 a.example.org\n        10.0.0.3 plain.example.info\n    }\n";

    private static string Corefile(string rewrite) => $".:0 {{\n    {rewrite}\n{Hosts}}}\n";

    public static TheoryData<string, DnsCase> NameCases() => new()
    {
        { "rewrite name exact old.example.org a.example.net", new DnsCase("old.example.org.", DnsType.A) { Answer = ["old.example.org. 3600 IN A 10.0.0.1"] } },
        { "rewrite name OLD.Example.org. a.example.net.", new DnsCase("old.example.org.", DnsType.A) { Answer = ["old.example.org. 3600 IN A 10.0.0.1"] } },
        { "rewrite name prefix legacy. a.", new DnsCase("legacy.example.net.", DnsType.A) { Answer = ["a.example.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite name prefix legacy. a. answer auto", new DnsCase("legacy.example.net.", DnsType.A) { Answer = ["legacy.example.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite name suffix .corp.internal .example.net", new DnsCase("a.corp.internal.", DnsType.A) { Answer = ["a.example.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite name suffix .corp.internal .example.net answer auto", new DnsCase("a.corp.internal.", DnsType.A) { Answer = ["a.corp.internal. 3600 IN A 10.0.0.1"] } },
        { "rewrite name substring staging example answer auto", new DnsCase("a.staging.net.", DnsType.A) { Answer = ["a.staging.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite name regex (.*)-net\\.example\\.com {1}.example.net", new DnsCase("a-net.example.com.", DnsType.A) { Answer = ["a.example.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite name regex (.*)-net\\.example\\.com {1}.example.net answer auto", new DnsCase("a-net.example.com.", DnsType.A) { Answer = ["a-net.example.com. 3600 IN A 10.0.0.1"] } },
        {
            "rewrite name regex (.*)-(net)\\.example\\.com {1}.example.{2} answer name (.*)\\.example\\.net {1}-net.example.com",
            new DnsCase("a-net.example.com.", DnsType.A) { Answer = ["a-net.example.com. 3600 IN A 10.0.0.1"] }
        },
        {
            "rewrite stop {\n        name regex (.*)-(org)\\.example\\.com {1}.example.{2}\n        answer name (.*)\\.example\\.org {1}-org.example.com\n    }",
            new DnsCase("a-org.example.com.", DnsType.A) { Answer = ["a-org.example.com. 3600 IN A 10.0.0.2"] }
        },
        { "rewrite stop type AAAA A", new DnsCase("a.example.net.", DnsType.AAAA) { Answer = ["a.example.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite ttl exact a.example.net 30", new DnsCase("a.example.net.", DnsType.A) { Answer = ["a.example.net. 30 IN A 10.0.0.1"] } },
        { "rewrite ttl a.example.net 10-20", new DnsCase("a.example.net.", DnsType.A) { Answer = ["a.example.net. 20 IN A 10.0.0.1"] } },
        { "rewrite ttl regex .*\\.example\\.net 4000-", new DnsCase("a.example.net.", DnsType.A) { Answer = ["a.example.net. 4000 IN A 10.0.0.1"] } },
        { "rewrite ttl suffix example.org 30", new DnsCase("a.example.net.", DnsType.A) { Answer = ["a.example.net. 3600 IN A 10.0.0.1"] } },
        // continue: the second rule sees the first one's name (the exact rules' answer maps run in order, as CoreDNS's).
        {
            "rewrite continue name exact x.example.org y.example.org\n    rewrite name exact y.example.org a.example.net",
            new DnsCase("x.example.org.", DnsType.A) { Answer = ["y.example.org. 3600 IN A 10.0.0.1"] }
        },
        // stop (the default): the first rule that applies is the last; hosts has no y.example.org and no fallthrough.
        { "rewrite name exact x.example.org y.example.org\n    rewrite name exact y.example.org a.example.net", new DnsCase("x.example.org.", DnsType.A, DnsRcode.ServFail) },
        { "rewrite name exact other.example.org a.example.net", new DnsCase("a.example.net.", DnsType.A) { Answer = ["a.example.net. 3600 IN A 10.0.0.1"] } },
        { "rewrite name exact a.example.org a..example.org", new DnsCase("a.example.org.", DnsType.A, DnsRcode.ServFail) },
    };

    [Theory]
    [MemberData(nameof(NameCases))]
    public async Task Rewrites_the_question_and_reverts_the_reply(string rewrite, DnsCase expected)
    {
        await using var server = await TestDnsServer.StartAsync(Corefile(rewrite));
        var query = DnsMessage.CreateQuery(expected.Name, expected.Type, id: 4321, ednsSize: 1232).ToArray();
        var bytes = await server.ExchangeUdpAsync(query);
        Assert.NotNull(bytes);
        var reply = DnsMessage.Parse(bytes);
        Assert.Empty(expected.Mismatches(reply));
        AssertOwnQuestion(reply, expected.Name, expected.Type, DnsClass.IN);
        Assert.Equal(4321, reply.Header.Id);

        // The reused request is clean: a question no rule touches is answered as asked.
        var plain = await server.QueryAsync("plain.example.info.", DnsType.A);
        Assert.Empty(new DnsCase("plain.example.info.", DnsType.A) { Answer = ["plain.example.info. 3600 IN A 10.0.0.3"] }.Mismatches(plain));
        AssertOwnQuestion(plain, "plain.example.info.", DnsType.A, DnsClass.IN);
    }

    [Fact]
    public async Task The_client_gets_its_question_back_in_its_own_case()
    {
        await using var server = await TestDnsServer.StartAsync(Corefile("rewrite name suffix .corp.internal .example.net answer auto"));
        var bytes = await server.ExchangeUdpAsync(DnsMessage.CreateQuery("A.Corp.INTERNAL.", DnsType.A, id: 9).ToArray());
        var reply = DnsMessage.Parse(bytes!);
        AssertOwnQuestion(reply, "A.Corp.INTERNAL.", DnsType.A, DnsClass.IN);
        Assert.Equal("10.0.0.1", ((ARecord)Assert.Single(reply.Answers)).Address.ToString());
    }

    [Fact]
    public async Task Dig_accepts_a_type_rewrite()
    {
        await using var server = await TestDnsServer.StartAsync(Corefile("rewrite stop type AAAA A"));
        var dig = await ServerTestKit.DigAsync(server.Port, "a.example.net", "AAAA");
        Assert.Equal("NOERROR", dig.Status);
        Assert.DoesNotContain("mismatch", dig.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(dig.Answers, line => line.Contains("10.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Answer_auto_maps_values_back_too()
    {
        const string corefile = ".:0 {\n    rewrite name suffix .corp. .example.net. answer auto\n"
            + "    template IN CNAME example.net {\n        answer \"{{ .Name }} 60 IN CNAME target.{{ .Name }}\"\n    }\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        var reply = await server.QueryAsync("svc.corp.", DnsType.CNAME);
        Assert.Empty(new DnsCase("svc.corp.", DnsType.CNAME) { Answer = ["svc.corp. 60 IN CNAME target.svc.corp."] }.Mismatches(reply));
        AssertOwnQuestion(reply, "svc.corp.", DnsType.CNAME, DnsClass.IN);
    }

    [Theory]
    [InlineData("rewrite rcode exact missing.example.net NXDOMAIN NOERROR", DnsRcode.NoError)]
    [InlineData("rewrite rcode suffix example.net 3 5", DnsRcode.Refused)]
    [InlineData("rewrite rcode exact other.example.net NXDOMAIN NOERROR", DnsRcode.NXDomain)]
    public async Task Rewrites_the_rcode(string rewrite, DnsRcode expected)
    {
        var corefile = $".:0 {{\n    {rewrite}\n    template IN A missing.example.net {{\n        rcode NXDOMAIN\n    }}\n}}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        var reply = await server.QueryAsync("missing.example.net.", DnsType.A);
        Assert.Equal(expected, reply.Rcode);
        AssertOwnQuestion(reply, "missing.example.net.", DnsType.A, DnsClass.IN);
    }

    [Fact]
    public async Task Rewrites_the_class_where_the_block_serves_other_classes()
    {
        // As in CoreDNS, a non-IN query reaches the chain only in a block with chaos or forward.
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    chaos\n    rewrite class CH IN\n{Hosts}}}\n");
        var query = DnsMessage.CreateQuery("a.example.net.", DnsType.A, id: 77);
        query.Questions[0] = new DnsQuestion(query.Questions[0].Name, DnsType.A, DnsClass.CH);
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query.ToArray()))!);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Equal("10.0.0.1", ((ARecord)Assert.Single(reply.Answers)).Address.ToString());
        AssertOwnQuestion(reply, "a.example.net.", DnsType.A, DnsClass.CH);
    }

    // The probe answers TXT with the question and EDNS0 options it was asked (code=hex data), as forward would send them.
    private static readonly IReadOnlyDictionary<string, PluginDescriptor> Probe = TestPlugins.With(TestPlugins.Answering("erratic", _ => request =>
    {
        var reply = request.CreateReply();
        var seen = new List<string> { $"{request.Name} {request.Type} {request.Class}" };
        if (request.Message.Opt is { } opt)
        {
            seen.Add("udp=" + opt.UdpPayloadSize.ToString(CultureInfo.InvariantCulture));
            seen.AddRange(opt.Options.Select(o => $"{o.Code:x}={Convert.ToHexString(o.Data).ToLowerInvariant()}"));
        }
        reply.Answers.Add(new TxtRecord([string.Join(' ', seen)]) { Name = request.QuestionName, Ttl = 0 });
        return reply;
    }));

    public static TheoryData<string, bool, string> EdnsCases() => new()
    {
        // rule, query carries option 0xffee=00, what the chain sees
        { "rewrite edns0 local set 0xffee 0x61626364", false, "q.example. TXT IN udp=4096 ffee=61626364" },
        { "rewrite edns0 local set 0xffee abcd", true, "q.example. TXT IN udp=1232 ffee=61626364" },
        { "rewrite edns0 local append 0xffee 0x01", true, "q.example. TXT IN udp=1232 ffee=00" },
        { "rewrite edns0 local append 0xfff0 0x01", true, "q.example. TXT IN udp=1232 ffee=00 fff0=01" },
        { "rewrite edns0 local replace 0xffee 0x01", true, "q.example. TXT IN udp=1232 ffee=01" },
        { "rewrite edns0 local replace 0xfff0 0x01", true, "q.example. TXT IN udp=1232 ffee=00" },
        { "rewrite edns0 nsid set", true, "q.example. TXT IN udp=1232 ffee=00 3=" },
        { "rewrite edns0 subnet set 24 56", true, "q.example. TXT IN udp=1232 ffee=00 8=000118007f0000" },
        { "rewrite edns0 subnet append 20 56", false, "q.example. TXT IN udp=4096 8=000114007f0000" },
        { "rewrite continue edns0 nsid set\n    rewrite name exact q.example r.example", true, "r.example. TXT IN udp=1232 ffee=00 3=" },
        { "rewrite edns0 nsid set\n    rewrite name exact q.example r.example", true, "q.example. TXT IN udp=1232 ffee=00 3=" },
    };

    [Theory]
    [MemberData(nameof(EdnsCases))]
    public async Task Rewrites_edns0_options(string rewrite, bool withOption, string seen)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {rewrite}\n    erratic\n}}\n", plugins: Probe);
        var query = DnsMessage.CreateQuery("q.example.", DnsType.TXT, id: 5, ednsSize: withOption ? (ushort)1232 : null);
        if (withOption)
        {
            query.Additionals.Clear();
            query.Additionals.Add(OptRecord.Create(1232, options: [new EdnsOption(0xffee, [0])]));
        }
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query.ToArray()))!);
        Assert.Equal(seen, string.Join(' ', ((TxtRecord)Assert.Single(reply.Answers)).Strings));
        AssertOwnQuestion(reply, "q.example.", DnsType.TXT, DnsClass.IN);
    }

    private static void AssertOwnQuestion(DnsMessage reply, string name, DnsType type, DnsClass @class)
    {
        var question = Assert.Single(reply.Questions);
        Assert.Equal(name, question.Name.ToString());
        Assert.Equal(type, question.Type);
        Assert.Equal(@class, question.Class);
    }
}
