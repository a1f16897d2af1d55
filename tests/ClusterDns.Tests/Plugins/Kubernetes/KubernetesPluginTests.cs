using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Kubernetes;

public sealed class KubernetesPluginTests
{
    private static async Task<(DnsMessage? Reply, RecordingNext Next, DnsResult Result)> Ask(KubernetesPlugin plugin, string name, DnsType type,
        ushort? edns = null)
    {
        var next = new RecordingNext();
        plugin.Next = next;
        var request = new DnsRequest();
        request.Load(DnsMessage.CreateQuery(name, type, ednsSize: edns).ToArray(), DnsTransport.Udp);
        var result = await plugin.ServeAsync(request, CancellationToken.None);
        return (request.Response.Written ? request.Response.ReadMessage() : null, next, result);
    }

    private static KubernetesPlugin Plugin(StaticClusterSource source, Func<DnsName, DnsType, CancellationToken, ValueTask<DnsMessage?>>? upstream = null) =>
        new(F1Fixture.ParseOptions(F1Fixture.ProfileText("P0")), [F1Fixture.ServerAddress], upstream: upstream, source: source);

    [Fact]
    public async Task Out_of_zone_goes_to_next()
    {
        var (reply, next, _) = await Ask(Plugin(new StaticClusterSource(F1Fixture.Build(), true)), "www.example.com.", DnsType.A);
        Assert.Null(reply);
        Assert.Equal(1, next.Calls);
    }

    [Fact]
    public async Task Edns_is_echoed()
    {
        var (reply, _, _) = await Ask(Plugin(new StaticClusterSource(F1Fixture.Build(), true)), "web.ns1.svc.cluster.local.", DnsType.A, edns: 1232);
        Assert.NotNull(reply!.Opt);
        Assert.Single(reply.Answers);
    }

    [Fact]
    public async Task Change_event_rebuilds_the_index()
    {
        var source = new StaticClusterSource(F1Fixture.Build(), true);
        var plugin = Plugin(source);
        Assert.Equal(DnsRcode.NoError, (await Ask(plugin, "web.ns1.svc.cluster.local.", DnsType.A)).Reply!.Rcode);
        source.Publish(source.Current.WithoutService("ns1", "web").WithSerial(1700000100));
        var (reply, _, _) = await Ask(plugin, "web.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, reply!.Rcode);
        Assert.Equal(1700000100u, ((SoaRecord)reply.Authorities[0]).Serial);
    }

    [Fact]
    public async Task Sync_after_start_stops_servfail()
    {
        var source = new StaticClusterSource(ClusterState.Empty, false);
        var plugin = Plugin(source);
        Assert.False(plugin.IsReady);
        Assert.Equal(DnsRcode.ServFail, (await Ask(plugin, "web.ns1.svc.cluster.local.", DnsType.A)).Reply!.Rcode);
        source.HasSynced = true;
        Assert.True(plugin.IsReady);
        Assert.Equal(DnsRcode.NXDomain, (await Ask(plugin, "web.ns1.svc.cluster.local.", DnsType.A)).Reply!.Rcode);
    }

    [Fact]
    public async Task StartAsync_gives_up_after_startup_timeout()
    {
        var options = F1Fixture.ParseOptions("kubernetes cluster.local {\n startup_timeout 300ms\n}");
        var source = new StaticClusterSource(ClusterState.Empty, false);
        var plugin = new KubernetesPlugin(options, [F1Fixture.ServerAddress], source: source);
        var started = DateTime.UtcNow;
        await plugin.StartAsync(CancellationToken.None);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.False(plugin.IsReady);
        await plugin.StopAsync();
    }

    [Fact]
    public async Task No_upstream_reply_means_no_data()
    {
        var plugin = Plugin(new StaticClusterSource(F1Fixture.Build(), true), (_, _, _) => ValueTask.FromResult<DnsMessage?>(null));
        var (reply, _, _) = await Ask(plugin, "ext.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, reply!.Rcode);
        Assert.Empty(reply.Answers);
        Assert.IsType<SoaRecord>(Assert.Single(reply.Authorities));
    }

    [Fact]
    public async Task Upstream_truncation_is_copied()
    {
        var plugin = Plugin(new StaticClusterSource(F1Fixture.Build(), true), (n, t, _) =>
        {
            var m = new DnsMessage();
            m.Header.Truncated = true;
            return ValueTask.FromResult<DnsMessage?>(m);
        });
        var (reply, _, _) = await Ask(plugin, "ext.ns1.svc.cluster.local.", DnsType.A);
        Assert.True(reply!.Header.Truncated);
        Assert.IsType<CnameRecord>(Assert.Single(reply.Answers));
    }

    [Theory]
    [InlineData("1-2-3-4", "1.2.3.4")]
    [InlineData("fd00--1", "fd00::1")]
    [InlineData("2001-db8--0", "2001:db8::")]
    [InlineData("01-2-3-4", null)]
    [InlineData("1-2-3-256", null)]
    [InlineData("1--2-3", "1::2:3")]
    [InlineData("blah", null)]
    [InlineData("1", null)]
    public void Pod_labels_decode_to_addresses(string label, string? ip) =>
        Assert.Equal(ip, KubernetesName.DecodePodLabel(System.Text.Encoding.ASCII.GetBytes(label))?.ToString());

    [Theory]
    [InlineData("10.244.2.3", null, null, false, "10-244-2-3")]
    [InlineData("fd00:244::2:1", null, null, false, "fd00-244--2-1")]
    [InlineData("2001:db8::", null, null, false, "2001-db8--0")]
    [InlineData("10.244.2.3", "Web-0", "pod", true, "web-0")]
    [InlineData("10.244.2.3", null, "pod-a", true, "pod-a")]
    [InlineData("10.244.2.3", null, "pod-a", false, "10-244-2-3")]
    public void Endpoint_names(string address, string? host, string? pod, bool podNames, string expected) =>
        Assert.Equal(expected, KubernetesIndex.EndpointName(new EndpointInfo([address], host, pod, null, true, null), address, podNames));
}
