using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.Plugins.K8sExternal;

/// <summary>
/// A k8s_external hit allocates nothing once its reply is compiled (as the kubernetes plugin's): an external A, a
/// load-balancer CNAME, SRV, the apex SOA, NXDOMAIN, with and without EDNS; and a reply is never served from a
/// cluster state that was replaced.
/// </summary>
public sealed class K8sExternalAllocationTests : IAsyncLifetime
{
    private const string ClusterJson = """
        {"apiVersion": "v1", "kind": "List", "items": [
          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "testns"}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc1", "namespace": "testns"},
           "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "externalIPs": ["1.2.3.4"],
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}},
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc12", "namespace": "testns"},
           "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.12", "clusterIPs": ["10.0.0.12"],
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
           "status": {"loadBalancer": {"ingress": [{"hostname": "dummy.hostname"}]}}}
        ]}
        """;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "clusterdns-k8sext-alloc-" + Guid.NewGuid().ToString("N")[..12]);
    private ServerConfig _config = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(Path.Combine(_directory, "cluster.json"), ClusterJson);
        await File.WriteAllTextAsync(Path.Combine(_directory, "Corefile"), """
            .:5399 {
                kubernetes cluster.local {
                    snapshot cluster.json
                }
                k8s_external example.com
            }
            """);
        var app = new ClusterDnsApp(new AppOptions { Conf = Path.Combine(_directory, "Corefile"), Quiet = true, WorkingDirectory = _directory },
            NullLoggerFactory.Instance);
        _config = app.Load();
        foreach (var lifecycle in _config.Lifecycles)
        {
            await lifecycle.StartAsync(CancellationToken.None);
        }
        Assert.True(_config.Blocks.SelectMany(b => b.Plugins).OfType<KubernetesPlugin>().Single().IsReady);
    }

    public async Task DisposeAsync()
    {
        foreach (var lifecycle in _config.Lifecycles)
        {
            await lifecycle.StopAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("svc1.testns.example.com", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("svc1.testns.example.com", DnsType.A, true, DnsRcode.NoError)]
    [InlineData("SVC1.TestNS.example.com", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("svc12.testns.example.com", DnsType.A, false, DnsRcode.NoError)]
    [InlineData("_http._tcp.svc1.testns.example.com", DnsType.SRV, true, DnsRcode.NoError)]
    [InlineData("svc1.testns.example.com", DnsType.AAAA, false, DnsRcode.NoError)]
    [InlineData("example.com", DnsType.SOA, false, DnsRcode.NoError)]
    [InlineData("svc0.testns.example.com", DnsType.A, true, DnsRcode.NXDomain)]
    public void A_hit_allocates_nothing(string name, DnsType type, bool edns, DnsRcode rcode)
    {
        var query = Query(name, type, edns, id: 0x1234);
        var routes = _config.Listeners.Single().Routes;
        var request = new DnsRequest(System.Net.Sockets.AddressFamily.InterNetwork);
        for (var i = 0; i < 100; i++)
        {
            Answer(request, query, routes);
        }
        Assert.True(request.Response.Written);
        Assert.Equal(rcode, request.Response.Rcode);
        Assert.Equal("k8s_external", request.Response.Plugin);
        // As PipelineAllocationTests: a per-query allocation shows in every round, runtime housekeeping in one.
        var rounds = new long[3];
        for (var round = 0; round < rounds.Length; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                Answer(request, query, routes);
            }
            rounds[round] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (rounds[round] == 0)
            {
                return;
            }
        }
        Assert.Fail($"{name} {type}: allocated in every round of 1000 queries: {string.Join(", ", rounds)} bytes");
    }

    [Fact]
    public void A_cached_reply_carries_this_query_s_id_flags_and_case()
    {
        var routes = _config.Listeners.Single().Routes;
        var request = new DnsRequest(System.Net.Sockets.AddressFamily.InterNetwork);
        Answer(request, Query("svc1.testns.example.com", DnsType.A, edns: true, id: 1), routes);
        var second = Query("Svc1.TestNS.Example.com", DnsType.A, edns: false, id: 2);
        Answer(request, second, routes);
        Answer(request, second, routes);
        var reply = DnsMessage.Parse(request.Response.Bytes);
        Assert.Equal(2, reply.Header.Id);
        Assert.Null(reply.Opt);
        Assert.Equal("Svc1.TestNS.Example.com.", reply.Questions[0].Name.ToString());
        var a = Assert.IsType<ARecord>(Assert.Single(reply.Answers));
        Assert.Equal("1.2.3.4", a.Address.ToString());
    }

    private static void Answer(DnsRequest request, byte[] query, ListenerRoutes routes)
    {
        query.CopyTo(request.QuerySpace(query.Length));
        var disposition = request.Prepare(query.Length, DnsTransport.Udp);
        var pending = QueryProcessor.ProcessAsync(request, disposition, routes, NullLogger.Instance, CancellationToken.None);
        Assert.True(pending.IsCompletedSuccessfully);
    }

    private static byte[] Query(string name, DnsType type, bool edns, ushort id)
    {
        var message = new DnsMessage();
        message.Header.Id = id;
        message.Header.RecursionDesired = true;
        message.Questions.Add(new DnsQuestion(DnsName.Parse(name), type));
        if (edns)
        {
            message.Additionals.Add(OptRecord.Create(1232));
        }
        return message.ToArray();
    }
}
