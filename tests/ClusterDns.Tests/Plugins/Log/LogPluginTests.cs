using System.Text.RegularExpressions;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Log;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Log;

public sealed class LogPluginTests
{
    private const string Common = LogSetup.CommonLogFormat;
    private const string Combined = LogSetup.CombinedLogFormat;

    private static IReadOnlyList<LogRule> Parse(string directive)
    {
        var document = CorefileParser.Parse($".:53 {{\n    {directive}\n}}\n", "Corefile", new CorefileParserOptions { IsDirective = PluginOrder.Default.Contains });
        return LogSetup.Parse(new Dispenser(document.Blocks[0].Find("log")!));
    }

    public static TheoryData<string, string> ParseCases => new()
    {
        { "log", ". " + Common + " all" },
        { "log example.org", "example.org. " + Common + " all" },
        { "log example.org. {common}", "example.org. " + Common + " all" },
        { "log example.org {combined}", "example.org. " + Combined + " all" },
        { "log example.org.\n    log example.net {combined}", "example.org. " + Common + " all|example.net. " + Combined + " all" },
        { "log example.org {host}\n    log example.org {when}", "example.org. {host} all|example.org. {when} all" },
        { "log example.org example.net", "example.org. " + Common + " all|example.net. " + Common + " all" },
        { "log example.org example.net {host}", "example.org. {host} all|example.net. {host} all" },
        { "log {name}", "{name}. " + Common + " all" },
        { "log example.org example.net {when} {\n        class denial\n    }", "example.org. {when} denial|example.net. {when} denial" },
        { "log example.org {\n        class all\n    }", "example.org. " + Common + " all" },
        { "log {\n        class denial error\n    }", ". " + Common + " denial,error" },
        { "log {\n        class denial\n        class error\n    }", ". " + Common + " denial,error" },
        { "log {\n        minDuration\n    }", ". " + Common + " all 100ms" },
        { "log {\n        class error\n        minDuration 1s\n    }", ". " + Common + " error 1s" },
    };

