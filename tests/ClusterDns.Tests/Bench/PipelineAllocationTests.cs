using ClusterDns.Benchmarks.Pipeline;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Bench;

/// <summary>
/// Guards what bench/ClusterDns.Benchmarks/Pipeline measures: once a reply is compiled, answering a query through
/// the real QueryProcessor, routes and kubernetes/hosts plugins allocates nothing (A hit, headless, NODATA, SRV,
/// NXDOMAIN, PTR, EDNS, hosts, cache hits of a success and of a NODATA denial). A regression here shows up as GC time under load long before it shows in QPS.
/// </summary>
public sealed class PipelineAllocationTests : IAsyncLifetime
{
    private const string ClusterYaml = """
        {"apiVersion": "v1", "kind": "List", "items": [
          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-5"}},
          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-3"}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-5", "namespace": "ns-5"},
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.1.5", "clusterIPs": ["10.96.1.5"],
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hl-3", "namespace": "ns-3"},
           "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
          {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "hl-3-x", "namespace": "ns-3", "labels": {"kubernetes.io/service-name": "hl-3"}},
           "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
           "endpoints": [{"addresses": ["10.244.3.10"], "hostname": "ep-0", "conditions": {"ready": true}},
                         {"addresses": ["10.244.3.11"], "hostname": "ep-1", "conditions": {"ready": true}}]}
        ]}
        """;

    private InMemoryPipeline _pipeline = null!;

    public async Task InitializeAsync()
    {
        _pipeline = await InMemoryPipeline.StartAsync("""
            .:5399 {
                kubernetes cluster.local in-addr.arpa {
                    snapshot cluster.yaml
                }
            }
            example.org:5399 {
                hosts hosts
            }
            cached.example:5399 {
                cache 30
                hosts hosts
            }
            """, new Dictionary<string, string>
        {
            ["cluster.yaml"] = ClusterYaml,
            ["hosts"] = "10.0.0.1 web.example.org\n10.0.0.3 web.cached.example\n",
        });
        Assert.True(_pipeline.Config.Blocks.SelectMany(b => b.Plugins).OfType<KubernetesPlugin>().Single().IsReady);
    }

    public async Task DisposeAsync() => await _pipeline.DisposeAsync();

    [Theory]
    [InlineData("svc-5.ns-5.svc.cluster.local", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("svc-5.ns-5.svc.cluster.local", DnsType.A, true, DnsRcode.NoError)]
    [InlineData("hl-3.ns-3.svc.cluster.local", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("svc-5.ns-5.svc.cluster.local", DnsType.AAAA, false, DnsRcode.NoError)]
    [InlineData("_http._tcp.svc-5.ns-5.svc.cluster.local", DnsType.SRV, false, DnsRcode.NoError)]
    [InlineData("svc-5.ns-5.svc.cluster.local.ns-3.svc.cluster.local", DnsType.A, false, DnsRcode.NXDomain)]
    [InlineData("5.1.96.10.in-addr.arpa", DnsType.PTR, false, DnsRcode.NoError)]
    [InlineData("web.example.org", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("web.cached.example", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("web.cached.example", DnsType.AAAA, false, DnsRcode.NoError)] // NODATA
    public void Answering_allocates_nothing(string name, DnsType type, bool edns, DnsRcode rcode)
    {
        var query = InMemoryPipeline.Query(name, type, edns);
        var request = new DnsRequest(System.Net.Sockets.AddressFamily.InterNetwork);
        // The warm-up compiles the reply and lets the JIT settle the call sites.
        Allocations.AssertNonePerCall(() => _pipeline.Answer(request, query), $"{name} {type}");
        Assert.True(request.Response.Written);
        Assert.Equal(rcode, request.Response.Rcode);
    }
}
