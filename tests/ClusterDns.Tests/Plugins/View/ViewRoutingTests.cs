using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.View;

/// <summary>Split routing over real sockets: queries from different 127.0.0.x sources, of different types and transports,
/// reach the first block whose view passes; blocks without a view are the fallback.</summary>
public sealed class ViewRoutingTests
{
    // Every block answers any question with a TXT naming itself.
    private static string Block(string keys, string label, string? view) =>
        $"{keys} {{\n" + (view is null ? string.Empty : $"    view {label} {{\n        expr {view}\n    }}\n")
        + $"    template ANY ANY {{\n        answer \"{{{{ .Name }}}} 60 IN TXT {label}\"\n    }}\n}}\n";

    private static readonly string SplitCorefile =
        Block(".:0", "internal", "incidr(client_ip(), '127.0.0.2/32') || incidr(client_ip(), '127.0.0.5/32')")
        + Block(".:0", "aaaa", "type() in ['AAAA', 'SRV'] && proto() == 'udp'")
        + Block(".:0", "foo", @"name() matches '^foo\\.' && !(name() endsWith '.skip.')")
        + Block(".:0", "tcp", "proto() == 'tcp' and port() != '0'")
        + Block("example.org:0", "example", "incidr(client_ip(), '127.0.0.3/32')")
        + Block(".:0", "fallback", null);

    public static TheoryData<string, string, string, DnsType, bool, string> SplitCases() => new()
    {
        // case, source, name, type, tcp, expected block
        { "source 127.0.0.2 → internal", "127.0.0.2", "test.", DnsType.A, false, "internal" },
        { "source 127.0.0.5 → internal (second CIDR)", "127.0.0.5", "test.", DnsType.A, false, "internal" },
        { "internal wins over a later matching view", "127.0.0.2", "foo.test.", DnsType.AAAA, false, "internal" },
        { "AAAA over UDP → aaaa", "127.0.0.1", "test.", DnsType.AAAA, false, "aaaa" },
        { "SRV in the list → aaaa", "127.0.0.1", "test.", DnsType.SRV, false, "aaaa" },
        { "AAAA over TCP fails aaaa, → tcp", "127.0.0.1", "test.", DnsType.AAAA, true, "tcp" },
        { "name matches → foo", "127.0.0.1", "foo.bar.", DnsType.A, false, "foo" },
        { "name matches, case-folded", "127.0.0.1", "FOO.bar.", DnsType.A, false, "foo" },
        { "endsWith excludes → fallback", "127.0.0.1", "foo.skip.", DnsType.A, false, "fallback" },
        { "regex is anchored by ^", "127.0.0.1", "xfoo.bar.", DnsType.A, false, "fallback" },
        { "TCP → tcp", "127.0.0.4", "test.", DnsType.A, true, "tcp" },
        { "nothing matches → fallback", "127.0.0.4", "test.", DnsType.A, false, "fallback" },
        { "longer zone's view passes → example", "127.0.0.3", "www.example.org.", DnsType.A, false, "example" },
        { "longer zone's view fails → shorter zone", "127.0.0.4", "www.example.org.", DnsType.A, false, "fallback" },
        { "longer zone's view fails → root's views still apply", "127.0.0.2", "www.example.org.", DnsType.A, false, "internal" },
    };

    [Theory]
    [MemberData(nameof(SplitCases))]
    public async Task Routes_to_the_first_block_whose_view_passes(string name, string source, string qname, DnsType type, bool tcp, string expected)
    {
        await using var server = await TestDnsServer.StartAsync(SplitCorefile);
        var reply = await QueryFromAsync(server.Port, source, qname, type, tcp);
        Assert.True(reply is not null, $"{name}: no reply");
        Assert.True(reply.Rcode == DnsRcode.NoError && reply.Answers.Count == 1, $"{name}: {reply.Rcode}, {reply.Answers.Count} answers");
        Assert.True(expected == ((TxtRecord)reply.Answers[0]).Strings[0], $"{name}: answered by {((TxtRecord)reply.Answers[0]).Strings[0]}");
    }

