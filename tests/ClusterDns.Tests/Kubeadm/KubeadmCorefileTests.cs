using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubeadm;

/// <summary>
/// The kubeadm Corefile (corefile.md E1) end to end: cluster names from the (test) API server, everything else
/// forwarded to a real dnsmasq, cached, shuffled, with metrics, health, readiness, reload and lameduck observed from
/// outside over real sockets. In the "Prometheus" collection: the registry is process-wide.
/// </summary>
[Collection("Prometheus")]
public sealed class KubeadmCorefileTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private sealed class Stack : IAsyncDisposable
    {
        public required DnsmasqUpstream Upstream { get; init; }

        public required TestApiServer Api { get; init; }

        public required TestDnsServer Server { get; init; }

        public required string ForwardTarget { get; init; }

        public required string Directory { get; init; }

        public int HttpPort => KubeadmStack.HttpPort(Server);

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Api.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }

    private static async Task<Stack> StartAsync(int ttl = 30)
    {
        var upstream = await DnsmasqUpstream.StartAsync();
        var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        var directory = KubeadmStack.NewDirectory();
        var target = KubeadmStack.ForwardTarget(upstream, directory);
        var server = await TestDnsServer.StartAsync(KubeadmStack.Corefile(api.Url, target, ttl));
        return new Stack { Upstream = upstream, Api = api, Server = server, ForwardTarget = target, Directory = directory };
    }

    [Fact]
    public async Task Answers_cluster_names_forwards_caches_and_shuffles_the_rest()
    {
        await using var stack = await StartAsync();
        var server = stack.Server;
        output.WriteLine($"upstream {stack.Upstream.To}, forward target {stack.ForwardTarget}");
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(stack.HttpPort, "/ready")).Status == HttpStatusCode.OK, Deadline));

        // Cluster names: authoritative, TTL 30 (kubernetes ttl), never cached (disable success|denial cluster.local).
        var web = await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, web.Rcode);
        Assert.True(web.Header.Authoritative);
        Assert.Equal([KubeadmStack.WebClusterIp], KubeadmStack.Addresses(web));
        Assert.Equal(30u, Assert.Single(web.Answers).Ttl);
        var nx = await server.QueryAsync("nope.default.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, nx.Rcode);
        Assert.True(nx.Header.Authoritative);
        var ptr = await server.QueryAsync("10.0.96.10.in-addr.arpa.", DnsType.PTR);
        Assert.Equal("kube-dns.kube-system.svc.cluster.local.", Assert.Single(ptr.Answers).DataText());
        var db = await server.QueryAsync("db.default.svc.cluster.local.", DnsType.A);
        Assert.Equal(KubeadmStack.DbEndpoints.Order(), KubeadmStack.Addresses(db).Order());

        // External names go to dnsmasq once, then come from the cache with a TTL counting down from 30.
        var first = await server.QueryAsync("web.example.test.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, first.Rcode);
        Assert.Equal(["192.0.2.10"], KubeadmStack.Addresses(first));
        Assert.Equal(30u, first.Answers[0].Ttl); // dnsmasq says 300; cache 30 caps it
        Assert.Equal(1, await stack.Upstream.QueriesAsync("web.example.test", 1));
        // Unknown reverse names fall through kubernetes to forward (dnsmasq answers PTR from its hosts file).
        var reverse = await server.QueryAsync("10.2.0.192.in-addr.arpa.", DnsType.PTR);
        Assert.Equal("web.example.test.", Assert.Single(reverse.Answers).DataText());
        var nxExternal = await server.QueryAsync("missing.example.test.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, nxExternal.Rcode);

        await Task.Delay(TimeSpan.FromMilliseconds(1100)); // let one TTL second pass
        var second = await server.QueryAsync("web.example.test.", DnsType.A);
        Assert.Equal(["192.0.2.10"], KubeadmStack.Addresses(second));
        Assert.True(second.Header.Authoritative, "cached replies carry AA");
        Assert.InRange(second.Answers[0].Ttl, 1u, 29u);
        Assert.Equal(1, await stack.Upstream.QueriesAsync("web.example.test", 1));
        var webAgain = await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A);
        Assert.Equal(30u, webAgain.Answers[0].Ttl); // not served from the cache

        // loadbalance reshuffles the one cached multi-address answer per reply.
        var orders = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 30 && orders.Count < 2; i++)
        {
            var multi = await server.QueryAsync("multi.example.test.", DnsType.A);
            var addresses = KubeadmStack.Addresses(multi).ToList();
            Assert.Equal(DnsmasqUpstream.Records["multi.example.test"].Order(), addresses.Order());
            orders.Add(string.Join(',', addresses));
        }
        Assert.True(orders.Count >= 2, "multi.example.test never came back in another order");
        Assert.Equal(1, await stack.Upstream.QueriesAsync("multi.example.test", 1));
    }

    [Fact]
    public async Task Metrics_carry_coredns_names_and_exact_label_sets_with_live_values()
    {
        await using var stack = await StartAsync();
        var server = stack.Server;
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(stack.HttpPort, "/ready")).Status == HttpStatusCode.OK, Deadline));
        var before = await KubeadmStack.ScrapeAsync(server);
        var to = stack.Upstream.To;
        (string, string)[] cacheLabels = [("server", "dns://:0"), ("zones", "."), ("view", "")];

        await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A);
        await server.QueryAsync("other.example.test.", DnsType.A);
        await server.QueryAsync("other.example.test.", DnsType.A);
        await server.QueryAsync("web.example.test.", DnsType.A, tcp: true); // a miss over TCP: forwarded over TCP
        await server.QueryAsync("missing.example.test.", DnsType.A);
        await server.QueryAsync("missing.example.test.", DnsType.A);
        // A watched EndpointSlice update carrying the controller's trigger-time annotation.
        stack.Api.Upsert(KubeadmStack.Slice("default", "web-abcde", "web", 80, ["10.244.1.5", "10.244.1.6"], DateTimeOffset.UtcNow.AddSeconds(-1)));
        stack.Api.Upsert(KubeadmStack.Slice("default", "db-fghij", "db", 5432, [.. KubeadmStack.DbEndpoints, "10.244.1.14"], DateTimeOffset.UtcNow.AddSeconds(-2)));
        Assert.True(await Eventually.Holds(async () => KubeadmStack.Addresses(await server.QueryAsync("db.default.svc.cluster.local.", DnsType.A)).Count() == 4, Deadline));

        Exposition after = before;
        Assert.True(await Eventually.Holds(async () =>
        {
            after = await KubeadmStack.ScrapeAsync(server);
            return Delta("coredns_health_request_duration_seconds_count") >= 1
                && Delta("coredns_kubernetes_dns_programming_duration_seconds_count", ("service_kind", "cluster_ip")) >= 1
                && Delta("coredns_kubernetes_dns_programming_duration_seconds_count", ("service_kind", "headless_with_selector")) >= 1;
        }, Deadline), "health self-probe or programming duration never reported");
        output.WriteLine(string.Join('\n', after.Text.Split('\n').Where(l => l.StartsWith("coredns_", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal))));

        // Server core.
        Assert.True(Delta("coredns_dns_requests_total", ("server", "dns://:0"), ("zone", "."), ("view", ""), ("proto", "udp"), ("family", "1"), ("type", "A")) >= 5);
        Assert.True(Delta("coredns_dns_responses_total", ("server", "dns://:0"), ("zone", "."), ("view", ""), ("rcode", "NOERROR"), ("plugin", "kubernetes")) >= 1);
        Assert.True(Delta("coredns_dns_responses_total", ("rcode", "NOERROR"), ("plugin", "forward")) >= 1);
        Assert.True(Delta("coredns_dns_responses_total", ("rcode", "NOERROR"), ("plugin", "cache")) >= 1);
        // dnsmasq's NXDOMAIN has no SOA, which CoreDNS's cache does not store: both went upstream.
        Assert.True(Delta("coredns_dns_responses_total", ("rcode", "NXDOMAIN"), ("plugin", "forward")) >= 2);
        Assert.Equal(2, await stack.Upstream.QueriesAsync("missing.example.test", 2));
        foreach (var plugin in new[] { "errors", "kubernetes", "prometheus", "forward", "cache", "loop", "loadbalance" })
        {
            Assert.Equal(1, after.Sum("coredns_plugin_enabled", ("server", "dns://:0"), ("zone", "."), ("view", ""), ("name", plugin)));
        }
        foreach (var setupOnly in new[] { "health", "ready", "reload" })
        {
            Assert.Empty(after.Find("coredns_plugin_enabled", ("server", "dns://:0"), ("name", setupOnly)));
        }
        Assert.Equal(1, after.Sum("coredns_build_info", ("version", ClusterDnsApp.Version)));
        Assert.Single(after.Find("coredns_panics_total"));

        // cache: every lookup counts (cluster.local is looked up too, only never stored).
        Assert.True(Delta("coredns_cache_requests_total", cacheLabels) >= 6);
        Assert.True(Delta("coredns_cache_hits_total", [.. cacheLabels, ("type", "success")]) >= 1);
        Assert.True(Delta("coredns_cache_misses_total", cacheLabels) >= 4);
        Assert.True(after.Sum("coredns_cache_entries", [.. cacheLabels, ("type", "success")]) >= 1);
        Assert.Single(after.Find("coredns_cache_entries", [.. cacheLabels, ("type", "denial")]));
        AssertLabels(after, "coredns_cache_entries", "server", "type", "zones", "view");
        AssertLabels(after, "coredns_cache_requests_total", "server", "zones", "view");

        // forward: the current coredns_proxy_* names and the 1.7–1.10 coredns_forward_* ones.
        Assert.True(Delta("coredns_forward_requests_total", ("to", to)) >= 2);
        Assert.True(Delta("coredns_forward_responses_total", ("rcode", "NOERROR"), ("to", to)) >= 1);
        Assert.True(Delta("coredns_forward_responses_total", ("rcode", "NXDOMAIN"), ("to", to)) >= 1);
        Assert.True(Delta("coredns_proxy_request_duration_seconds_count", ("proxy_name", "forward"), ("to", to), ("rcode", "NOERROR")) >= 1);
        Assert.True(Delta("coredns_forward_request_duration_seconds_count", ("to", to), ("rcode", "NOERROR")) >= 1);
        Assert.True(Delta("coredns_proxy_conn_cache_misses_total", ("proxy_name", "forward"), ("to", to), ("proto", "udp"))
            + Delta("coredns_proxy_conn_cache_hits_total", ("proxy_name", "forward"), ("to", to), ("proto", "udp")) >= 1);
        Assert.True(Delta("coredns_forward_conn_cache_misses_total", ("to", to), ("proto", "tcp")) >= 1);
        AssertLabels(after, "coredns_proxy_request_duration_seconds_count", "proxy_name", "to", "rcode");
        AssertLabels(after, "coredns_forward_responses_total", "rcode", "to");
        Assert.Single(after.Find("coredns_forward_healthcheck_broken_total"));
        Assert.Single(after.Find("coredns_forward_max_concurrent_rejects_total"));

        // kubernetes: client-go's REST client series for the requests to this test's API server (lists and watches).
        var apiHost = new Uri(stack.Api.Url).Authority;
        Assert.True(after.Sum("coredns_kubernetes_rest_client_requests_total", ("code", "200"), ("method", "GET"), ("host", apiHost)) >= 4);
        Assert.True(after.Sum("coredns_kubernetes_rest_client_request_duration_seconds_count", ("verb", "GET"), ("host", apiHost)) >= 4);
        Assert.True(after.Sum("coredns_kubernetes_rest_client_rate_limiter_duration_seconds_count", ("verb", "GET"), ("host", apiHost)) >= 4);
        AssertLabels(after, "coredns_kubernetes_rest_client_requests_total", "code", "method", "host");
        AssertLabels(after, "coredns_kubernetes_rest_client_request_duration_seconds_count", "verb", "host");

        // reload: the running configuration's SHA512; health: the 1 s self-probe.
        var version = Assert.Single(after.Find("coredns_reload_version_info"));
        Assert.Equal("sha512", version.Labels["hash"]);
        Assert.Equal(server.App.CurrentHash, version.Labels["value"]);
        Assert.Single(after.Find("coredns_reload_failed_total"));
        Assert.Equal(0, Delta("coredns_health_request_failures_total"));
        AssertLabels(after, "coredns_health_request_duration_seconds_count");
        AssertLabels(after, "coredns_kubernetes_dns_programming_duration_seconds_count", "service_kind");

        double Delta(string name, params (string Key, string Value)[] match) => after.Sum(name, match) - before.Sum(name, match);
    }

    private static void AssertLabels(Exposition scrape, string name, params string[] labels)
    {
        var samples = scrape.Find(name).ToList();
        Assert.NotEmpty(samples);
        foreach (var sample in samples)
        {
            Assert.Equal(labels.Order(StringComparer.Ordinal), sample.Labels.Keys.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Ready_says_kubernetes_until_the_api_syncs_while_health_is_ok()
    {
        await using var upstream = await DnsmasqUpstream.StartAsync();
        var apiPort = ServerTestKit.FreePort(); // the API comes up only later
        var directory = KubeadmStack.NewDirectory();
        var target = KubeadmStack.ForwardTarget(upstream, directory);
        await using var server = await TestDnsServer.StartAsync(KubeadmStack.Corefile($"http://127.0.0.1:{apiPort}", target));
        var port = KubeadmStack.HttpPort(server);

        var notReady = await KubeadmStack.GetAsync(port, "/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.Status);
        Assert.Equal("kubernetes", notReady.Body);
        Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(port, "/health"));
        Assert.True(await server.LogContainsAsync("[INFO] plugin/ready: Plugins not ready: \"kubernetes\""), server.Log);
        // Forwarding does not wait for the API; cluster names are SERVFAIL until synced (instead of NXDOMAIN).
        Assert.Equal(["192.0.2.10"], KubeadmStack.Addresses(await server.QueryAsync("web.example.test.", DnsType.A)));
        Assert.Equal(DnsRcode.ServFail, (await server.QueryAsync("nope.default.svc.cluster.local.", DnsType.A)).Rcode);

        await using var api = await TestApiServer.StartAsync(apiPort);
        KubeadmStack.LoadCluster(api);
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(port, "/ready")) == (HttpStatusCode.OK, "OK"), TimeSpan.FromSeconds(30)), server.Log);
        Assert.Equal([KubeadmStack.WebClusterIp], KubeadmStack.Addresses(await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A)));
    }

    [Fact]
    public async Task Reload_swaps_a_changed_corefile_and_keeps_serving_through_a_broken_one()
    {
        await using var stack = await StartAsync();
        var server = stack.Server;
        var httpPort = stack.HttpPort;
        var dnsPort = server.Port;
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(httpPort, "/ready")).Status == HttpStatusCode.OK, Deadline));
        var firstHash = server.App.CurrentHash;
        Assert.True(await server.LogContainsAsync($"[INFO] plugin/reload: Running configuration SHA512 = {firstHash}"), server.Log);
        Assert.Equal(30u, (await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A)).Answers[0].Ttl);
        var failedBefore = (await KubeadmStack.ScrapeAsync(server)).Sum("coredns_reload_failed_total");

        // A changed Corefile (ttl 30 → 7) goes live within INTERVAL+JITTER; DNS and HTTP listeners keep their ports.
        await File.WriteAllTextAsync(server.CorefilePath, KubeadmStack.Corefile(stack.Api.Url, stack.ForwardTarget, ttl: 7));
        Assert.True(await Eventually.Holds(async () => (await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A)).Answers[0].Ttl == 7, Deadline), server.Log);
        var secondHash = server.App.CurrentHash;
        Assert.NotEqual(firstHash, secondHash);
        Assert.Equal(dnsPort, server.Port);
        Assert.Equal(httpPort, stack.HttpPort);
        Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(httpPort, "/health"));
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(httpPort, "/ready")) == (HttpStatusCode.OK, "OK"), Deadline));
        Assert.True(await server.LogContainsAsync($"[INFO] plugin/reload: Running configuration SHA512 = {secondHash}"), server.Log);
        Assert.True(await Eventually.Holds(async () =>
            (await KubeadmStack.ScrapeAsync(server)).Find("coredns_reload_version_info", ("hash", "sha512"), ("value", secondHash!)).Any(), Deadline));
        Assert.Equal(["192.0.2.10"], KubeadmStack.Addresses(await server.QueryAsync("web.example.test.", DnsType.A)));

        // A broken one (an unknown kubernetes property) is reported with file and line; the old one keeps serving.
        var broken = KubeadmStack.Corefile(stack.Api.Url, stack.ForwardTarget, ttl: 3, kubernetesExtra: "\n       no_such_option");
        await File.WriteAllTextAsync(server.CorefilePath, broken);
        Assert.True(await server.LogContainsAsync("[ERROR] plugin/reload: Corefile changed but reload failed: ", Deadline), server.Log);
        var failure = server.Log.Split('\n').Single(l => l.Contains("reload failed", StringComparison.Ordinal));
        output.WriteLine(failure);
        Assert.Contains($"{server.CorefilePath}:12 - Error during parsing: unknown property 'no_such_option'", failure, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(3.5)); // more than one more reload interval: a broken file is not retried
        Assert.Single(server.Log.Split('\n'), l => l.Contains("reload failed", StringComparison.Ordinal));
        Assert.Equal(secondHash, server.App.CurrentHash);
        Assert.Equal(7u, (await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A)).Answers[0].Ttl);
        Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(httpPort, "/health"));
        Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(httpPort, "/ready"));
        var scrape = await KubeadmStack.ScrapeAsync(server);
        // Process-wide counter: other test classes reload too, so compare with what this server's log shows (one failure).
        Assert.True(scrape.Sum("coredns_reload_failed_total") - failedBefore >= 1);
        Assert.Contains(scrape.Samples, s => s.Name == "coredns_reload_version_info" && s.Labels["value"] == secondHash);
        Assert.Equal(dnsPort, server.Port);
        Assert.Equal(httpPort, stack.HttpPort);
    }

    [Fact]
    public async Task Lameduck_keeps_dns_and_health_answering_while_ready_says_shutting_down()
    {
        var stack = await StartAsync();
        try
        {
            var server = stack.Server;
            var httpPort = stack.HttpPort;
            var dnsEndpoint = server.Endpoint;
            Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(httpPort, "/ready")).Status == HttpStatusCode.OK, Deadline));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var stopping = server.App.StopAsync();
            Assert.True(await server.LogContainsAsync("[INFO] plugin/health: Going into lameduck mode for 2s"), server.Log);
            var answeredDuringLameduck = 0;
            while (!stopping.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(1.5))
            {
                Assert.Equal([KubeadmStack.WebClusterIp], KubeadmStack.Addresses(await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A)));
                Assert.Equal(["192.0.2.10"], KubeadmStack.Addresses(await server.QueryAsync("web.example.test.", DnsType.A)));
                Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(httpPort, "/health"));
                Assert.Equal((HttpStatusCode.ServiceUnavailable, "Shutting down"), await KubeadmStack.GetAsync(httpPort, "/ready"));
                answeredDuringLameduck++;
                await Task.Delay(20);
            }
            // Rounds take longer on a loaded machine: two full rounds inside the window show it kept answering.
            Assert.True(answeredDuringLameduck >= 2, $"only {answeredDuringLameduck} rounds answered during lameduck");
            await stopping.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"stopped after {clock.Elapsed}");
            // After lameduck the DNS sockets are closed.
            var query = DnsMessage.CreateQuery("web.default.svc.cluster.local.", DnsType.A, id: 5).ToArray();
            Assert.Null(await TestDnsServer.ExchangeUdpAsync(dnsEndpoint, query, TimeSpan.FromMilliseconds(500)));
        }
        finally
        {
            await stack.DisposeAsync();
        }
    }
}
