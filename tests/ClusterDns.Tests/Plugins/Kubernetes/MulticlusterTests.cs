using System.Net;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Tests.EndToEnd;
using ClusterDns.Tests.TestSupport;
using k8s.Models;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>
/// `multicluster clusterset.local`: the zone is answered from MCS ServiceImports and their multicluster EndpointSlices
/// (watched from the test API server over the real list/watch protocol), never from Services — through the real
/// server over UDP, cases after CoreDNS's multicluster handler tests.
/// </summary>
public sealed class MulticlusterTests(MulticlusterTests.Cluster cluster) : IClassFixture<MulticlusterTests.Cluster>
{
    /// <summary>One API server and one DNS server (with `multicluster clusterset.local`) for the table.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        public TestApiServer Api { get; private set; } = null!;

        public TestDnsServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Api = await TestApiServer.StartAsync();
            Load(Api);
            Server = await TestDnsServer.StartAsync(Corefile(Api.Url, "multicluster clusterset.local"));
        }

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            await Api.DisposeAsync();
        }
    }

    private const string Soa = "clusterset.local. 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. 1700000000 7200 1800 86400 5";

    public static TheoryData<DnsCase> Cases() =>
    [
        new("web.ns1.svc.clusterset.local.", DnsType.A) { Answer = ["web.ns1.svc.clusterset.local. 5 IN A 10.200.0.1"] },
        new("web.ns1.svc.clusterset.local.", DnsType.AAAA) { Authority = [Soa] },
        new("WEB.ns1.svc.clusterset.local.", DnsType.A) { Answer = ["WEB.ns1.svc.clusterset.local. 5 IN A 10.200.0.1"] },
        new("web.ns1.svc.clusterset.local.", DnsType.SRV)
        {
            Answer = ["web.ns1.svc.clusterset.local. 5 IN SRV 0 100 80 web.ns1.svc.clusterset.local."],
            Additional = ["web.ns1.svc.clusterset.local. 5 IN A 10.200.0.1"],
        },
        new("_http._tcp.web.ns1.svc.clusterset.local.", DnsType.SRV)
        {
            Answer = ["_http._tcp.web.ns1.svc.clusterset.local. 5 IN SRV 0 100 80 web.ns1.svc.clusterset.local."],
            Additional = ["web.ns1.svc.clusterset.local. 5 IN A 10.200.0.1"],
        },
        new("_https._tcp.web.ns1.svc.clusterset.local.", DnsType.SRV, DnsRcode.NXDomain) { Authority = [Soa] },
        // A Service without a ServiceImport does not exist in the clusterset zone ...
        new("only.ns1.svc.clusterset.local.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        // ... and the ordinary zone still answers from Services, not imports.
        new("web.ns1.svc.cluster.local.", DnsType.A) { Answer = ["web.ns1.svc.cluster.local. 5 IN A 10.96.0.11"] },
        new("hl.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NXDomain)
        {
            Authority = ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5"],
        },
        // Headless import: every ready endpoint of every cluster; endpoint names carry the cluster id.
        new("hl.ns1.svc.clusterset.local.", DnsType.A)
        {
            Answer = ["hl.ns1.svc.clusterset.local. 5 IN A 10.1.0.1", "hl.ns1.svc.clusterset.local. 5 IN A 10.2.0.5"],
        },
        new("hl.ns1.svc.clusterset.local.", DnsType.SRV)
        {
            Answer =
            [
                "hl.ns1.svc.clusterset.local. 5 IN SRV 0 50 80 web-0.c1.hl.ns1.svc.clusterset.local.",
                "hl.ns1.svc.clusterset.local. 5 IN SRV 0 50 80 10-2-0-5.c2.hl.ns1.svc.clusterset.local.",
            ],
            Additional =
            [
                "web-0.c1.hl.ns1.svc.clusterset.local. 5 IN A 10.1.0.1",
                "10-2-0-5.c2.hl.ns1.svc.clusterset.local. 5 IN A 10.2.0.5",
            ],
        },
        new("web-0.c1.hl.ns1.svc.clusterset.local.", DnsType.A) { Answer = ["web-0.c1.hl.ns1.svc.clusterset.local. 5 IN A 10.1.0.1"] },
        new("10-2-0-5.c2.hl.ns1.svc.clusterset.local.", DnsType.A) { Answer = ["10-2-0-5.c2.hl.ns1.svc.clusterset.local. 5 IN A 10.2.0.5"] },
        new("web-0.c2.hl.ns1.svc.clusterset.local.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("web-0.hl.ns1.svc.clusterset.local.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("hl.ns2.svc.clusterset.local.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("ns1.svc.clusterset.local.", DnsType.A) { Authority = [Soa] },
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Clusterset_zone_answers_from_service_imports(DnsCase c) =>
        c.AssertMatches(await QueryAsync(cluster.Server.Endpoint, c.Name, c.Type), ConformanceEndToEndTests.PinSerial);

    /// <summary>One UDP exchange with a timeout generous enough for a loaded machine.</summary>
    internal static async Task<DnsMessage> QueryAsync(IPEndPoint server, string name, DnsType type)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
        var reply = await TestDnsServer.ExchangeUdpAsync(server, query, TimeSpan.FromSeconds(15));
        Assert.NotNull(reply);
        return DnsMessage.Parse(reply);
    }

    [Fact]
    public async Task Imports_are_watched_only_with_a_multicluster_zone_and_follow_the_api()
    {
        await using var api = await TestApiServer.StartAsync();
        Load(api);
        await using (var plain = await TestDnsServer.StartAsync(Corefile(api.Url, "")))
        {
            // Without `multicluster` the clusterset zone is an ordinary zone and nothing MCS is requested.
            var reply = await QueryAsync(plain.Endpoint, "web.ns1.svc.clusterset.local.", DnsType.A);
            Assert.Equal("10.96.0.11", ((ARecord)Assert.Single(reply.Answers)).Address.ToString());
            Assert.Equal(0, api.ListRequests(ApiResource.ServiceImports));
        }

        await using var server = await TestDnsServer.StartAsync(Corefile(api.Url, "multicluster clusterset.local"));
        Assert.True(api.ListRequests(ApiResource.ServiceImports) > 0);
        await Expect(server.Endpoint, "web.ns1.svc.clusterset.local.", "10.200.0.1");
        api.Upsert(Import("ns1", "web", "ClusterSetIP", ["10.200.0.2"]));
        await Expect(server.Endpoint, "web.ns1.svc.clusterset.local.", "10.200.0.2");
        api.Upsert(McsSlice("ns1", "hl-c3", "hl", "c3", "10.3.0.7", "db-0"));
        await Expect(server.Endpoint, "db-0.c3.hl.ns1.svc.clusterset.local.", "10.3.0.7");
        Assert.True(api.Delete(ApiResource.EndpointSlices, "ns1", "hl-c1"));
        await Expect(server.Endpoint, "hl.ns1.svc.clusterset.local.", "10.2.0.5", "10.3.0.7");
        Assert.True(api.Delete(ApiResource.ServiceImports, "ns1", "web"));
        await Expect(server.Endpoint, "web.ns1.svc.clusterset.local.");
    }

    [Fact]
    public void Snapshot_files_carry_service_imports_and_multicluster_slices()
    {
        var state = SnapshotLoader.Parse("""
            apiVersion: v1
            kind: List
            items:
            - apiVersion: multicluster.x-k8s.io/v1alpha1
              kind: ServiceImport
              metadata: {name: web, namespace: ns1}
              spec: {type: ClusterSetIP, ips: [10.200.0.1], ports: [{name: http, protocol: TCP, port: 80}]}
            - apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata:
                name: web-c1
                namespace: ns1
                labels: {multicluster.kubernetes.io/service-name: web, multicluster.kubernetes.io/source-cluster: c1}
              addressType: IPv4
              endpoints: [{addresses: [10.1.0.1]}]
            """);
        var import = Assert.Single(state.ServiceImports);
        Assert.Equal((ServiceImportType.ClusterSetIP, "10.200.0.1", 80), (import.Type, import.Ips[0], import.Ports[0].Port));
        var slice = Assert.Single(state.GetMcsSlices("ns1", "web"));
        Assert.Equal(("c1", "10.1.0.1"), (slice.ClusterId, slice.Slice.Endpoints[0].Addresses[0]));
    }

    private static Task Expect(IPEndPoint target, string name, params string[] addresses) =>
        Eventually.True(async () =>
        {
            var reply = await QueryAsync(target, name, DnsType.A);
            var got = reply.Answers.OfType<ARecord>().Select(a => a.Address.ToString()).Order(StringComparer.Ordinal);
            return addresses.Length == 0 ? reply.Rcode == DnsRcode.NXDomain : got.SequenceEqual(addresses.Order(StringComparer.Ordinal));
        }, addresses.Length == 0 ? $"{name} NXDOMAIN" : $"{name} -> {string.Join(",", addresses)}", TimeSpan.FromSeconds(30));

    private static string Corefile(string endpoint, string option) => $$"""
        .:0 {
            bind 127.0.0.1
            kubernetes cluster.local clusterset.local {
                endpoint {{endpoint}}
                {{option}}
            }
        }
        """;

    private static void Load(TestApiServer api)
    {
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "ns1" } });
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "ns2" } });
        api.Upsert(Service("ns1", "web", "10.96.0.11"));
        api.Upsert(Service("ns1", "only", "10.96.0.12"));
        api.Upsert(Import("ns1", "web", "ClusterSetIP", ["10.200.0.1"]));
        api.Upsert(Import("ns1", "hl", "Headless", []));
        api.Upsert(McsSlice("ns1", "hl-c1", "hl", "c1", "10.1.0.1", "web-0"));
        api.Upsert(McsSlice("ns1", "hl-c2", "hl", "c2", "10.2.0.5", null));
    }

    private static V1Service Service(string ns, string name, string ip) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP", ClusterIP = ip, ClusterIPs = [ip],
            Ports = [new V1ServicePort { Name = "http", Protocol = "TCP", Port = 80 }],
        },
    };

    private static V1Alpha1ServiceImport Import(string ns, string name, string type, string[] ips) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1Alpha1ServiceImportSpec
        {
            Type = type, Ips = ips,
            Ports = [new V1Alpha1ServiceImportPort { Name = "http", Protocol = "TCP", Port = 80 }],
        },
    };

    private static V1EndpointSlice McsSlice(string ns, string name, string service, string cluster, string address, string? hostname) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = ns,
            Labels = new Dictionary<string, string>
            {
                [ModelConverter.McsServiceNameLabel] = service,
                [ModelConverter.McsSourceClusterLabel] = cluster,
            },
        },
        AddressType = "IPv4",
        Endpoints = [new V1Endpoint { Addresses = [address], Hostname = hostname, Conditions = new V1EndpointConditions { Ready = true } }],
        Ports = [new Discoveryv1EndpointPort { Name = "http", Protocol = "TCP", Port = 80 }],
    };
}
