using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>The precompiled-reply fast path: a repeated question is answered from stored bytes, patched per query.</summary>
public sealed class AnswerCacheTests
{
    private static async Task<DnsRequest> ServeAsync(ClusterDns.Plugins.Kubernetes.KubernetesPlugin plugin, DnsMessage query)
    {
        var request = new DnsRequest();
        request.Load(query.ToArray(), DnsTransport.Udp);
        await plugin.ServeAsync(request, CancellationToken.None);
        Assert.True(request.Response.Written);
        return request;
    }

    [Theory]
    [InlineData("web.ns1.svc.cluster.local.", DnsType.A)]
    [InlineData("hl.ns1.svc.cluster.local.", DnsType.SRV)]
    [InlineData("nope.ns1.svc.cluster.local.", DnsType.A)]
    [InlineData("WeB.Ns1.SVC.Cluster.Local.", DnsType.A)]
    public async Task Second_query_is_served_from_compiled_bytes_with_its_own_id_flags_and_opt(string name, DnsType type)
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        var first = await ServeAsync(plugin, DnsMessage.CreateQuery(name, type, id: 1, recursionDesired: true));
        Assert.Equal(1, plugin.Resolver.Answers.Count);
        var query = DnsMessage.CreateQuery(name, type, id: 4242, recursionDesired: false, ednsSize: 1232, dnssecOk: true);
        query.Header.CheckingDisabled = true;
        var second = await ServeAsync(plugin, query);
        Assert.Equal(1, plugin.Resolver.Answers.Count);

        var a = first.Response.ReadMessage();
        var b = second.Response.ReadMessage();
        Assert.Equal(4242, b.Header.Id);
        Assert.False(b.Header.RecursionDesired);
        Assert.True(b.Header.CheckingDisabled);
        Assert.True(b.Header.Authoritative);
        Assert.Equal(a.Rcode, b.Rcode);
        Assert.Equal(a.Answers, b.Answers);
        Assert.Equal(a.Authorities, b.Authorities);
        var opt = Assert.IsType<OptRecord>(b.Additionals[^1]);
        Assert.True(opt.DnssecOk);
        Assert.Equal(1232, opt.UdpPayloadSize);
        Assert.Equal(a.Additionals, b.Additionals.Take(b.Additionals.Count - 1));
        Assert.Equal(name, b.Questions[0].Name.ToString());
    }

    [Fact]
    public async Task Different_case_is_a_different_entry_and_echoes_its_case()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        await ServeAsync(plugin, DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A));
        var upper = await ServeAsync(plugin, DnsMessage.CreateQuery("WEB.ns1.svc.cluster.local.", DnsType.A));
        Assert.Equal(2, plugin.Resolver.Answers.Count);
        Assert.Equal("WEB.ns1.svc.cluster.local.", upper.Response.ReadMessage().Answers[0].Name.ToString());
    }

    [Fact]
    public async Task Too_large_for_the_client_falls_back_to_truncation()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        var big = await ServeAsync(plugin, DnsMessage.CreateQuery("_http._tcp.hl.ns1.svc.cluster.local.", DnsType.SRV, ednsSize: 4096));
        Assert.False(big.Response.ReadMessage().Header.Truncated);
        var small = new DnsRequest();
        var raw = DnsMessage.CreateQuery("_http._tcp.hl.ns1.svc.cluster.local.", DnsType.SRV).ToArray();
        small.Load(raw, DnsTransport.Udp);
        await plugin.ServeAsync(small, CancellationToken.None);
        Assert.True(small.Response.Length <= 512);
    }

    [Fact]
    public async Task Class_is_part_of_the_question_that_is_echoed()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        var chaos = DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A);
        chaos.Questions[0] = chaos.Questions[0] with { Class = DnsClass.CH };
        await ServeAsync(plugin, chaos);
        var internet = await ServeAsync(plugin, DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A));
        Assert.Equal(DnsClass.IN, internet.Response.ReadMessage().Questions[0].Class);
    }
}
