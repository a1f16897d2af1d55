using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Header;

public sealed class HeaderTests
{
    // Answers with an A record and reports in a TXT record whether the query reaching it had RD set;
    // "fail." names are returned as SERVFAIL without a written reply (the server writes it).
    private static readonly IReadOnlyDictionary<string, PluginDescriptor> Plugins = TestPlugins.With(new PluginDescriptor("erratic", _ => [new Probe()]));

    private sealed class Probe : DnsPlugin
    {
        public override string Name => "erratic";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            if (request.Name.StartsWith("fail.", StringComparison.Ordinal))
            {
                return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail));
            }
            var reply = request.CreateReply(authoritative: false);
            reply.Answers.Add(new TxtRecord([request.Info.Header.RecursionDesired ? "rd" : "nord"]) { Name = request.QuestionName });
            request.Response.Write(reply, Name);
            return new ValueTask<DnsResult>(DnsResult.Success);
        }
    }

    public static TheoryData<string, bool, string, string> Cases() => new()
    {
        // rules, client RD, flags of the reply (besides qr), what the chain saw
        { "", true, "rd", "rd" },
        { "set ra", true, "ra rd", "rd" },
        { "response set ra", true, "ra rd", "rd" },
        { "response set ra aa\n        response clear rd", true, "aa ra", "rd" },
        { "set ra aa\n        clear rd", true, "aa ra", "rd" },
        { "set aa\n        clear aa", false, "", "nord" },
        { "clear aa\n        set aa", false, "aa", "nord" },
        { "query set rd", false, "rd", "rd" },
        { "query clear rd", true, "", "nord" },
        { "query clear rd\n        response set rd", true, "rd", "nord" },
        { "QUERY SET RD", false, "rd", "rd" },
        { "response set RA", false, "ra", "nord" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Flags_follow_the_rules(string rules, bool rd, string flags, string seen)
    {
        var block = rules.Length == 0 ? string.Empty : $"    header {{\n        {rules}\n    }}\n";
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n{block}    erratic\n}}\n", plugins: Plugins);
        var query = DnsMessage.CreateQuery("example.org.", DnsType.A, id: 5, recursionDesired: rd, ednsSize: 1232).ToArray();
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query))!);
        var label = $"[{rules.Replace('\n', ';')}] rd={rd}";
        var actual = new List<string>();
        if (reply.Header.Authoritative) actual.Add("aa");
        if (reply.Header.RecursionDesired) actual.Add("rd");
        if (reply.Header.RecursionAvailable) actual.Add("ra");
        Assert.True(flags == string.Join(' ', actual.Order(StringComparer.Ordinal)), $"{label}: flags {string.Join(' ', actual)}");
        Assert.True(seen == ((TxtRecord)reply.Answers[0]).Strings[0], $"{label}: chain saw {((TxtRecord)reply.Answers[0]).Strings[0]}");
    }

    [Fact]
    public async Task Server_written_errors_are_not_changed()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    header {\n        response set aa ra\n    }\n    erratic\n}\n", plugins: Plugins);
        var reply = await server.QueryAsync("fail.example.org.", DnsType.A);
        Assert.Equal(DnsRcode.ServFail, reply.Rcode);
        Assert.False(reply.Header.Authoritative);
        Assert.False(reply.Header.RecursionAvailable);
    }

    [Theory]
    [InlineData("header {\n    }", "plugin/header: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '}'")]
    [InlineData("header {\n        foo\n    }", "plugin/header: setting up rule: invalid selector=foo should be query or response")]
    [InlineData("header {\n        response set\n    }", "plugin/header: setting up rule: invalid length for flags, at least one should be provided")]
    [InlineData("header {\n        query foo\n    }", "plugin/header: setting up rule: invalid length for flags, at least one should be provided")]
    [InlineData("header {\n        query foo rd\n    }", "plugin/header: setting up rule: unknown flag action=foo, should be set or clear")]
    [InlineData("header {\n        query\n    }", "plugin/header: setting up rule: no flag action provided")]
    [InlineData("header {\n        set ad\n    }", "plugin/header: setting up rule: unknown/unsupported flag=ad")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }
}
