using System.Text.Json;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The load benchmark's configuration without sockets (an <see cref="InMemoryPipeline"/>): the Corefile it serves
/// (kubernetes plugin on the synthetic cluster of bench/load, written here as gen-k8s.py writes it) plus a hosts block
/// and a `cache` block (cache in front of hosts, so a cache hit is measured without an upstream socket), built and
/// started. Queries are byte-for-byte what dnsperf/udp-blast send (RD, no EDNS).
/// </summary>
public sealed class PipelineFixture : IAsyncDisposable
{
    public const string Port = "5399";

    private readonly InMemoryPipeline _pipeline;

    private PipelineFixture(InMemoryPipeline pipeline, KubernetesPlugin kubernetes)
    {
        _pipeline = pipeline;
        Kubernetes = kubernetes;
    }

    public ListenerRoutes Routes => _pipeline.Routes;

    public KubernetesPlugin Kubernetes { get; }

    public ILogger Logger { get; } = NullLogger.Instance;

    /// <summary>Builds and starts the configuration for a cluster of <paramref name="services"/> ClusterIP services.</summary>
    public static async Task<PipelineFixture> StartAsync(int services = 1000)
    {
        var pipeline = await InMemoryPipeline.StartAsync($$"""
            .:{{Port}} {
                kubernetes cluster.local in-addr.arpa {
                    snapshot cluster.yaml
                }
            }
            example.org:{{Port}} {
                hosts hosts
            }
            cached.example:{{Port}} {
                cache 30
                hosts hosts
            }
            """, new Dictionary<string, string>
        {
            ["cluster.yaml"] = ClusterYaml(services),
            ["hosts"] = "10.0.0.1 web.example.org\n10.0.0.2 db.example.org\n10.0.0.3 web.cached.example\n",
        }).ConfigureAwait(false);
        var kubernetes = pipeline.Config.Blocks.SelectMany(b => b.Plugins).OfType<KubernetesPlugin>().Single();
        if (!kubernetes.IsReady)
        {
            throw new InvalidOperationException("kubernetes snapshot did not load");
        }
        return new PipelineFixture(pipeline, kubernetes);
    }

    /// <summary>A query as dnsperf writes it: id, RD, one question, no EDNS.</summary>
    public static byte[] Query(string name, DnsType type, bool edns = false) => InMemoryPipeline.Query(name, type, edns);

    /// <summary>Loads <paramref name="query"/> into <paramref name="request"/> as a socket receive does.</summary>
    public static QueryDisposition Receive(DnsRequest request, byte[] query) => InMemoryPipeline.Receive(request, query);

    /// <summary>The whole in-memory pipeline: datagram bytes in, reply length out (0 when nothing is sent).</summary>
    public int Answer(DnsRequest request, byte[] query) => _pipeline.Answer(request, query);

    /// <summary>gen-k8s.py's cluster: 20 namespaces, N ClusterIP services with port http, 10 headless x 5 endpoints.</summary>
    public static string ClusterYaml(int services, int namespaces = 20, int headless = 10, int endpoints = 5)
    {
        var items = new List<object>();
        for (var j = 0; j < namespaces; j++)
        {
            items.Add(new { apiVersion = "v1", kind = "Namespace", metadata = new { name = $"ns-{j}" } });
        }
        items.Add(new { apiVersion = "v1", kind = "Namespace", metadata = new { name = "default" } });
        var port = new[] { new { name = "http", port = 80, protocol = "TCP" } };
        for (var i = 0; i < services; i++)
        {
            var n = 256 + i;
            var ip = $"10.96.{(n >> 8) & 0xFF}.{n & 0xFF}";
            items.Add(new
            {
                apiVersion = "v1", kind = "Service", metadata = new { name = $"svc-{i}", @namespace = $"ns-{i % namespaces}" },
                spec = new { type = "ClusterIP", clusterIP = ip, clusterIPs = new[] { ip }, ports = port },
            });
        }
        for (var k = 0; k < headless; k++)
        {
            var ns = $"ns-{k % namespaces}";
            items.Add(new
            {
                apiVersion = "v1", kind = "Service", metadata = new { name = $"hl-{k}", @namespace = ns },
                spec = new { clusterIP = "None", clusterIPs = new[] { "None" }, ports = port },
            });
            items.Add(new
            {
                apiVersion = "discovery.k8s.io/v1", kind = "EndpointSlice",
                metadata = new
                {
                    name = $"hl-{k}-x", @namespace = ns,
                    labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = $"hl-{k}" },
                },
                addressType = "IPv4", ports = port,
                endpoints = Enumerable.Range(0, endpoints).Select(e => new
                {
                    addresses = new[] { $"10.244.{k}.{10 + e}" }, hostname = $"ep-{e}", conditions = new { ready = true },
                }).ToArray(),
            });
        }
        // JSON is YAML: the snapshot loader reads it as gen-k8s.py writes it.
        return JsonSerializer.Serialize(new { apiVersion = "v1", kind = "List", items }) + "\n";
    }

    public ValueTask DisposeAsync() => _pipeline.DisposeAsync();
}