    [Theory]
    [MemberData(nameof(ParseCases))]
    public void Parses_rules_like_CoreDNS(string directive, string expected)
    {
        var rules = Parse(directive);
        var text = string.Join("|", rules.Select(r =>
        {
            var classes = r.Classes.HasFlag(ResponseClass.All) ? "all"
                : string.Join(",", new[] { (ResponseClass.Success, "success"), (ResponseClass.Denial, "denial"), (ResponseClass.Error, "error") }
                    .Where(c => r.Classes.HasFlag(c.Item1)).Select(c => c.Item2));
            var min = r.MinDuration > TimeSpan.Zero ? " " + ClusterDns.Plugins.Shared.GoDuration.Format(r.MinDuration) : string.Empty;
            return $"{r.NameScope} {r.Format.Text} {classes}{min}";
        }));
        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData("log {\n        class abracadabra\n    }", "plugin/log: invalid Class: abracadabra")]
    [InlineData("log {\n        class\n    }", "plugin/log: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'class'")]
    [InlineData("log {\n        minDuration 123abc\n    }", "plugin/log: Corefile:3 - Error during parsing: Illegal duration found: '123abc'")]
    [InlineData("log {\n        minDuration 1s 2s\n    }", "plugin/log: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '2s'")]
    [InlineData("log {\n        unknown\n    }", "plugin/log: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'unknown'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    private static async Task<(string Line, byte[] Query, byte[] Reply)> QueryAndLogAsync(TestDnsServer server, string name, DnsType type,
        bool tcp = false, ushort? edns = 1232, bool dnssecOk = false, ushort id = 4242)
    {
        var before = Lines(server.Log).Length;
        var query = DnsMessage.CreateQuery(name, type, id: id, ednsSize: edns, dnssecOk: dnssecOk).ToArray();
        var reply = tcp ? await TestDnsServer.ExchangeTcpAsync(server.Endpoint, query) : await server.ExchangeUdpAsync(query);
        Assert.NotNull(reply);
        var log = await WaitForLogAsync(server, l => Lines(l).Length > before);
        var lines = Lines(log);
        Assert.True(lines.Length > before, "no log line");
        return (lines[before], query, reply);
    }

    [Theory]
    [InlineData(false, "udp", "1232")]
    [InlineData(true, "tcp", "65535")]
    public async Task Default_line_is_the_common_log_format(bool tcp, string proto, string bufsize)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    log\n    whoami\n}\n");
        var (line, query, reply) = await QueryAndLogAsync(server, "Example.ORG.", DnsType.A, tcp);
        var pattern = $"^\\[INFO\\] 127\\.0\\.0\\.1:\\d+ - 4242 \"A IN example\\.org\\. {proto} {query.Length} false {bufsize}\" NOERROR qr,aa,rd {reply.Length} \\d+(\\.\\d+)?s$";
        Assert.Matches(pattern, line);
        // The port is the client's, the duration a plain decimal (no exponent).
        Assert.DoesNotContain("E-", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_edns_bufsize_is_512_and_do_is_reported()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    log\n    whoami\n}\n");
        var (line, _, _) = await QueryAndLogAsync(server, "example.org.", DnsType.TXT, edns: null);
        Assert.Contains("\"TXT IN example.org. udp 29 false 512\"", line, StringComparison.Ordinal);
        (line, _, _) = await QueryAndLogAsync(server, "example.org.", DnsType.A, edns: 4096, dnssecOk: true);
        Assert.Contains(" true 4096\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Combined_format_appends_the_opcode()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    log . {combined}\n    whoami\n}\n");
        var (line, _, _) = await QueryAndLogAsync(server, "example.org.", DnsType.A);
        Assert.Matches("^\\[INFO\\] 127\\.0\\.0\\.1:\\d+ - 4242 \"A IN example\\.org\\. udp \\d+ false 1232\" NOERROR qr,aa,rd \\d+ [0-9.]+s \"0\"$", line);
    }

    [Fact]
    public async Task Every_placeholder_renders()
    {
        const string format = "{type}|{class}|{name}|{proto}|{size}|{remote}|{port}|{>id}|{>opcode}|{>do}|{>bufsize}|{rcode}|{rsize}|{>rflags}|{/meta/x}|{when}|{A}|} {{name}}";
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    log . \"{format}\"\n    whoami\n}}\n");
        var (line, query, reply) = await QueryAndLogAsync(server, "www.Example.org.", DnsType.AAAA, id: 7);
        var match = Regex.Match(line, "^\\[INFO\\] AAAA\\|IN\\|www\\.example\\.org\\.\\|udp\\|(\\d+)\\|127\\.0\\.0\\.1\\|(\\d+)\\|7\\|0\\|false\\|1232\\|NOERROR\\|(\\d+)\\|qr,aa,rd\\|-\\|\\{when\\}\\|\\{A\\}\\|\\} \\{www\\.example\\.org\\.\\}$");
        Assert.True(match.Success, line);
        Assert.Equal(query.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), match.Groups[1].Value);
        Assert.Equal(reply.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), match.Groups[3].Value);
    }

    [Fact]
    public async Task Unwritten_reply_logs_dash_rcode_and_flags()
    {
        // hosts answers SERVFAIL without writing for an unknown name; the server writes it after log returns.
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    log\n    hosts {\n        10.0.0.1 known.example.org\n    }\n}\n");
        var (line, query, _) = await QueryAndLogAsync(server, "unknown.example.org.", DnsType.A);
        Assert.Matches($"^\\[INFO\\] 127\\.0\\.0\\.1:\\d+ - 4242 \"A IN unknown\\.example\\.org\\. udp {query.Length} false 1232\" - - 0 [0-9.]+s$", line);
    }

    private static IReadOnlyDictionary<string, PluginDescriptor> Denier() => ErraticTestPlugin.With(request =>
    {
        // NXDOMAIN with an SOA: CoreDNS's "denial" class.
        var reply = request.CreateReply(DnsRcode.NXDomain);
        reply.Authorities.Add(new SoaRecord(DnsName.Parse("ns.example.org."), DnsName.Parse("admin.example.org."), 1, 2, 3, 4, 5)
        {
            Name = DnsName.Parse("example.org."),
            Ttl = 5,
        });
        request.Response.Write(reply, "erratic");
        return new DnsResult(DnsRcode.NXDomain);
    });

    [Theory]
    [InlineData("denial", true)]
    [InlineData("error", false)]
    [InlineData("success", false)]
    [InlineData("all", true)]
    [InlineData("success denial", true)]
    public async Task Class_filters_on_the_reply(string classes, bool logged)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    log {{\n        class {classes}\n    }}\n    erratic\n}}\n", plugins: Denier());
        var reply = await server.QueryAsync("nx.example.org.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, reply.Rcode);
        await server.QueryAsync("nx2.example.org.", DnsType.A); // a second query so an absent line is not a race
        var log = await WaitForLogAsync(server, l => l.Contains("nx2.", StringComparison.Ordinal), logged ? 3000 : 300);
        Assert.Equal(logged, log.Contains("\"A IN nx.example.org. udp", StringComparison.Ordinal));
        if (logged)
        {
            Assert.Contains(" NXDOMAIN qr,aa,rd ", log, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("success", "known", true)]
    [InlineData("error", "known", false)]
    [InlineData("error", "unknown", true)]
    [InlineData("denial", "unknown", false)]
    public async Task Success_and_error_classes(string classes, string host, bool logged)
    {
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    log {{\n        class {classes}\n    }}\n    hosts {{\n        10.0.0.1 known.example.org\n    }}\n}}\n");
        await server.QueryAsync($"{host}.example.org.", DnsType.A);
        var log = await WaitForLogAsync(server, l => l.Contains(host + ".example.org.", StringComparison.Ordinal), logged ? 3000 : 300);
        Assert.Equal(logged, log.Contains($"\"A IN {host}.example.org.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task First_matching_scope_decides_and_one_line_per_query()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    log example.org \"ORG {name}\"\n    log . \"ANY {name}\"\n    whoami\n}\n");
        var (line, _, _) = await QueryAndLogAsync(server, "a.example.org.", DnsType.A);
        Assert.Equal("[INFO] ORG a.example.org.", line);
        (line, _, _) = await QueryAndLogAsync(server, "a.example.net.", DnsType.A);
        Assert.Equal("[INFO] ANY a.example.net.", line);
        await Task.Delay(100);
        Assert.Equal(2, Lines(server.Log).Length);
    }

    [Fact]
    public async Task Names_outside_every_scope_are_not_logged()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    log example.org\n    whoami\n}\n");
        await server.QueryAsync("example.net.", DnsType.A);
        var (line, _, _) = await QueryAndLogAsync(server, "www.example.org.", DnsType.A);
        Assert.Contains("www.example.org.", line, StringComparison.Ordinal);
        Assert.DoesNotContain("example.net", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Log");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }
}
