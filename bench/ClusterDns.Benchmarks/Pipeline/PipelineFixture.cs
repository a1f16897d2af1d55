using System.Text.Json;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// A real server configuration without sockets: the Corefile the load benchmark serves (kubernetes plugin on the
/// synthetic cluster of bench/load, written here as gen-k8s.py writes it) plus a hosts block and a `cache` block
/// (cache in front of hosts, so a cache hit is measured without an upstream socket), built by
/// <see cref="ClusterDnsApp.Load"/> and started, so queries go through the same QueryProcessor, routes and plugins
/// as UDP queries do. Queries are byte-for-byte what dnsperf/udp-blast send (RD, no EDNS).
/// </summary>
public sealed class PipelineFixture : IAsyncDisposable
{
    public const string Port = "5399";

    private readonly string _directory;
    private readonly ServerConfig _config;

    private PipelineFixture(string directory, ServerConfig config, ListenerRoutes routes, KubernetesPlugin kubernetes)
    {
        _directory = directory;
        _config = config;
        Routes = routes;
        Kubernetes = kubernetes;
    }

    public ListenerRoutes Routes { get; }

    public KubernetesPlugin Kubernetes { get; }

    public ILogger Logger { get; } = NullLogger.Instance;

    /// <summary>Builds and starts the configuration for a cluster of <paramref name="services"/> ClusterIP services.
    /// <paramref name="cacheInFront"/>: the kubernetes block gets <c>cache 3600</c> (and <c>ttl 3600</c>), so after one
    /// pass every question of a mix is a cache hit: the cache-hit path with the load's working set.</summary>
    public static async Task<PipelineFixture> StartAsync(int services = 1000, bool cacheInFront = false)
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "cluster.yaml"), ClusterYaml(services)).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "hosts"), "10.0.0.1 web.example.org\n10.0.0.2 db.example.org\n10.0.0.3 web.cached.example\n").ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), $$"""
            .:{{Port}} {
                {{(cacheInFront ? "cache 3600" : "")}}
                kubernetes cluster.local in-addr.arpa {
                    snapshot cluster.yaml
                    {{(cacheInFront ? "ttl 3600" : "")}}
                }
            }
            example.org:{{Port}} {
                hosts hosts
            }
            cached.example:{{Port}} {
                cache 30
                hosts hosts
            }
            """).ConfigureAwait(false);
        var app = new ClusterDnsApp(new AppOptions { Conf = Path.Combine(directory, "Corefile"), Quiet = true, WorkingDirectory = directory },
            NullLoggerFactory.Instance);
        var config = app.Load();
        foreach (var lifecycle in config.Lifecycles)
        {
            await lifecycle.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var routes = config.Listeners.Single().Routes;
        var kubernetes = config.Blocks.SelectMany(b => b.Plugins).OfType<KubernetesPlugin>().Single();
        if (!kubernetes.IsReady)
        {
            throw new InvalidOperationException("kubernetes snapshot did not load");
        }
        return new PipelineFixture(directory, config, routes, kubernetes);
    }

    /// <summary>A query as dnsperf writes it: id, RD, one question, no EDNS.</summary>
    public static byte[] Query(string name, DnsType type, bool edns = false)
    {
        var message = new DnsMessage();
        message.Header.Id = 0x1234;
        message.Header.RecursionDesired = true;
        message.Questions.Add(new DnsQuestion(DnsName.Parse(name), type));
        if (edns)
        {
            message.Additionals.Add(OptRecord.Create(1232));
        }
        return message.ToArray();
    }

    /// <summary>Loads <paramref name="query"/> into <paramref name="request"/> as a socket receive does.</summary>
    public static QueryDisposition Receive(DnsRequest request, byte[] query)
    {
        query.CopyTo(request.QueryBuffer, 0);
        return request.Prepare(query.Length, DnsTransport.Udp);
    }

    /// <summary>The whole in-memory pipeline: datagram bytes in, reply length out (0 when nothing is sent).</summary>
    public int Answer(DnsRequest request, byte[] query)
    {
        var disposition = Receive(request, query);
        var pending = QueryProcessor.ProcessAsync(request, disposition, Routes, Logger, CancellationToken.None);
        if (!pending.IsCompletedSuccessfully)
        {
            // Never on these paths (no plugin awaits I/O); a benchmark that got here would measure the wrong thing.
            throw new InvalidOperationException("the chain went asynchronous");
        }
        return request.Response.Written ? request.Response.Length : 0;
    }

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

    public async ValueTask DisposeAsync()
    {
        foreach (var lifecycle in _config.Lifecycles)
        {
            await lifecycle.StopAsync().ConfigureAwait(false);
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