    [Fact]
    public async Task Readme_split_dns_example_answers_by_source_address()
    {
        // The README's first example with 127.0.0.2/32 and 127.0.0.3/32 standing in for its two networks.
        const string corefile = ".:0 {\n  view example1 {\n    expr incidr(client_ip(), '127.0.0.2/32')\n  }\n  hosts {\n    1.1.1.1 test\n  }\n}\n\n"
            + ".:0 {\n  view example2 {\n    expr incidr(client_ip(), '127.0.0.3/32')\n  }\n  hosts {\n    2.2.2.2 test\n  }\n}\n\n"
            + ".:0 {\n  hosts {\n    3.3.3.3 test\n  }\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        foreach (var (source, address) in new[] { ("127.0.0.2", "1.1.1.1"), ("127.0.0.3", "2.2.2.2"), ("127.0.0.4", "3.3.3.3"), ("127.0.0.1", "3.3.3.3") })
        {
            var reply = await QueryFromAsync(server.Port, source, "test.", DnsType.A, tcp: false);
            Assert.True(reply is not null, $"from {source}: no reply");
            Assert.True(reply.Answers.Count == 1 && ((ARecord)reply.Answers[0]).Address.ToString() == address,
                $"from {source}: expected {address}, got {string.Join(", ", reply.Answers)}");
        }
    }

    [Fact]
    public async Task No_passing_view_and_no_fallback_is_refused()
    {
        await using var server = await TestDnsServer.StartAsync(Block(".:0", "only2", "incidr(client_ip(), '127.0.0.2/32')"));
        var refused = await QueryFromAsync(server.Port, "127.0.0.1", "test.", DnsType.A, tcp: false);
        Assert.Equal(DnsRcode.Refused, refused?.Rcode);
        var served = await QueryFromAsync(server.Port, "127.0.0.2", "test.", DnsType.A, tcp: false);
        Assert.Equal("only2", ((TxtRecord)served!.Answers[0]).Strings[0]);
    }

    public static TheoryData<string, bool> ExpressionCases() => new()
    {
        // expression, whether it passes for an A query for www.example.test. from 127.0.0.2 over UDP with EDNS 1232, DO set
        { "client_ip() == '127.0.0.2'", true },
        { "client_ip() != '127.0.0.2'", false },
        { "incidr(client_ip(), '127.0.0.0/8')", true },
        { "incidr(client_ip(), '10.0.0.0/8')", false },
        { "incidr(client_ip(), '::/0')", false },
        { "incidr('not-an-ip', '127.0.0.0/8') || true", false },
        { "true || incidr('not-an-ip', '127.0.0.0/8')", true },
        { "incidr(server_ip(), '127.0.0.1/32')", true },
        { "server_port() != '53'", true },
        { "type() == 'A'", true },
        { "type() == 'a'", false },
        { "class() == 'IN'", true },
        { "name() == 'www.example.test.'", true },
        { "name() startsWith 'www.'", true },
        { "name() contains 'example'", true },
        { "name() endsWith '.test.'", true },
        { "name() matches '^[a-z]+\\\\.example\\\\.test\\\\.$'", true },
        { "proto() == 'udp'", true },
        { "bufsize() == 1232", true },
        { "bufsize() > 512 && bufsize() <= 4096", true },
        { "size() > 12", true },
        { "opcode() == 0", true },
        { "id() == 4242", true },
        { "id() >= 0x1092", true },
        { "do()", true },
        { "!do()", false },
        { "not do()", false },
        { "do() == true", true },
        { "type() not in ['A', 'AAAA']", false },
        { "type() in []", false },
        { "(type() == 'MX' || type() == 'A') and class() == 'IN'", true },
        { "type() == 'MX' || type() == 'A' && false", false },
        { "'b' > 'a'", true },
        { "name()", false },
        { "1_000 == 1000", true },
    };

    [Theory]
    [MemberData(nameof(ExpressionCases))]
    public async Task Expressions_evaluate_as_in_coredns(string expression, bool passes)
    {
        var corefile = $".:0 {{\n    bind 127.0.0.1\n    view v {{\n        expr {expression}\n    }}\n    template ANY ANY {{\n        answer \"{{{{ .Name }}}} 60 IN TXT view\"\n    }}\n}}\n"
            + ".:0 {\n    bind 127.0.0.1\n    template ANY ANY {\n        answer \"{{ .Name }} 60 IN TXT fallback\"\n    }\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        var reply = await QueryFromAsync(server.Port, "127.0.0.2", "www.example.test.", DnsType.A, tcp: false, dnssecOk: true, id: 4242);
        Assert.True(reply is not null, $"{expression}: no reply");
        Assert.True((passes ? "view" : "fallback") == ((TxtRecord)reply.Answers[0]).Strings[0], $"{expression}: answered by {((TxtRecord)reply.Answers[0]).Strings[0]}");
    }

