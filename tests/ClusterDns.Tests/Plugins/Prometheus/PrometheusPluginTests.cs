using System.Net;
using System.Net.Sockets;
using ClusterDns.Metrics;
using ClusterDns.Plugins.Cache;
using ClusterDns.Plugins.Forward;
using ClusterDns.Plugins.Health;
using ClusterDns.Plugins.Prometheus;
using ClusterDns.Plugins.Reload;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.Plugins.Prometheus;

/// <summary>Tests share the process-wide registry, so they run serially and assert on deltas within test-specific zones.</summary>
[CollectionDefinition("Prometheus", DisableParallelization = true)]
public sealed class PrometheusCollection;

[Collection("Prometheus")]
public sealed class PrometheusPluginTests
{
    private static readonly string[] TimeBuckets =
        ["0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"];

    private static readonly string[] SizeBuckets =
        ["0", "100", "200", "300", "400", "511", "1023", "2047", "4095", "8291", "16000", "32000", "48000", "64000", "+Inf"];

    /// <summary>The core server's metrics as CoreDNS exports them: name → (type, labels, buckets or null).</summary>
    private static readonly (string Name, string Type, string[] Labels, string[]? Buckets)[] CoreCatalogue =
    [
        ("coredns_build_info", "gauge", ["version", "revision", "goversion"], null),
        ("coredns_panics_total", "counter", [], null),
        ("coredns_dns_requests_total", "counter", ["server", "zone", "view", "proto", "family", "type"], null),
        ("coredns_dns_request_duration_seconds", "histogram", ["server", "zone", "view"], TimeBuckets),
        ("coredns_dns_request_size_bytes", "histogram", ["server", "zone", "view", "proto"], SizeBuckets),
        ("coredns_dns_response_size_bytes", "histogram", ["server", "zone", "view", "proto"], SizeBuckets),
        ("coredns_dns_do_requests_total", "counter", ["server", "zone", "view"], null),
        ("coredns_dns_responses_total", "counter", ["server", "zone", "view", "rcode", "plugin"], null),
        ("coredns_plugin_enabled", "gauge", ["server", "zone", "view", "name"], null),
    ];

