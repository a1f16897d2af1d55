using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Bufsize;

public sealed class BufsizeTests
{
    // Answers TXT with the UDP size the query carries when it reaches the end of the chain (what forward would send),
    // plus enough padding records to exceed 1232 octets when "big" is asked.
    private static readonly IReadOnlyDictionary<string, PluginDescriptor> Plugins = TestPlugins.With(TestPlugins.Answering("erratic", _ => request =>
    {
        var reply = request.CreateReply();
        var seen = request.Message.Opt is { } opt ? opt.UdpPayloadSize.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";
        reply.Answers.Add(new TxtRecord([seen]) { Name = request.QuestionName, Ttl = 0 });
        if (request.Name.StartsWith("big.", StringComparison.Ordinal))
        {
            for (var i = 0; i < 30; i++)
            {
                reply.Answers.Add(new TxtRecord([new string('x', 60)]) { Name = request.QuestionName, Ttl = 0 });
            }
        }
        return reply;
    }));

    public static TheoryData<string, ushort?, string, int?> SizeCases() => new()
    {
        // directive, client's EDNS size (null = no OPT), size the chain sees, size the reply advertises
        { "bufsize", 4096, "1232", 1232 },
        { "bufsize", 1232, "1232", 1232 },
        { "bufsize", 1000, "1000", 1000 },
        { "bufsize 1024", 1152, "1024", 1024 },
        { "bufsize 1024", 896, "896", 896 },
        { "bufsize 512", 4096, "512", 512 },
        { "bufsize 4096", 4096, "4096", 4096 },
        { "bufsize 1024", null, "none", null },
    };

    [Theory]
    [MemberData(nameof(SizeCases))]
    public async Task Lowers_the_request_size_never_raises_it(string directive, ushort? clientSize, string seen, int? advertised)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directive}\n    erratic\n}}\n", plugins: Plugins);
        var reply = await server.QueryAsync("example.org.", DnsType.TXT, ednsSize: clientSize);
        var label = $"{directive} / client {clientSize?.ToString() ?? "no EDNS"}";
        Assert.True(seen == ((TxtRecord)reply.Answers[0]).Strings[0], $"{label}: chain saw {((TxtRecord)reply.Answers[0]).Strings[0]}");
        Assert.True(advertised == reply.Opt?.UdpPayloadSize, $"{label}: reply advertised {reply.Opt?.UdpPayloadSize}");
    }

    [Theory]
    [InlineData(".:0 {\n    bufsize\n    erratic\n}\n", true)]
    [InlineData(".:0 {\n    erratic\n}\n", false)]
    public async Task Udp_replies_are_truncated_to_the_lowered_size(string corefile, bool truncated)
    {
        await using var server = await TestDnsServer.StartAsync(corefile, plugins: Plugins);
        var query = DnsMessage.CreateQuery("big.example.org.", DnsType.TXT, id: 7, ednsSize: 4096).ToArray();
        var bytes = await server.ExchangeUdpAsync(query);
        Assert.NotNull(bytes);
        var reply = DnsMessage.Parse(bytes);
        Assert.Equal(truncated, reply.Header.Truncated);
        Assert.True(truncated ? bytes.Length <= 1232 : bytes.Length > 1232, $"reply of {bytes.Length} octets");
        // TCP is never limited by bufsize.
        var tcp = DnsMessage.Parse((await TestDnsServer.ExchangeTcpAsync(server.Endpoint, query))!);
        Assert.False(tcp.Header.Truncated);
        Assert.Equal(31, tcp.Answers.Count);
    }

    [Fact]
    public async Task Dig_sees_the_capped_size_in_the_reply()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    bufsize 1100\n    whoami\n}\n");
        var dig = await ServerTestKit.DigAsync(server.Port, "+bufsize=4096", "example.org", "A");
        Assert.Contains("udp: 1100", dig.EdnsLine);
    }

    [Theory]
    [InlineData("bufsize 5000", "plugin/bufsize: plugin/bufsize: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '5000'")]
    [InlineData("bufsize 511", "plugin/bufsize: plugin/bufsize: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '511'")]
    [InlineData("bufsize 512 512", "plugin/bufsize: plugin/bufsize: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '512'")]
    [InlineData("bufsize abc123", "plugin/bufsize: plugin/bufsize: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'abc123'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Theory]
    [InlineData("bufsize", 1232)]
    [InlineData("bufsize 1220", 1220)]
    [InlineData("bufsize 512", 512)]
    [InlineData("bufsize 4096", 4096)]
    [InlineData("bufsize 1000\n    bufsize 2000", 1000)]
    public void Setup_reads_the_size(string directive, int expected)
    {
        var config = Build($".:0 {{\n    {directive}\n    whoami\n}}\n");
        var plugin = config.Blocks[0].Plugins.OfType<ClusterDns.Plugins.Bufsize.BufsizePlugin>().Single();
        Assert.Equal(expected, plugin.Size);
    }
}
