using System.Net;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubeadm;

/// <summary>
/// Every metric CoreDNS v1.14.7 documents for the server core, health, forward (both name families), cache, the
/// kubernetes programming duration and reload must appear in a scrape of the kubeadm Corefile after representative
/// traffic, with exactly the documented label names. The catalogue is <see cref="Transcribed"/> below (the record in
/// this repository); where a machine also has the plugin summary the project was specified from beside the checkout
/// (<c>../shared/spec/plugins.md</c>, as in CI), the test reads the catalogue from it instead, so the two cannot drift.
/// </summary>
[Collection("Prometheus")]
public sealed partial class MetricCatalogueTests(ITestOutputHelper output)
{
    /// <summary>Listed but out of scope for the kubeadm Corefile: DoH/DoQ/DoH3 listeners.</summary>
    private static readonly HashSet<string> NotExpected = new(StringComparer.Ordinal)
    {
        "coredns_dns_https_responses_total", "coredns_dns_quic_responses_total", "coredns_dns_https3_responses_total",
    };

    /// <summary>CoreDNS v1.14.7's metric catalogue for these plugins: name → label names.</summary>
    private static readonly Dictionary<string, string[]> Transcribed = new(StringComparer.Ordinal)
    {
        ["coredns_build_info"] = ["version", "revision", "goversion"],
        ["coredns_panics_total"] = [],
        ["coredns_dns_requests_total"] = ["server", "zone", "view", "proto", "family", "type"],
        ["coredns_dns_request_duration_seconds"] = ["server", "zone", "view"],
        ["coredns_dns_request_size_bytes"] = ["server", "zone", "view", "proto"],
        ["coredns_dns_response_size_bytes"] = ["server", "zone", "view", "proto"],
        ["coredns_dns_do_requests_total"] = ["server", "zone", "view"],
        ["coredns_dns_responses_total"] = ["server", "zone", "view", "rcode", "plugin"],
        ["coredns_plugin_enabled"] = ["server", "zone", "view", "name"],
        ["coredns_health_request_duration_seconds"] = [],
        ["coredns_health_request_failures_total"] = [],
        ["coredns_forward_healthcheck_broken_total"] = [],
        ["coredns_forward_max_concurrent_rejects_total"] = [],
        ["coredns_proxy_request_duration_seconds"] = ["proxy_name", "to", "rcode"],
        ["coredns_proxy_healthcheck_failures_total"] = ["proxy_name", "to"],
        ["coredns_proxy_conn_cache_hits_total"] = ["proxy_name", "to", "proto"],
        ["coredns_proxy_conn_cache_misses_total"] = ["proxy_name", "to", "proto"],
        ["coredns_forward_requests_total"] = ["to"],
        ["coredns_forward_responses_total"] = ["rcode", "to"],
        ["coredns_forward_request_duration_seconds"] = ["to", "rcode"],
        ["coredns_forward_healthcheck_failures_total"] = ["to"],
        ["coredns_forward_conn_cache_hits_total"] = ["to", "proto"],
        ["coredns_forward_conn_cache_misses_total"] = ["to", "proto"],
        ["coredns_cache_entries"] = ["server", "type", "zones", "view"],
        ["coredns_cache_requests_total"] = ["server", "zones", "view"],
        ["coredns_cache_hits_total"] = ["server", "type", "zones", "view"],
        ["coredns_cache_misses_total"] = ["server", "zones", "view"],
        ["coredns_cache_prefetch_total"] = ["server", "zones", "view"],
        ["coredns_cache_drops_total"] = ["server", "zones", "view"],
        ["coredns_cache_served_stale_total"] = ["server", "zones", "view"],
        ["coredns_cache_evictions_total"] = ["server", "type", "zones", "view"],
        ["coredns_kubernetes_dns_programming_duration_seconds"] = ["service_kind"],
        ["coredns_kubernetes_rest_client_request_duration_seconds"] = ["verb", "host"],
        ["coredns_kubernetes_rest_client_rate_limiter_duration_seconds"] = ["verb", "host"],
        ["coredns_kubernetes_rest_client_requests_total"] = ["code", "method", "host"],
        ["coredns_reload_failed_total"] = [],
        ["coredns_reload_version_info"] = ["hash", "value"],
    };

    [GeneratedRegex(@"`(coredns_[a-z0-9_]+)(\{[^}`]*\})?")]
    private static partial Regex MetricMention();

