using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using DnsClient;

namespace ClusterDns.Tests.Server;

/// <summary>EDNS0 echo, BADVERS, and truncation of large replies to the client's limit (CoreDNS's scrub).</summary>
public sealed class EdnsTruncationTests
{
    private const int Records = 100;

    private static Task<TestDnsServer> StartLargeAsync() =>
        TestDnsServer.StartAsync(".:0 {\n    file\n}\n",
            plugins: TestPlugins.With(new PluginDescriptor("file", _ => [new ManyAPlugin(Records)])));

    [Theory]
    [InlineData("dig", "+dnssec", "do", "1232")]
    [InlineData("dig", "+bufsize=4096", "", "4096")]
    [InlineData("kdig", "+dnssec", "do", "1232")]
    [InlineData("kdig", "+bufsize=2048", "", "2048")]
    public async Task Opt_record_and_do_bit_are_echoed(string tool, string option, string flags, string size)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\n");
        string[] args = ["example.org.", "A", option, .. tool == "kdig" && option == "+dnssec" ? ["+bufsize=1232"] : Array.Empty<string>()];
        var output = tool == "dig" ? await ServerTestKit.DigAsync(server.Port, args) : await ServerTestKit.KdigAsync(server.Port, args);
        Assert.Equal("NOERROR", output.Status);
        var edns = output.EdnsLine;
        Assert.NotNull(edns);
        Assert.Contains("ersion: 0", edns, StringComparison.Ordinal);
        if (flags == "do")
        {
            Assert.Matches(@"flags: do\b", edns);
        }
        else
        {
            Assert.DoesNotMatch(@"flags: do\b", edns);
        }
        Assert.Contains(size, edns, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_opt_in_the_reply_without_edns_in_the_query()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\n");
        var output = await ServerTestKit.DigAsync(server.Port, "example.org.", "A", "+noedns");
        Assert.Equal("NOERROR", output.Status);
        Assert.Null(output.EdnsLine);
        Assert.DoesNotContain("OPT PSEUDOSECTION", output.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dig", "+edns=1")]
    [InlineData("kdig", "+edns=1")]
    public async Task Edns_version_1_gets_badvers(string tool, string option)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\n");
        var output = tool == "dig"
            ? await ServerTestKit.DigAsync(server.Port, "example.org.", "A", option, "+noednsnegotiation")
            : await ServerTestKit.KdigAsync(server.Port, "example.org.", "A", option);
        Assert.Equal("BADVERS", output.Status);
        Assert.Empty(output.Answers);
        Assert.Empty(output.Additionals); // whoami never ran
        Assert.NotNull(output.EdnsLine);
        Assert.Contains("ersion: 0", output.EdnsLine, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 512)]
    [InlineData((ushort)1232, 1232)]
    [InlineData((ushort)100, 512)] // below 512 counts as 512
    public async Task Large_udp_reply_is_truncated_to_whole_records_within_the_client_limit(ushort? ednsSize, int limit)
    {
        await using var server = await StartLargeAsync();
        var query = DnsMessage.CreateQuery("big.example.", DnsType.A, id: 4242, ednsSize: ednsSize).ToArray();
        var raw = await server.ExchangeUdpAsync(query);
        Assert.NotNull(raw);
        Assert.InRange(raw.Length, 12, limit);
        var reply = DnsMessage.Parse(raw); // parses completely: no partial record at the end
        Assert.True(reply.Header.Truncated);
        Assert.Equal(4242, reply.Header.Id);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.InRange(reply.Answers.Count, 1, Records - 1);
        Assert.Equal(reply.Header.AnswerCount, reply.Answers.Count);
        // As many whole records as fit: one more would not.
        Assert.True(raw.Length + 16 > limit, $"{raw.Length} octets with {reply.Answers.Count} answers leaves room for another");
        Assert.Equal(ednsSize is not null, reply.Opt is not null);
    }

    [Fact]
    public async Task Large_reply_over_tcp_is_complete()
    {
        await using var server = await StartLargeAsync();
        var reply = await server.QueryAsync("big.example.", DnsType.A, tcp: true, ednsSize: null);
        Assert.False(reply.Header.Truncated);
        Assert.Equal(Records, reply.Answers.Count);
    }

    [Theory]
    [InlineData("+noedns")]
    [InlineData("+bufsize=1232")]
    public async Task Dig_sees_tc_within_its_limit_then_retries_over_tcp_for_everything(string option)
    {
        await using var server = await StartLargeAsync();
        var truncated = await ServerTestKit.DigAsync(server.Port, "big.example.", "A", option, "+ignore");
        Assert.Contains("tc", truncated.Flags);
        Assert.InRange(truncated.ReceivedSize ?? int.MaxValue, 1, option == "+noedns" ? 512 : 1232);
        Assert.InRange(truncated.Answers.Count, 1, Records - 1);

        var full = await ServerTestKit.DigAsync(server.Port, "big.example.", "A", option);
        Assert.Contains("Truncated, retrying in TCP mode", full.Text, StringComparison.Ordinal);
        Assert.Contains("(TCP)", full.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("tc", full.Flags);
        Assert.Equal(Records, full.Answers.Count);
        Assert.Equal(Records, full.Answers.Distinct().Count());
    }

    [Fact]
    public async Task Kdig_retries_over_tcp_for_everything()
    {
        await using var server = await StartLargeAsync();
        var full = await ServerTestKit.KdigAsync(server.Port, "big.example.", "A");
        Assert.Contains("(TCP)", full.Text, StringComparison.Ordinal);
        Assert.Equal(Records, full.Answers.Count);
    }

    [Fact]
    public async Task DnsClient_falls_back_to_tcp_for_the_full_answer()
    {
        await using var server = await StartLargeAsync();
        var client = ServerTestKit.Lookup(server.Port);
        var response = await client.QueryAsync("big.example", QueryType.A);
        Assert.False(response.HasError, response.ErrorMessage);
        Assert.False(response.Header.ResultTruncated);
        Assert.Equal(Records, response.Answers.ARecords().Count());
    }

    [Theory]
    [InlineData(null, 512)]
    [InlineData((ushort)1232, 1232)]
    public async Task Raw_reply_from_a_plugin_is_truncated_to_the_client_limit_too(ushort? ednsSize, int limit)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    cache\n}\n",
            plugins: TestPlugins.With(new PluginDescriptor("cache", _ => [new RawBytesPlugin()])));
        var query = DnsMessage.CreateQuery("big.example.", DnsType.A, id: 31, ednsSize: ednsSize).ToArray();
        var raw = await server.ExchangeUdpAsync(query);
        Assert.NotNull(raw);
        Assert.InRange(raw.Length, 12, limit);
        var reply = DnsMessage.Parse(raw);
        Assert.True(reply.Header.Truncated);
        Assert.Equal(31, reply.Header.Id);
        Assert.InRange(reply.Answers.Count, 1, 99);
        Assert.Equal(ednsSize is not null, reply.Opt is not null);
        var tcp = await server.QueryAsync("big.example.", DnsType.A, tcp: true);
        Assert.Equal(100, tcp.Answers.Count);
        Assert.False(tcp.Header.Truncated);
    }
}
