using ClusterDns.Plugins.Cache;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.ForwardTestSupport;

namespace ClusterDns.Tests.Plugins.Cache;

public sealed class CacheSetupTests
{
    private static async Task<string> Error(string block)
    {
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => TestDnsServer.StartAsync($".:0 {{\n    {block}\n    whoami\n}}\n"));
        return exception.Message;
    }

    [Theory]
    [InlineData("cache 0", "plugin/cache: cache TTL can not be zero or negative: 0")]
    [InlineData("cache -5", "cache TTL can not be zero or negative: -5")]
    [InlineData("cache {\n        success 100 0\n    }", "cache TTL can not be zero or negative: 0")]
    [InlineData("cache {\n        denial 100 10 -1\n    }", "cache min TTL can not be negative: -1")]
    [InlineData("cache {\n        success many\n    }", "strconv.Atoi: parsing \"many\": invalid syntax")]
    [InlineData("cache {\n        prefetch 2 1m 5%\n    }", "percentage should fall in range [10, 90]: 5")]
    [InlineData("cache {\n        prefetch 2 1m 50\n    }", "last character of percentage should be `%`")]
    [InlineData("cache {\n        serve_stale 1h sometimes\n    }", "invalid value for serve_stale refresh mode: sometimes")]
    [InlineData("cache {\n        servfail 10m\n    }", "caching SERVFAIL responses over 5 minutes is not permitted")]
    [InlineData("cache {\n        disable everything\n    }", "cache type for disable must be \"success\" or \"denial\"")]
    [InlineData("cache {\n        keepttl now\n    }", "Wrong argument count")]
    [InlineData("cache {\n        bogus\n    }", "Wrong argument count or unexpected line ending after 'bogus'")]
    [InlineData("cache\n    cache", "this plugin can only be used once per Server Block")]
    public async Task Reports_coredns_errors(string block, string expected)
    {
        Assert.Contains(expected, await Error(block));
    }

    [Fact]
    public async Task Kubeadm_cache_block_parses()
    {
        await using var server = await TestDnsServer.StartAsync(
            ".:0 {\n    cache 30 {\n        disable success cluster.local\n        disable denial cluster.local\n    }\n    whoami\n}\n");
        var options = Plugin<CachePlugin>(server).Options;
        Assert.Equal(TimeSpan.FromSeconds(30), options.SuccessMaxTtl);
        Assert.Equal(TimeSpan.FromSeconds(30), options.DenialMaxTtl);
        Assert.Equal(["cluster.local."], options.SuccessExcept);
        Assert.Equal(["cluster.local."], options.DenialExcept);
        Assert.Equal(["."], options.Zones);
    }

    [Fact]
    public async Task Parses_every_property()
    {
        await using var server = await TestDnsServer.StartAsync(
            ".:0 {\n    cache 600 example.org 10.0.0.0/8 {\n        success 5000 300 10\n        denial 2500 60 2\n        prefetch 3 2m 20%\n" +
            "        serve_stale 30m verify\n        servfail 2s\n        disable denial\n        keepttl\n    }\n    whoami\n}\n");
        var cache = Plugin<CachePlugin>(server);
        var o = cache.Options;
        Assert.Equal(["example.org.", "10.in-addr.arpa."], o.Zones);
        Assert.Equal("example.org.,10.in-addr.arpa.", cache.Zones);
        Assert.Equal((5000, 2500), (o.SuccessCapacity, o.DenialCapacity));
        Assert.Equal(TimeSpan.FromSeconds(300), o.SuccessMaxTtl);
        Assert.Equal(TimeSpan.FromSeconds(10), o.SuccessMinTtl);
        Assert.Equal(TimeSpan.FromSeconds(60), o.DenialMaxTtl);
        Assert.Equal(TimeSpan.FromSeconds(2), o.DenialMinTtl);
        Assert.Equal((3, TimeSpan.FromMinutes(2), 20), (o.Prefetch, o.PrefetchDuration, o.PrefetchPercentage));
        Assert.Equal(TimeSpan.FromMinutes(30), o.StaleUpTo);
        Assert.True(o.VerifyStale);
        Assert.Equal(TimeSpan.FromSeconds(2), o.ServFailTtl);
        Assert.Equal(o.Zones, o.DenialExcept);
        Assert.True(o.KeepTtl);
        Assert.Equal(256 * 19, cache.SuccessStore.Capacity);
    }

    [Fact]
    public async Task Defaults_match_coredns()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    cache\n    whoami\n}\n");
        var cache = Plugin<CachePlugin>(server);
        var o = cache.Options;
        Assert.Equal(TimeSpan.FromHours(1), o.SuccessMaxTtl);
        Assert.Equal(TimeSpan.FromMinutes(30), o.DenialMaxTtl);
        Assert.Equal(TimeSpan.FromSeconds(5), o.SuccessMinTtl);
        Assert.Equal(TimeSpan.FromSeconds(5), o.ServFailTtl);
        Assert.Equal(9984, cache.SuccessStore.Capacity);
        Assert.Equal(9984, cache.DenialStore.Capacity);
    }

    [Fact]
    public async Task Kubeadm_corefile_shape_caches_forwarded_answers()
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.50", ttl: 300);
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    cache 30 {{\n        disable success cluster.local\n        disable denial cluster.local\n    }}\n" +
            $"    forward . {upstream.Address} {{\n        max_concurrent 1000\n    }}\n}}\n");
        var first = await Query(server, "www.example.org.");
        Assert.Equal(30u, first.Answers[0].Ttl);
        Assert.False(first.Header.Authoritative);
        var second = await Query(server, "WWW.example.org.");
        Assert.True(second.Header.Authoritative);
        Assert.Equal("WWW.example.org.", second.Question!.Name.ToString());
        Assert.InRange(second.Answers[0].Ttl, 29u, 30u);
        var tcp = await Query(server, "www.example.org.", tcp: true);
        Assert.Single(tcp.Answers);
        Assert.Equal(1, upstream.Queries);
        await Query(server, "kubernetes.default.svc.cluster.local.");
        await Query(server, "kubernetes.default.svc.cluster.local.");
        Assert.Equal(3, upstream.Queries);
    }
}
