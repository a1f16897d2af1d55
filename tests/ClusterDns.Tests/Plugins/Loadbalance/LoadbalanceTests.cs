using ClusterDns.Plugins.Loadbalance;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Loadbalance;

public sealed class LoadbalanceTests
{
    private static readonly string[] TenAddresses = Enumerable.Range(1, 10).Select(i => $"@ 30 IN A 10.0.0.{i}").ToArray();

    [Fact]
    public async Task Address_records_are_shuffled_and_complete()
    {
        var plugins = TestPlugins.With(TestPlugins.Answering("erratic", _ => TestPlugins.Records(TenAddresses)));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    loadbalance\n    erratic\n}\n", plugins: plugins);
        var orders = new HashSet<string>();
        for (var i = 0; i < 20; i++)
        {
            var reply = await server.QueryAsync("web.example.", DnsType.A);
            var addresses = reply.Answers.Cast<ARecord>().Select(a => a.Address.ToString()).ToList();
            Assert.Equal(Enumerable.Range(1, 10).Select(n => $"10.0.0.{n}").Order(), addresses.Order());
            Assert.All(reply.Answers, a => Assert.Equal("web.example.", a.Name.ToString()));
            orders.Add(string.Join(',', addresses));
        }
        Assert.True(orders.Count > 1, "20 replies came back in the same order");
    }

    [Fact]
    public async Task Cname_stays_first_in_mixed_answers()
    {
        var plugins = TestPlugins.With(TestPlugins.Answering("erratic", _ => TestPlugins.Records(
            "@ 30 IN A 10.0.0.1", "@ 30 IN CNAME target.example.", "@ 30 IN TXT \"x\"", "@ 30 IN A 10.0.0.2", "@ 30 IN MX 10 mail.example.")));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    loadbalance\n    erratic\n}\n", plugins: plugins);
        for (var i = 0; i < 5; i++)
        {
            var reply = await server.QueryAsync("web.example.", DnsType.A);
            Assert.Equal([DnsType.CNAME, DnsType.TXT, DnsType.A, DnsType.A, DnsType.MX], reply.Answers.Select(a => a.Type));
        }
    }

    [Theory]
    [InlineData("loadbalance\n", null)]
    [InlineData("loadbalance round_robin\n", null)]
    [InlineData("loadbalance random\n", "unknown policy: random")]
    [InlineData("loadbalance round_robin extra\n", "Wrong argument count")]
    public async Task Setup_accepts_and_rejects(string line, string? error)
    {
        var corefile = ".:0 {\n    " + line + "    whoami\n}\n";
        if (error is null)
        {
            await using var server = await TestDnsServer.StartAsync(corefile);
            Assert.Equal(DnsRcode.NoError, (await server.QueryAsync("a.example.", DnsType.A)).Rcode);
        }
        else
        {
            var exception = await Assert.ThrowsAsync<ClusterDns.Server.ConfigException>(() => TestDnsServer.StartAsync(corefile));
            Assert.StartsWith("plugin/loadbalance: ", exception.Message);
            Assert.Contains(error, exception.Message);
        }
    }

    [Fact]
    public void In_place_shuffle_keeps_the_message_parseable()
    {
        var query = DnsMessage.CreateQuery("hl.ns1.svc.cluster.local.", DnsType.A);
        var reply = DnsMessage.CreateReply(query);
        for (var i = 1; i <= 5; i++)
        {
            reply.Answers.Add(ZoneText.ParseRecord($"hl.ns1.svc.cluster.local. 5 IN A 10.244.2.{i}"));
        }
        var bytes = reply.ToArray();
        Assert.True(LoadbalancePlugin.ShuffleInPlace(bytes));
        var parsed = DnsMessage.Parse(bytes);
        Assert.Equal(reply.Answers.OrderBy(a => a.ToString()), parsed.Answers.OrderBy(a => a.ToString()));
    }
}