    /// <summary>The series other plugins (health, forward, cache, kubernetes, reload) report through ClusterDns.Metrics.</summary>
    private static readonly (string Name, string Type, string[] Labels, string[]? Buckets)[] PluginCatalogue =
    [
        ("coredns_cache_entries", "gauge", ["server", "type", "zones", "view"], null),
        ("coredns_cache_requests_total", "counter", ["server", "zones", "view"], null),
        ("coredns_cache_hits_total", "counter", ["server", "type", "zones", "view"], null),
        ("coredns_cache_misses_total", "counter", ["server", "zones", "view"], null),
        ("coredns_cache_prefetch_total", "counter", ["server", "zones", "view"], null),
        ("coredns_cache_drops_total", "counter", ["server", "zones", "view"], null),
        ("coredns_cache_served_stale_total", "counter", ["server", "zones", "view"], null),
        ("coredns_cache_evictions_total", "counter", ["server", "type", "zones", "view"], null),
        ("coredns_forward_healthcheck_broken_total", "counter", [], null),
        ("coredns_forward_max_concurrent_rejects_total", "counter", [], null),
        ("coredns_proxy_request_duration_seconds", "histogram", ["proxy_name", "to", "rcode"], TimeBuckets),
        ("coredns_proxy_healthcheck_failures_total", "counter", ["proxy_name", "to"], null),
        ("coredns_proxy_conn_cache_hits_total", "counter", ["proxy_name", "to", "proto"], null),
        ("coredns_proxy_conn_cache_misses_total", "counter", ["proxy_name", "to", "proto"], null),
        ("coredns_forward_requests_total", "counter", ["to"], null),
        ("coredns_forward_responses_total", "counter", ["rcode", "to"], null),
        ("coredns_forward_request_duration_seconds", "histogram", ["to", "rcode"], TimeBuckets),
        ("coredns_forward_healthcheck_failures_total", "counter", ["to"], null),
        ("coredns_forward_conn_cache_hits_total", "counter", ["to", "proto"], null),
        ("coredns_forward_conn_cache_misses_total", "counter", ["to", "proto"], null),
        ("coredns_kubernetes_dns_programming_duration_seconds", "histogram", ["service_kind"],
            [.. MetricBuckets.Exponential(0.001, 2, 20).Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)), "+Inf"]),
        ("coredns_reload_failed_total", "counter", [], null),
        ("coredns_reload_version_info", "gauge", ["hash", "value"], null),
        ("coredns_health_request_duration_seconds", "histogram", [], ["0.00025", "0.0025", "0.025", "0.25", "2.5", "+Inf"]),
        ("coredns_health_request_failures_total", "counter", [], null),
    ];

    private static readonly string[] ProcessSeries =
        ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"];

    private static int HttpPort(TestDnsServer server, string address = "127.0.0.1:0") =>
        server.App.Services.GetHttpServer(address)?.Port ?? throw new InvalidOperationException("no metrics listener");

    private static async Task<DnsMessage> QueryAsync(TestDnsServer server, string name, DnsType type, bool tcp = false, bool dnssecOk = false)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232, dnssecOk: dnssecOk).ToArray();
        var reply = tcp ? await TestDnsServer.ExchangeTcpAsync(server.Endpoint, query) : await server.ExchangeUdpAsync(query);
        Assert.NotNull(reply);
        return DnsMessage.Parse(reply);
    }

    private static void AssertCatalogue(Exposition scrape, (string Name, string Type, string[] Labels, string[]? Buckets)[] catalogue)
    {
        foreach (var (name, type, labels, buckets) in catalogue)
        {
            Assert.True(scrape.Types.TryGetValue(name, out var actualType), $"{name} missing");
            Assert.Equal(type, actualType);
            var sampleName = type == "histogram" ? name + "_count" : name;
            var samples = scrape.Find(sampleName).ToList();
            Assert.True(samples.Count > 0, $"{name}: no samples");
            foreach (var sample in samples)
            {
                Assert.Equal(labels.Order(StringComparer.Ordinal), sample.Labels.Keys.Order(StringComparer.Ordinal));
            }
            if (buckets is null)
            {
                continue;
            }
            var first = samples[0].Labels;
            var les = scrape.Samples
                .Where(s => s.Name == name + "_bucket" && labels.All(l => s.Labels[l] == first[l]))
                .Select(s => s.Labels["le"])
                .ToList();
            Assert.Equal(buckets, les);
            Assert.Contains(scrape.Samples, s => s.Name == name + "_sum");
        }
    }

    [Fact]
    public async Task Scrape_exposes_the_core_catalogue_with_exact_types_labels_and_buckets()
    {
        await using var server = await TestDnsServer.StartAsync("catalogue.test:0 {\n    prometheus 127.0.0.1:0\n    whoami\n}\n");
        await QueryAsync(server, "a.catalogue.test.", DnsType.A, dnssecOk: true);
        await QueryAsync(server, "a.catalogue.test.", DnsType.A, tcp: true);
        var scrape = await Exposition.ScrapeAsync(HttpPort(server));

        AssertCatalogue(scrape, CoreCatalogue);
        Assert.Equal(1, scrape.Sum("coredns_build_info", ("version", ClusterDnsApp.Version), ("goversion", "dotnet" + Environment.Version)));
        var request = scrape.Find("coredns_dns_requests_total", ("zone", "catalogue.test.")).First();
        Assert.Equal("dns://:0", request.Labels["server"]);
        Assert.Equal("", request.Labels["view"]);
        Assert.Equal("1", request.Labels["family"]);
        Assert.Equal("A", request.Labels["type"]);
        foreach (var name in ProcessSeries)
        {
            Assert.True(scrape.Types.ContainsKey(name), $"{name} missing");
            Assert.Contains(scrape.Samples, s => s.Name == name);
        }
        Assert.Equal("counter", scrape.Types["process_cpu_seconds_total"]);
        Assert.True(scrape.Sum("process_open_fds") > 0);
        Assert.DoesNotContain(scrape.Samples, s => s.Name.StartsWith("prometheus_net_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Plugin_metric_classes_expose_coredns_names_labels_and_buckets()
    {
        MetricsCatalog.RegisterAll();
        var cache = CacheMetrics.For("dns://:catalogue", CacheMetrics.ZonesLabel([".", "cluster.local."]));
        cache.Requests.Inc();
        cache.Misses.Inc();
        cache.Prefetch.Inc();
        cache.Drops.Inc();
        cache.ServedStale.Inc();
        cache.SuccessHits.Inc();
        cache.DenialEvictions.Inc();
        cache.SuccessEntries.Set(3);
        var upstream = ForwardMetrics.For("192.0.2.1:53");
        upstream.Request();
        upstream.Response((int)DnsRcode.NoError, 0.003);
        upstream.HealthcheckFailure();
        upstream.ConnCacheHit(0);
        upstream.ConnCacheMiss(1);
        ClusterDns.Plugins.Kubernetes.KubernetesMetrics.ClusterIpProgramming.Observe(0.5);
        ReloadMetrics.SetVersion("abc");
        ReloadMetrics.SetVersion("def");
        HealthMetrics.RequestDuration.Observe(0.001);

        await using var server = await TestDnsServer.StartAsync("plugins.test:0 {\n    prometheus 127.0.0.1:0\n    whoami\n}\n");
        var scrape = await Exposition.ScrapeAsync(HttpPort(server));

        AssertCatalogue(scrape, PluginCatalogue);
        Assert.Equal(1, scrape.Sum("coredns_proxy_request_duration_seconds_count", ("proxy_name", "forward"), ("to", "192.0.2.1:53"), ("rcode", "NOERROR")));
        Assert.Equal(1, scrape.Sum("coredns_proxy_conn_cache_misses_total", ("to", "192.0.2.1:53"), ("proto", "tcp")));
        Assert.Equal(3, scrape.Sum("coredns_cache_entries", ("type", "success"), ("zones", ".,cluster.local.")));
        Assert.Empty(scrape.Find("coredns_cache_entries", ("type", "denial"), ("zones", ".,cluster.local.")));
        Assert.Empty(scrape.Find("coredns_reload_version_info", ("value", "abc")));
        Assert.Equal(1, scrape.Sum("coredns_reload_version_info", ("hash", "sha512"), ("value", "def")));
        // Process-wide series: the kubeadm tests observe live EndpointSlice updates of both kinds too.
        Assert.True(scrape.Sum("coredns_kubernetes_dns_programming_duration_seconds_count", ("service_kind", "cluster_ip")) >= 1);
    }

    [Fact]
    public async Task Counters_increase_by_exactly_the_queries_sent()
    {
        await using var server = await TestDnsServer.StartAsync("count.test:0 {\n    prometheus 127.0.0.1:0\n    whoami\n}\n");
        var port = HttpPort(server);
        var zone = ("zone", "count.test.");
        var before = await Exposition.ScrapeAsync(port);
        for (var i = 0; i < 5; i++)
        {
            await QueryAsync(server, "x.count.test.", DnsType.A);
        }
        for (var i = 0; i < 3; i++)
        {
            await QueryAsync(server, "x.count.test.", DnsType.AAAA, tcp: true, dnssecOk: true);
        }
        await QueryAsync(server, "x.count.test.", DnsType.CAA);
        var after = await Exposition.ScrapeAsync(port);

        double Delta(string name, params (string, string)[] match) => after.Sum(name, [zone, .. match]) - before.Sum(name, [zone, .. match]);
        Assert.Equal(9, Delta("coredns_dns_requests_total"));
        Assert.Equal(5, Delta("coredns_dns_requests_total", ("proto", "udp"), ("family", "1"), ("type", "A")));
        Assert.Equal(3, Delta("coredns_dns_requests_total", ("proto", "tcp"), ("family", "1"), ("type", "AAAA")));
        Assert.Equal(1, Delta("coredns_dns_requests_total", ("proto", "udp"), ("type", "other")));
        Assert.Equal(3, Delta("coredns_dns_do_requests_total"));
        Assert.Equal(9, Delta("coredns_dns_request_duration_seconds_count"));
        Assert.Equal(6, Delta("coredns_dns_request_size_bytes_count", ("proto", "udp")));
        Assert.Equal(3, Delta("coredns_dns_response_size_bytes_count", ("proto", "tcp")));
        Assert.Equal(9, Delta("coredns_dns_responses_total", ("rcode", "NOERROR"), ("plugin", "whoami")));
        // Whoami's replies are under 100 bytes (cumulative buckets): all in le="100", none in le="0".
        Assert.Equal(6, Delta("coredns_dns_response_size_bytes_bucket", ("proto", "udp"), ("le", "100")));
        Assert.Equal(0, Delta("coredns_dns_response_size_bytes_bucket", ("proto", "udp"), ("le", "0")));
    }

    [Fact]
    public async Task Refused_query_outside_every_zone_counts_under_zone_dropped()
    {
        await using var server = await TestDnsServer.StartAsync("dropped.test:0 {\n    bind 127.0.0.1\n    prometheus 127.0.0.1:0\n    whoami\n}\n");
        var port = HttpPort(server);
        var match = new[] { ("server", "dns://127.0.0.1:0"), ("zone", "dropped") };
        var before = await Exposition.ScrapeAsync(port);
        var reply = await QueryAsync(server, "elsewhere.example.", DnsType.A);
        Assert.Equal(DnsRcode.Refused, reply.Rcode);
        var after = await Exposition.ScrapeAsync(port);

        Assert.Equal(1, after.Sum("coredns_dns_requests_total", [.. match, ("proto", "udp"), ("type", "A")])
            - before.Sum("coredns_dns_requests_total", [.. match, ("proto", "udp"), ("type", "A")]));
        Assert.Equal(1, after.Sum("coredns_dns_responses_total", [.. match, ("rcode", "REFUSED"), ("plugin", "")])
            - before.Sum("coredns_dns_responses_total", [.. match, ("rcode", "REFUSED"), ("plugin", "")]));
        Assert.Equal(1, after.Sum("coredns_dns_response_size_bytes_count", match) - before.Sum("coredns_dns_response_size_bytes_count", match));
    }

    [Fact]
    public async Task Rcode_and_plugin_labels_follow_the_writer()
    {
        var plugins = new Dictionary<string, PluginDescriptor>(ClusterDns.Plugins.BuiltinPlugins.All)
        {
            ["erratic"] = new("erratic", _ => [new ServFailPlugin()]),
            ["file"] = new("file", _ => [new NxDomainPlugin()]),
        };
        const string corefile = """
            servfail.test:0 {
                prometheus 127.0.0.1:0
                erratic
            }
            nx.test:0 {
                prometheus 127.0.0.1:0
                file
            }
            """;
        await using var server = await TestDnsServer.StartAsync(corefile, plugins: plugins);
        var port = HttpPort(server);
        var before = await Exposition.ScrapeAsync(port);
        Assert.Equal(DnsRcode.ServFail, (await QueryAsync(server, "a.servfail.test.", DnsType.A)).Rcode);
        Assert.Equal(DnsRcode.NXDomain, (await QueryAsync(server, "a.nx.test.", DnsType.A)).Rcode);
        var after = await Exposition.ScrapeAsync(port);

        double Delta(params (string, string)[] match) => after.Sum("coredns_dns_responses_total", match) - before.Sum("coredns_dns_responses_total", match);
        // Unwritten SERVFAIL: the returned rcode, written by the server after us (plugin "", size 0).
        Assert.Equal(1, Delta(("zone", "servfail.test."), ("rcode", "SERVFAIL"), ("plugin", "")));
        Assert.Equal(1, Delta(("zone", "nx.test."), ("rcode", "NXDOMAIN"), ("plugin", "file")));
        Assert.Equal(1, after.Sum("coredns_dns_response_size_bytes_bucket", ("zone", "servfail.test."), ("le", "0"))
            - before.Sum("coredns_dns_response_size_bytes_bucket", ("zone", "servfail.test."), ("le", "0")));
    }

    [Fact]
    public async Task Request_is_reported_as_received_when_a_later_plugin_rewrites_it()
    {
        var plugins = new Dictionary<string, PluginDescriptor>(ClusterDns.Plugins.BuiltinPlugins.All)
        {
            ["rewrite"] = new("rewrite", _ => [new RewritePlugin()]),
        };
        await using var server = await TestDnsServer.StartAsync("rw.test:0 {\n    prometheus 127.0.0.1:0\n    rewrite\n    whoami\n}\n", plugins: plugins);
        var port = HttpPort(server);
        var before = await Exposition.ScrapeAsync(port);
        await QueryAsync(server, "a.rw.test.", DnsType.A);
        var after = await Exposition.ScrapeAsync(port);

        double Delta(params (string, string)[] match) => after.Sum("coredns_dns_requests_total", match) - before.Sum("coredns_dns_requests_total", match);
        Assert.Equal(1, Delta(("zone", "rw.test."), ("type", "A")));
        Assert.Equal(0, Delta(("type", "TXT")));
    }

    [Fact]
    public async Task Panic_counts_in_panics_total_and_as_a_dropped_servfail()
    {
        var plugins = new Dictionary<string, PluginDescriptor>(ClusterDns.Plugins.BuiltinPlugins.All)
        {
            ["erratic"] = new("erratic", _ => [new ThrowingPlugin()]),
        };
        await using var server = await TestDnsServer.StartAsync("panic.test:0 {\n    bind 127.0.0.1\n    prometheus 127.0.0.1:0\n    erratic\n}\n", plugins: plugins);
        var port = HttpPort(server);
        var before = await Exposition.ScrapeAsync(port);
        Assert.Equal(DnsRcode.ServFail, (await QueryAsync(server, "a.panic.test.", DnsType.A)).Rcode);
        var after = await Exposition.ScrapeAsync(port);

        Assert.Equal(1, after.Sum("coredns_panics_total") - before.Sum("coredns_panics_total"));
        (string, string)[] dropped = [("server", "dns://127.0.0.1:0"), ("zone", "dropped"), ("rcode", "SERVFAIL"), ("plugin", "")];
        Assert.Equal(1, after.Sum("coredns_dns_responses_total", dropped) - before.Sum("coredns_dns_responses_total", dropped));
    }

    [Fact]
    public async Task Two_blocks_share_one_metrics_listener_and_plugin_enabled_lists_each_handler()
    {
        const string corefile = """
            one.test:0 {
                prometheus 127.0.0.1:0
                whoami
            }
            two.test:0 {
                whoami
                prometheus 127.0.0.1:0
            }
            three.test:0 {
                whoami
            }
            """;
        await using var server = await TestDnsServer.StartAsync(corefile);
        var port = HttpPort(server);
        await QueryAsync(server, "x.one.test.", DnsType.A);
        await QueryAsync(server, "x.two.test.", DnsType.A);
        await QueryAsync(server, "x.three.test.", DnsType.A);
        var scrape = await Exposition.ScrapeAsync(port);

        Assert.True(scrape.Sum("coredns_dns_requests_total", ("zone", "one.test.")) >= 1);
        Assert.True(scrape.Sum("coredns_dns_requests_total", ("zone", "two.test.")) >= 1);
        Assert.Empty(scrape.Find("coredns_dns_requests_total", ("zone", "three.test.")));
        foreach (var zone in new[] { "one.test.", "two.test." })
        {
            foreach (var name in new[] { "prometheus", "whoami" })
            {
                Assert.Equal(1, scrape.Sum("coredns_plugin_enabled", ("server", "dns://:0"), ("zone", zone), ("view", ""), ("name", name)));
            }
        }
        Assert.Empty(scrape.Find("coredns_plugin_enabled", ("zone", "three.test.")));
    }

    [Fact]
    public async Task Reload_keeps_the_metrics_listener_and_resets_plugin_enabled()
    {
        await using var server = await TestDnsServer.StartAsync("reload1.test:0 {\n    prometheus 127.0.0.1:0\n    whoami\n}\n");
        var http = server.App.Services.GetHttpServer("127.0.0.1:0");
        Assert.NotNull(http);
        await QueryAsync(server, "x.reload1.test.", DnsType.A);
        var before = await Exposition.ScrapeAsync(http.Port);
        Assert.Equal(1, before.Sum("coredns_plugin_enabled", ("zone", "reload1.test."), ("name", "whoami")));

        await File.WriteAllTextAsync(server.CorefilePath, "reload2.test:0 {\n    prometheus 127.0.0.1:0\n    whoami\n}\n");
        Assert.True(await server.App.ReloadAsync());
        Assert.Same(http, server.App.Services.GetHttpServer("127.0.0.1:0"));
        await QueryAsync(server, "x.reload2.test.", DnsType.A);
        var after = await Exposition.ScrapeAsync(http.Port);

        Assert.Empty(after.Find("coredns_plugin_enabled", ("zone", "reload1.test.")));
        Assert.Equal(1, after.Sum("coredns_plugin_enabled", ("zone", "reload2.test."), ("name", "prometheus")));
        // Counters are process-wide and survive the reload.
        Assert.Equal(before.Sum("coredns_dns_requests_total", ("zone", "reload1.test.")), after.Sum("coredns_dns_requests_total", ("zone", "reload1.test.")));
        Assert.Equal(1, after.Sum("coredns_dns_requests_total", ("zone", "reload2.test.")));
    }

    [Theory]
    [InlineData("prometheus 9153", "address 9153: missing port in address")]
    [InlineData("prometheus ::1:9153", "address ::1:9153: too many colons in address")]
    [InlineData("prometheus a:1 b:2", "Wrong argument count")]
    [InlineData("prometheus :9153 {\n        bogus\n    }", "unknown option: bogus")]
    public async Task Bad_syntax_is_rejected(string directive, string message)
    {
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => TestDnsServer.StartAsync($"bad.test:0 {{\n    {directive}\n    whoami\n}}\n"));
        Assert.Contains("plugin/prometheus", exception.Message);
        Assert.Contains(message, exception.Message);
    }

    [Fact]
    public void Default_address_is_localhost_9153_and_blocks_share_it()
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-prom-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            File.WriteAllText(Path.Combine(directory, "Corefile"), "a.test:0 {\n    prometheus\n    whoami\n}\nb.test:0 {\n    prometheus\n    whoami\n}\nc.test:0 {\n    prometheus :9253\n    whoami\n}\n");
            var app = new ClusterDnsApp(new AppOptions { Conf = Path.Combine(directory, "Corefile"), WorkingDirectory = directory, Quiet = true }, NullLoggerFactory.Instance);
            var config = app.Load();
            Assert.Equal(["localhost:9153", ":9253"], config.HttpRoutes.Keys.Order(StringComparer.Ordinal).Reverse());
            Assert.True(config.HttpRoutes["localhost:9153"].ContainsKey("/metrics"));
            var plugin = Assert.IsType<PrometheusPlugin>(config.Blocks[0].Plugins[0]);
            Assert.Equal(PrometheusPlugin.DefaultAddress, plugin.Address);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Counting_a_query_allocates_nothing()
    {
        var plugin = new PrometheusPlugin("127.0.0.1:0") { Next = new PrecomputedReplyPlugin() };
        var request = new DnsRequest(AddressFamily.InterNetwork);
        var query = DnsMessage.CreateQuery("a.alloc.test.", DnsType.A, id: 7, ednsSize: 1232, dnssecOk: true).ToArray();
        Assert.Equal(QueryDisposition.Query, request.Load(query, DnsTransport.Udp));
        request.SetRemote(new IPEndPoint(IPAddress.Loopback, 5353));
        request.Server = "dns://:alloc";
        request.Zone = "alloc.test.";
        for (var i = 0; i < 100; i++)
        {
            await plugin.ServeAsync(request, CancellationToken.None);
        }
        var before = Scrape();

        var allocated = MeasureAllocations(plugin, request, 1000);

        Assert.Equal(0, allocated);
        var after = Scrape();
        Assert.Equal(1000, after.Sum("coredns_dns_requests_total", ("server", "dns://:alloc")) - before.Sum("coredns_dns_requests_total", ("server", "dns://:alloc")));
        Assert.Equal(1000, after.Sum("coredns_dns_responses_total", ("server", "dns://:alloc"), ("plugin", "precomputed"), ("rcode", "NOERROR"))
            - before.Sum("coredns_dns_responses_total", ("server", "dns://:alloc"), ("plugin", "precomputed"), ("rcode", "NOERROR")));

        static Exposition Scrape()
        {
            using var stream = new MemoryStream();
            MetricsRegistry.WriteTextAsync(stream, CancellationToken.None).GetAwaiter().GetResult();
            return Exposition.Parse(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        }
    }

    [Fact]
    public void Counting_a_dropped_query_allocates_nothing()
    {
        var request = new DnsRequest(AddressFamily.InterNetwork);
        var query = DnsMessage.CreateQuery("nowhere.example.", DnsType.A, id: 9).ToArray();
        Assert.Equal(QueryDisposition.Query, request.Load(query, DnsTransport.Udp));
        request.Server = "dns://:alloc-dropped";
        request.Response.WriteError(DnsRcode.Refused);
        CoreMetrics.EnsureInitialized();
        for (var i = 0; i < 100; i++)
        {
            ServerCounters.OnRejected(request, DnsRcode.Refused);
        }
        var start = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            ServerCounters.OnRejected(request, DnsRcode.Refused);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - start);
    }

    // Synchronous loop on purpose: the chain completes synchronously, so nothing may box or allocate a state machine.
    private static long MeasureAllocations(PrometheusPlugin plugin, DnsRequest request, int count)
    {
        var start = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < count; i++)
        {
            var pending = plugin.ServeAsync(request, CancellationToken.None);
            if (!pending.IsCompletedSuccessfully || pending.Result.Rcode != DnsRcode.NoError)
            {
                throw new InvalidOperationException("expected a synchronous NOERROR");
            }
        }
        return GC.GetAllocatedBytesForCurrentThread() - start;
    }

    private sealed class ServFailPlugin : DnsPlugin
    {
        public override string Name => "erratic";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken) =>
            new(new DnsResult(DnsRcode.ServFail, "test failure"));
    }

    private sealed class ThrowingPlugin : DnsPlugin
    {
        public override string Name => "erratic";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("boom");
    }

    /// <summary>Replaces the question as CoreDNS's rewrite does before calling next.</summary>
    private sealed class RewritePlugin : DnsPlugin
    {
        public override string Name => "rewrite";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            var query = DnsMessage.CreateQuery("other.example.", DnsType.TXT, id: request.Id, ednsSize: 1232).ToArray();
            request.Load(query, request.Transport);
            return NextAsync(request, cancellationToken);
        }
    }

    private sealed class NxDomainPlugin : DnsPlugin
    {
        public override string Name => "file";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            request.Response.WriteError(DnsRcode.NXDomain, Name);
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.NXDomain));
        }
    }

    /// <summary>Copies a reply prepared once: the fast path of precompiled answers, allocation-free.</summary>
    private sealed class PrecomputedReplyPlugin : DnsPlugin
    {
        private byte[]? _reply;

        public override string Name => "precomputed";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            _reply ??= request.CreateReply().ToArray();
            _reply.CopyTo(request.Response.GetBuffer(_reply.Length));
            request.Response.Commit(_reply.Length, Name);
            request.Response.PatchId(request.Id);
            return new ValueTask<DnsResult>(DnsResult.Success);
        }
    }
}
