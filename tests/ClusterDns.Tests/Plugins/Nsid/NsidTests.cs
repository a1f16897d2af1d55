using System.Text;
using ClusterDns.Protocol;
using ClusterDns.Tests.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Nsid;

public sealed class NsidTests
{
    private static string Host => System.Net.Dns.GetHostName();

    public static TheoryData<string, string> Cases() => new()
    {
        // directive, expected NSID text
        { "nsid", "<host>" },
        { "nsid \"ps0\"", "ps0" },
        { "nsid worker1", "worker1" },
        { "nsid \"tf 2\"", "tf 2" },
        { "nsid Use The Force", "Use The Force" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Replies_carry_the_nsid_when_asked(string directive, string expected)
    {
        expected = expected == "<host>" ? Host : expected;
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directive}\n    whoami\n}}\n");
        var dig = await ServerTestKit.DigAsync(server.Port, "+nsid", "example.org", "A");
        var hex = string.Join(' ', Encoding.UTF8.GetBytes(expected).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains($"; NSID: {hex} (\"{expected}\")", dig.Text);
        Assert.Equal("NOERROR", dig.Status);
        Assert.Equal(2, dig.Additionals.Count); // whoami's A and SRV are still there
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Nsid_is_added_only_when_the_query_has_the_option(bool ask, bool dnssecOk)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    nsid NSID\n    whoami\n}\n");
        var options = ask ? new[] { new EdnsOption(3, []) } : [];
        var query = DnsMessage.CreateQuery("example.org.", DnsType.A, id: 9);
        query.Additionals.Add(OptRecord.Create(4096, dnssecOk, options: options));
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query.ToArray()))!);
        var opt = reply.Opt;
        Assert.NotNull(opt);
        Assert.Equal(dnssecOk, opt.DnssecOk);
        if (ask)
        {
            var option = Assert.Single(opt.Options);
            Assert.Equal(3, option.Code);
            Assert.Equal("NSID"u8.ToArray(), option.Data);
        }
        else
        {
            Assert.Empty(opt.Options);
        }
    }

    [Fact]
    public async Task Nsid_reaches_cached_replies_too()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    nsid NSID\n    cache\n    whoami\n}\n");
        for (var i = 0; i < 2; i++)
        {
            var dig = await ServerTestKit.DigAsync(server.Port, "+nsid", "example.org", "A");
            Assert.Contains("; NSID: 4e 53 49 44 (\"NSID\")", dig.Text);
        }
    }

    [Fact]
    public async Task Tcp_replies_carry_it_too()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    nsid NSID\n    whoami\n}\n");
        var dig = await ServerTestKit.DigAsync(server.Port, "+tcp", "+nsid", "example.org", "A");
        Assert.Contains("; NSID: 4e 53 49 44 (\"NSID\")", dig.Text);
    }

    [Fact]
    public async Task Setup_allows_one_per_block_as_CoreDNS()
    {
        Assert.Equal("plugin/nsid: this plugin can only be used once per Server Block",
            await SetupErrorAsync(".:0 {\n    nsid\n    nsid\n    whoami\n}\n"));
    }
}
