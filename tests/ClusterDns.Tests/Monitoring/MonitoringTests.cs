using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using YamlDotNet.RepresentationModel;

namespace ClusterDns.Tests.Monitoring;

/// <summary>
/// deploy/monitoring: the Grafana dashboard and the Prometheus alerting rules use only metrics ClusterDns exports.
/// Every metric name in every PromQL expression (panel targets, template queries, rule exprs) must be in a live scrape
/// of the kubeadm Corefile after cluster, forwarded and cached traffic, a failing upstream and an EndpointSlice change.
/// </summary>
[Collection("Prometheus")]
public sealed partial class MonitoringTests
{
    /// <summary>Series Prometheus records itself about a target, not exported by it.</summary>
    private static readonly HashSet<string> RecordedByPrometheus = new(StringComparer.Ordinal) { "up" };

    private static readonly string[] HistogramSuffixes = ["_bucket", "_count", "_sum"];

    private static readonly string[] FileNames = ["dashboard.json", "alerts.yaml"];

    public static TheoryData<string> Files() => [.. FileNames];

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_expression_names_a_metric(string file)
    {
        var expressions = Expressions(file);
        Assert.True(expressions.Count >= 10, $"{file}: only {expressions.Count} expressions");
        foreach (var expression in expressions)
        {
            Assert.True(MetricNames(expression).Count > 0, $"{file}: no metric in `{expression}`");
        }
    }

    [Fact]
    public void Dashboard_and_rules_cover_what_the_coredns_mixin_covers_plus_programming_latency()
    {
        var dashboard = Expressions("dashboard.json").SelectMany(MetricNames).ToHashSet(StringComparer.Ordinal);
        var rules = Expressions("alerts.yaml").SelectMany(MetricNames).ToHashSet(StringComparer.Ordinal);
        foreach (var (what, metric) in new[]
        {
            ("up", "up"),
            ("request rate by type", "coredns_dns_requests_total"),
            ("responses by rcode", "coredns_dns_responses_total"),
            ("latency quantiles", "coredns_dns_request_duration_seconds_bucket"),
            ("cache hits", "coredns_cache_hits_total"),
            ("cache misses", "coredns_cache_misses_total"),
            ("forward latency", "coredns_proxy_request_duration_seconds_bucket"),
            ("forward errors", "coredns_proxy_request_duration_seconds_count"),
            ("forward health checks", "coredns_proxy_healthcheck_failures_total"),
            ("panics", "coredns_panics_total"),
            ("DNS programming latency", "coredns_kubernetes_dns_programming_duration_seconds_bucket"),
        })
        {
            Assert.True(dashboard.Contains(metric), $"dashboard lacks {what} ({metric})");
        }
        foreach (var alert in new[] { "CoreDNSDown", "CoreDNSLatencyHigh", "CoreDNSErrorsHigh", "CoreDNSForwardLatencyHigh", "CoreDNSForwardErrorsHigh",
            "CoreDNSForwardHealthcheckFailureCount", "CoreDNSForwardHealthcheckBrokenCount", "CoreDNSPanics", "ClusterDnsProgrammingLatencyHigh" })
        {
            Assert.Contains($"- alert: {alert}\n", File.ReadAllText(MonitoringPath("alerts.yaml")), StringComparison.Ordinal);
        }
        Assert.Contains("coredns_kubernetes_dns_programming_duration_seconds_bucket", rules);
    }

