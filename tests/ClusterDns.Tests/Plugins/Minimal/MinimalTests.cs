using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Minimal;

public sealed class MinimalTests
{
    private static readonly string[] Answer = ["example.com. 293 IN A 142.250.76.46"];

    private static readonly string[] Ns =
    [
        "example.com. 157127 IN NS ns2.example.com.",
        "example.com. 157127 IN NS ns1.example.com.",
    ];

    private static readonly string[] Extra =
    [
        "ns2.example.com. 316273 IN A 216.239.34.10",
        "ns2.example.com. 157127 IN AAAA 2001:4860:4802:34::a",
        "ns1.example.com. 165555 IN A 216.239.32.10",
    ];

    private static readonly string[] Soa = ["example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5"];

    private sealed record Case(string Name, DnsRcode Rcode, string[] Answer, string[] Ns, string[] Extra, bool Minimized);

    // From CoreDNS's minimal_test.go, plus NODATA and a plain NOERROR with authority records.
    private static readonly Dictionary<string, Case> Cases = new[]
    {
        new Case("noerror", DnsRcode.NoError, Answer, [], Extra, true),
        new Case("noerror-with-ns", DnsRcode.NoError, Answer, Ns, Extra, true),
        new Case("delegation", DnsRcode.NoError, [], Ns, Extra, false),
        new Case("nxdomain", DnsRcode.NXDomain, Answer, Ns, Extra, false),
        new Case("nodata", DnsRcode.NoError, [], Soa, Extra, false),
        new Case("servfail", DnsRcode.ServFail, Answer, Ns, Extra, false),
    }.ToDictionary(c => c.Name);

    private static readonly IReadOnlyDictionary<string, PluginDescriptor> Plugins = TestPlugins.With(TestPlugins.Answering("erratic", _ => request =>
    {
        var test = Cases[request.Name.Split('.')[0]];
        var reply = request.CreateReply(test.Rcode);
        reply.Answers.AddRange(test.Answer.Select(l => ZoneText.ParseRecord(l)));
        reply.Authorities.AddRange(test.Ns.Select(l => ZoneText.ParseRecord(l)));
        reply.Additionals.InsertRange(0, test.Extra.Select(l => ZoneText.ParseRecord(l)));
        return reply;
    }));

    public static TheoryData<string> Names() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Minimizes_positive_replies_only(string name)
    {
        var test = Cases[name];
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    minimal\n    erratic\n}\n", plugins: Plugins);
        foreach (var tcp in new[] { false, true })
        {
            var query = DnsMessage.CreateQuery(name + ".example.com.", DnsType.A, id: 77, ednsSize: 1232, dnssecOk: true).ToArray();
            var bytes = tcp ? await TestDnsServer.ExchangeTcpAsync(server.Endpoint, query) : await server.ExchangeUdpAsync(query);
            var reply = DnsMessage.Parse(bytes!);
            var label = $"{name} tcp={tcp}";
            Assert.True(test.Rcode == reply.Rcode, label);
            Assert.True(Same(test.Answer, reply.Answers), $"{label}: answers {string.Join(" | ", reply.Answers)}");
            var ns = test.Minimized ? [] : test.Ns;
            var extra = test.Minimized ? [] : test.Extra;
            Assert.True(Same(ns, reply.Authorities), $"{label}: authority {string.Join(" | ", reply.Authorities)}");
            Assert.True(Same(extra, reply.Additionals.Where(r => r is not OptRecord)),
                $"{label}: additional {string.Join(" | ", reply.Additionals)}");
            Assert.True(reply.Opt is { UdpPayloadSize: 1232, DnssecOk: true }, $"{label}: OPT {reply.Opt}");
        }
    }

    [Fact]
    public async Task Without_edns_no_opt_is_added()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    minimal\n    erratic\n}\n", plugins: Plugins);
        var reply = await server.QueryAsync("noerror.example.com.", DnsType.A, ednsSize: null);
        Assert.Single(reply.Answers);
        Assert.Empty(reply.Authorities);
        Assert.Empty(reply.Additionals);
    }

    private static bool Same(string[] expected, IEnumerable<DnsRecord> actual) =>
        expected.Select(l => ZoneText.ParseRecord(l)).SequenceEqual(actual);

    [Fact]
    public async Task Setup_errors_match_CoreDNS()
    {
        Assert.Equal("plugin/minimal: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'foo'",
            await SetupErrorAsync(".:0 {\n    minimal foo\n    whoami\n}\n"));
    }
}