    [Fact]
    public async Task Several_expr_lines_must_all_hold_and_no_expr_always_matches()
    {
        var corefile = ".:0 {\n    view both {\n        expr type() == 'A'\n        expr incidr(client_ip(), '127.0.0.2/32')\n    }\n    template ANY ANY {\n        answer \"{{ .Name }} 60 IN TXT both\"\n    }\n}\n"
            + "example.org:0 {\n    view always\n    template ANY ANY {\n        answer \"{{ .Name }} 60 IN TXT always\"\n    }\n}\n"
            + Block(".:0", "fallback", null);
        await using var server = await TestDnsServer.StartAsync(corefile);
        Assert.Equal("both", await AnsweredByAsync(server.Port, "127.0.0.2", "x.", DnsType.A));
        Assert.Equal("fallback", await AnsweredByAsync(server.Port, "127.0.0.2", "x.", DnsType.AAAA));
        Assert.Equal("fallback", await AnsweredByAsync(server.Port, "127.0.0.3", "x.", DnsType.A));
        Assert.Equal("always", await AnsweredByAsync(server.Port, "127.0.0.3", "a.example.org.", DnsType.MX));
    }

    [Fact]
    public async Task Metrics_carry_the_view_label()
    {
        var corefile = ".:0 {\n    view internal {\n        expr incidr(client_ip(), '127.0.0.2/32')\n    }\n    prometheus 127.0.0.1:0\n    template ANY ANY {\n        answer \"{{ .Name }} 60 IN TXT internal\"\n    }\n}\n"
            + ".:0 {\n    prometheus 127.0.0.1:0\n    template ANY ANY {\n        answer \"{{ .Name }} 60 IN TXT fallback\"\n    }\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        var port = PluginTestSupport.HttpPort(server, "127.0.0.1:0");
        var before = await Exposition.ScrapeAsync(port);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("internal", await AnsweredByAsync(server.Port, "127.0.0.2", "m.", DnsType.A));
        }
        Assert.Equal("fallback", await AnsweredByAsync(server.Port, "127.0.0.3", "m.", DnsType.A));
        var after = await Exposition.ScrapeAsync(port);
        double Delta(string metric, string view) => after.Sum(metric, ("view", view)) - before.Sum(metric, ("view", view));
        Assert.Equal(3, Delta("coredns_dns_requests_total", "internal"));
        Assert.Equal(1, Delta("coredns_dns_requests_total", ""));
        Assert.Equal(3, Delta("coredns_dns_responses_total", "internal"));
        Assert.Equal(3, Delta("coredns_dns_request_duration_seconds_count", "internal"));
        Assert.Contains(after.Find("coredns_plugin_enabled", ("view", "internal"), ("name", "view")), s => s.Value == 1);
        Assert.Contains(after.Find("coredns_plugin_enabled", ("view", ""), ("name", "template")), s => s.Value == 1);
    }

    private static async Task<string> AnsweredByAsync(int port, string source, string name, DnsType type)
    {
        var reply = await QueryFromAsync(port, source, name, type, tcp: false);
        Assert.True(reply is not null && reply.Answers.Count == 1, $"{source} {name} {type}: {reply?.Rcode.ToString() ?? "no reply"}");
        return ((TxtRecord)reply!.Answers[0]).Strings[0];
    }

    /// <summary>One query to 127.0.0.1:<paramref name="port"/> from a socket bound to <paramref name="source"/>.</summary>
    internal static async Task<DnsMessage?> QueryFromAsync(int port, string source, string name, DnsType type, bool tcp,
        bool dnssecOk = false, ushort id = 4242)
    {
        var query = DnsMessage.CreateQuery(name, type, id: id, ednsSize: 1232, dnssecOk: dnssecOk).ToArray();
        var server = new IPEndPoint(IPAddress.Loopback, port);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        if (tcp)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
            await client.ConnectAsync(server, cts.Token);
            await using var stream = new NetworkStream(client);
            var framed = new byte[query.Length + 2];
            framed[0] = (byte)(query.Length >> 8);
            framed[1] = (byte)query.Length;
            query.CopyTo(framed, 2);
            await stream.WriteAsync(framed, cts.Token);
            var bytes = await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(10));
            return bytes is null ? null : DnsMessage.Parse(bytes);
        }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        var buffer = new byte[65535];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            await socket.SendToAsync(query, SocketFlags.None, server);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token);
                return DnsMessage.Parse(buffer.AsSpan(0, result.ReceivedBytes));
            }
            catch (OperationCanceledException)
            {
                // retry: a loaded machine may drop a datagram
            }
        }
        return null;
    }
}