    [Fact]
    public async Task Every_metric_the_dashboard_and_rules_use_is_exported()
    {
        var used = FileNames.SelectMany(Expressions)
            .SelectMany(MetricNames)
            .Where(name => !RecordedByPrometheus.Contains(name))
            .ToHashSet(StringComparer.Ordinal);

        await using var upstream = await DnsmasqUpstream.StartAsync();
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        // forward to dnsmasq and to a closed port: queries sent there fail, which starts the health checks.
        var dead = ServerTestKit.FreePort();
        await using var server = await TestDnsServer.StartAsync(KubeadmStack.Corefile(api.Url, $"127.0.0.1:{dead} {upstream.To}"));
        var port = KubeadmStack.HttpPort(server);
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.GetAsync(port, "/ready")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(20)));

        // Cluster names (UDP and TCP), an external name twice (forwarded, then a cache hit), a DO query, an endpoint change.
        await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A);
        await server.QueryAsync("db.default.svc.cluster.local.", DnsType.A, tcp: true);
        await server.QueryAsync("web.example.test.", DnsType.A);
        await server.QueryAsync("web.example.test.", DnsType.A);
        var doQuery = DnsMessage.CreateQuery("other.example.test.", DnsType.A, id: 77, ednsSize: 1232, dnssecOk: true).ToArray();
        Assert.NotNull(await server.ExchangeUdpAsync(doQuery));
        api.Upsert(KubeadmStack.Slice("default", "web-abcde", "web", 80, ["10.244.1.5", "10.244.1.7"], DateTimeOffset.UtcNow));

        Exposition scrape = null!;
        var missing = new List<string>();
        var round = 0;
        Assert.True(await Eventually.Holds(async () =>
        {
            // Fresh names until the random policy has sent some to the closed port (bounded by the deadline).
            for (var i = 0; i < 4; i++)
            {
                await server.QueryAsync($"n{round}-{i}.example.test.", DnsType.A);
            }
            round++;
            scrape = await KubeadmStack.ScrapeAsync(server);
            missing = [.. used.Where(name => !Exported(scrape, name)).Order(StringComparer.Ordinal)];
            return missing.Count == 0;
        }, TimeSpan.FromSeconds(45)), $"used by deploy/monitoring but not exported: {string.Join(", ", missing)}");
    }

    /// <summary>Exported: a family of that name has a sample, or the name is a histogram family's _bucket/_count/_sum.</summary>
    private static bool Exported(Exposition scrape, string name)
    {
        if (scrape.Types.ContainsKey(name))
        {
            return scrape.Find(scrape.Types[name] == "histogram" ? name + "_count" : name).Any();
        }
        foreach (var suffix in HistogramSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && scrape.Types.TryGetValue(name[..^suffix.Length], out var type) && type == "histogram")
            {
                return scrape.Find(name).Any();
            }
        }
        return false;
    }

    /// <summary>The PromQL of a file: the dashboard's target exprs and template queries, the rules' exprs.</summary>
    private static List<string> Expressions(string file)
    {
        var path = MonitoringPath(file);
        var expressions = new List<string>();
        if (file.EndsWith(".json", StringComparison.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            Collect(document.RootElement);
            return expressions;

            void Collect(JsonElement element)
            {
                if (element.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.Name is "expr" or "query" && property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() != "prometheus")
                        {
                            expressions.Add(property.Value.GetString()!);
                        }
                        Collect(property.Value);
                    }
                }
                else if (element.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in element.EnumerateArray())
                    {
                        Collect(item);
                    }
                }
            }
        }
        var yaml = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(path)))
        {
            yaml.Load(reader);
        }
        var groups = (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["groups"];
        foreach (var group in groups.Children.Cast<YamlMappingNode>())
        {
            foreach (var rule in ((YamlSequenceNode)group["rules"]).Children.Cast<YamlMappingNode>())
            {
                expressions.Add(((YamlScalarNode)rule["expr"]).Value!);
            }
        }
        return expressions;
    }

    /// <summary>Metric names in PromQL: every selector's name (<c>name{</c>) and label_values' metric.</summary>
    private static List<string> MetricNames(string expression) =>
        [.. Selector().Matches(expression).Select(m => m.Groups["name"].Value)
            .Concat(LabelValues().Matches(expression).Select(m => m.Groups["name"].Value))
            .Distinct(StringComparer.Ordinal)];

    [GeneratedRegex(@"(?<![\w:])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")]
    private static partial Regex Selector();

    [GeneratedRegex(@"label_values\(\s*(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*[,)]")]
    private static partial Regex LabelValues();

    private static string MonitoringPath(string file, [CallerFilePath] string path = "")
    {
        var directory = Path.GetDirectoryName(path)!;
        while (!Directory.Exists(Path.Combine(directory, "src", "ClusterDns")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }
        return Path.Combine(directory, "deploy", "monitoring", file);
    }
}