    [GeneratedRegex(@"^\|\s*`(coredns_[a-z0-9_]+)`(?:[^|]*)\|[^|]*\|\s*([^|]*)\|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    /// <summary>The plugin summary beside the checkout (<c>../shared/spec/plugins.md</c> from the repository root), if
    /// any.</summary>
    private static string? SpecPath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ClusterDns.slnx")))
            {
                var path = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "spec", "plugins.md"));
                return File.Exists(path) ? path : null;
            }
        }
        return null;
    }

    /// <summary>name → label names, from that file's numbered sections: the core metric table of section 0 and the metric
    /// mentions of sections 3, 6, 7, 8 and 10 (health, forward, cache, kubernetes, reload). A name
    /// mentioned several times takes the labels of a braced mention (<c>name{a, b}</c>); none means no labels.</summary>
    internal static Dictionary<string, string[]> ParseSpec(string text)
    {
        var sections = Regex.Split(text, @"^## ", RegexOptions.Multiline)
            .Where(s => s.Length > 0 && char.IsDigit(s[0]))
            .ToDictionary(s => int.Parse(s[..s.IndexOf('.', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture));
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var core = sections[0];
        var table = core[core.IndexOf("| Metric |", StringComparison.Ordinal)..core.IndexOf("Histograms also", StringComparison.Ordinal)];
        foreach (Match row in TableRow().Matches(table))
        {
            var labelsCell = row.Groups[2].Value.Trim();
            var labels = labelsCell.StartsWith('—') ? [] : labelsCell.Split('—')[0].Split(',').Select(l => l.Trim().Trim('`')).Where(l => l.Length > 0).ToArray();
            result[row.Groups[1].Value] = labels;
        }
        foreach (var number in new[] { 3, 6, 7, 8, 10 })
        {
            var braced = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var bare = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match mention in MetricMention().Matches(sections[number]))
            {
                var name = mention.Groups[1].Value;
                if (!mention.Groups[2].Success)
                {
                    bare.Add(name);
                    continue;
                }
                braced[name] = [.. mention.Groups[2].Value.Trim('{', '}').Split(',')
                    .Select(l => l.Split('=')[0].Trim())
                    .Where(l => l.Length > 0)];
            }
            foreach (var name in bare.Concat(braced.Keys))
            {
                result[name] = braced.TryGetValue(name, out var labels) ? labels : [];
            }
        }
        return result;
    }

    [Fact]
    public void Spec_parse_agrees_with_the_transcription()
    {
        if (SpecPath() is not { } path)
        {
            output.WriteLine("../shared/spec/plugins.md not found: the transcription is the catalogue");
            return;
        }
        var parsed = ParseSpec(File.ReadAllText(path));
        foreach (var name in NotExpected)
        {
            parsed.Remove(name);
        }
        // Names the spec added or dropped since the transcription show up here rather than silently.
        Assert.Equal(Transcribed.Keys.Order(StringComparer.Ordinal), parsed.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, labels) in Transcribed)
        {
            Assert.True(labels.Order(StringComparer.Ordinal).SequenceEqual(parsed[name].Order(StringComparer.Ordinal)), $"{name}: spec says {{{string.Join(',', parsed[name])}}}");
        }
    }

    [Fact]
    public async Task Every_listed_metric_appears_with_its_exact_label_names_after_kubeadm_traffic()
    {
        var catalogue = SpecPath() is { } path ? ParseSpec(File.ReadAllText(path)) : new Dictionary<string, string[]>(Transcribed);
        foreach (var name in NotExpected)
        {
            catalogue.Remove(name);
        }
        output.WriteLine($"catalogue from {SpecPath() ?? "the transcription"}: {catalogue.Count} metrics");

        await using var upstream = await DnsmasqUpstream.StartAsync();
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        var directory = KubeadmStack.NewDirectory();
        var target = KubeadmStack.ForwardTarget(upstream, directory);
        await using var server = await TestDnsServer.StartAsync(KubeadmStack.Corefile(api.Url, target));
        var port = KubeadmStack.HttpPort(server);
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(port, "/ready")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(20)));

        // Representative traffic: cluster and external names, UDP and TCP, DO, a cache hit, an endpoint change.
        await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A);
        await server.QueryAsync("web.example.test.", DnsType.A);
        await server.QueryAsync("web.example.test.", DnsType.A, tcp: true);
        var doQuery = DnsMessage.CreateQuery("other.example.test.", DnsType.A, id: 77, ednsSize: 1232, dnssecOk: true).ToArray();
        Assert.NotNull(await server.ExchangeUdpAsync(doQuery));
        api.Upsert(KubeadmStack.Slice("default", "web-abcde", "web", 80, ["10.244.1.5", "10.244.1.7"], DateTimeOffset.UtcNow));

        // The kubeadm Corefile never prefetches, serves stale, fills 9 984 entries, sees a mismatched reply or a dead
        // upstream in a short test; CoreDNS exports labelled series only once touched, so a second server makes those
        // events happen (same process-wide registry, scraped through the kubeadm server's listener).
        await using var extras = await StartExtrasAsync(upstream);
        await DriveExtrasAsync(extras);

        Exposition scrape = null!;
        var missing = new List<string>();
        Assert.True(await Eventually.Holds(async () =>
        {
            scrape = await KubeadmStack.ScrapeAsync(server);
            missing = [.. catalogue.Keys.Where(name => !Present(scrape, name))];
            if (missing.Contains("coredns_cache_prefetch_total") || missing.Contains("coredns_cache_served_stale_total"))
            {
                await DriveStaleAndPrefetchAsync(extras); // timing-dependent on a loaded machine: try again
            }
            return missing.Count == 0;
        }, TimeSpan.FromSeconds(20)), "missing: " + string.Join(", ", missing));

        foreach (var (name, labels) in catalogue)
        {
            var sampleName = scrape.Types[name] == "histogram" ? name + "_count" : name;
            foreach (var sample in scrape.Find(sampleName))
            {
                Assert.True(labels.Order(StringComparer.Ordinal).SequenceEqual(sample.Labels.Keys.Order(StringComparer.Ordinal)),
                    $"{name}: exported {{{string.Join(',', sample.Labels.Keys)}}}, listed {{{string.Join(',', labels)}}}");
            }
        }

        bool Present(Exposition scrape, string name) =>
            scrape.Types.TryGetValue(name, out var type) && scrape.Find(type == "histogram" ? name + "_count" : name).Any();
    }

    /// <summary>Cache with tiny shards (evictions), 1 s entries (stale), prefetch on the second hit, a reply for another
    /// question from the next plugin (drops), and forward trying a closed port before dnsmasq (health check failures).</summary>
    private static async Task<TestDnsServer> StartExtrasAsync(DnsmasqUpstream upstream)
    {
        var dead = ServerTestKit.FreePort();
        var plugins = TestPlugins.With(TestPlugins.Answering("whoami", _ => request =>
        {
            var reply = request.CreateReply(authoritative: false);
            reply.Questions.Clear();
            reply.Questions.Add(new DnsQuestion(DnsName.Parse("someone.else.drops.test."), DnsType.A));
            reply.Answers.Add(ZoneText.ParseRecord("someone.else.drops.test. 60 IN A 192.0.2.77"));
            return reply;
        }));
        var corefile = $$"""
            example.test:0 {
                cache 30 {
                    success 1024 1 1
                    prefetch 1 1m 90%
                    serve_stale
                }
                forward . 127.0.0.1:{{dead}} {{upstream.To}} {
                    policy sequential
                    health_check 5s
                }
            }
            drops.test:0 {
                cache
                whoami
            }

            """;
        return await TestDnsServer.StartAsync(corefile, plugins: plugins);
    }

    private static async Task DriveExtrasAsync(TestDnsServer extras)
    {
        var endpoints = extras.Endpoints.Values.ToList();
        foreach (var endpoint in endpoints)
        {
            // drops.test: the reply is for another name, so cache drops it.
            var drop = DnsMessage.CreateQuery("x.drops.test.", DnsType.A, id: 3).ToArray();
            await TestDnsServer.ExchangeUdpAsync(new IPEndPoint(IPAddress.Loopback, endpoint.Port), drop);
        }
        // Fill 4-entry shards until one evicts: names under *.wild.example.test all resolve.
        for (var batch = 0; batch < 16; batch++)
        {
            var queries = new List<Task<byte[]?>>();
            for (var i = 0; i < 100; i++)
            {
                var name = $"n{batch * 100 + i}.wild.example.test.";
                queries.Add(extras.ExchangeUdpAsync(DnsMessage.CreateQuery(name, DnsType.A, id: (ushort)(i + 1)).ToArray()));
            }
            await Task.WhenAll(queries);
        }
        await DriveStaleAndPrefetchAsync(extras);
    }

    /// <summary>Prefetch (second hit within the window, TTL ≤ 90% of 1 s), then stale once the 1 s entry expired.</summary>
    private static async Task DriveStaleAndPrefetchAsync(TestDnsServer extras)
    {
        await extras.QueryAsync("web.example.test.", DnsType.A);
        await extras.QueryAsync("web.example.test.", DnsType.A);
        await Task.Delay(TimeSpan.FromMilliseconds(2100));
        await extras.QueryAsync("web.example.test.", DnsType.A);
    }
}
