using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.EndToEnd;
using ClusterDns.Tests.TestSupport;
using k8s.Models;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.K8sExternal;

/// <summary>
/// k8s_external through the real server over UDP, fed by the kubernetes plugin from the test API server: the table
/// of CoreDNS's external_test.go (services with external and load-balancer addresses), the apex and <c>dns</c>
/// subdomain (apex_test.go), the headless and fallthrough options, and setup errors.
/// </summary>
public sealed class K8sExternalTests(K8sExternalTests.Cluster cluster) : IClassFixture<K8sExternalTests.Cluster>
{
    private const string Soa = "example.com. 5 IN SOA ns1.dns.example.com. hostmaster.dns.example.com. 1700000000 7200 1800 86400 5";

    /// <summary>One API server, a server with plain k8s_external and one with <c>headless</c> and <c>fallthrough</c>.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        public TestApiServer Api { get; private set; } = null!;

        public TestDnsServer Plain { get; private set; } = null!;

        public TestDnsServer Headless { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Api = await TestApiServer.StartAsync();
            Load(Api);
            Plain = await TestDnsServer.StartAsync(Corefile(Api.Url, "k8s_external example.com"));
            Headless = await TestDnsServer.StartAsync(Corefile(Api.Url, "k8s_external example.com {\n        headless\n        fallthrough\n    }\n    whoami"));
        }

        public async Task DisposeAsync()
        {
            await Headless.DisposeAsync();
            await Plain.DisposeAsync();
            await Api.DisposeAsync();
        }
    }

    public static TheoryData<DnsCase> Cases() =>
    [
        new("svc1.testns.example.com.", DnsType.A) { Answer = ["svc1.testns.example.com. 5 IN A 1.2.3.4"], Authoritative = true },
        new("svc1.testns.example.com.", DnsType.SRV)
        {
            Answer = ["svc1.testns.example.com. 5 IN SRV 0 100 80 svc1.testns.example.com."],
            Additional = ["svc1.testns.example.com. 5 IN A 1.2.3.4"],
        },
        new("*._not-udp-or-tcp.svc1.testns.example.com.", DnsType.SRV, DnsRcode.NXDomain) { Authority = [Soa] },
        new("_http._tcp.svc1.testns.example.com.", DnsType.SRV)
        {
            Answer = ["_http._tcp.svc1.testns.example.com. 5 IN SRV 0 100 80 svc1.testns.example.com."],
            Additional = ["svc1.testns.example.com. 5 IN A 1.2.3.4"],
        },
        new("svc1.testns.example.com.", DnsType.AAAA) { Authority = [Soa] },
        new("svc1.testns.example.com.", DnsType.TXT) { Authority = [Soa] },
        new("svc0.testns.example.com.", DnsType.AAAA, DnsRcode.NXDomain) { Authority = [Soa] },
        new("svc0.testns.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("svc0.svc-nons.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("svc6.testns.example.com.", DnsType.AAAA) { Answer = ["svc6.testns.example.com. 5 IN AAAA 1:2::5"] },
        new("_http._tcp.svc6.testns.example.com.", DnsType.SRV)
        {
            Answer = ["_http._tcp.svc6.testns.example.com. 5 IN SRV 0 100 80 svc6.testns.example.com."],
            Additional = ["svc6.testns.example.com. 5 IN AAAA 1:2::5"],
        },
        new("svc6.testns.example.com.", DnsType.SRV)
        {
            Answer = ["svc6.testns.example.com. 5 IN SRV 0 100 80 svc6.testns.example.com."],
            Additional = ["svc6.testns.example.com. 5 IN AAAA 1:2::5"],
        },
        new("testns.example.com.", DnsType.A) { Authority = [Soa] },
        new("testns.example.com.", DnsType.SOA) { Authority = [Soa] },
        new("svc11.testns.example.com.", DnsType.A) { Answer = ["svc11.testns.example.com. 5 IN A 1.2.3.4"] },
        new("_http._tcp.svc12.testns.example.com.", DnsType.SRV)
        {
            Answer = ["_http._tcp.svc12.testns.example.com. 5 IN SRV 0 100 80 svc12.testns.example.com."],
        },
        new("svc12.testns.example.com.", DnsType.A) { Answer = ["svc12.testns.example.com. 5 IN CNAME dummy.hostname."] },
        // No external address: not in the external zone (the cluster zone still answers it).
        new("internal.testns.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("internal.testns.svc.cluster.local.", DnsType.A) { Answer = ["internal.testns.svc.cluster.local. 5 IN A 10.0.0.9"] },
        new("hdls.testns.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("x.y.z.svc1.testns.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        // The apex and the dns subdomain (apex_test.go).
        new("example.com.", DnsType.SOA) { Answer = [Soa], Authoritative = true },
        new("example.com.", DnsType.NS)
        {
            Answer = ["example.com. 5 IN NS ns1.dns.example.com."],
            Additional = ["ns1.dns.example.com. 5 IN A 127.0.0.1"],
        },
        new("example.com.", DnsType.A) { Authority = [Soa] },
        new("ns1.dns.example.com.", DnsType.A) { Answer = ["ns1.dns.example.com. 5 IN A 127.0.0.1"] },
        new("ns1.dns.example.com.", DnsType.AAAA) { Authority = [Soa] },
        new("dns.example.com.", DnsType.A) { Authority = [Soa] },
        new("ns2.dns.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
        new("a.ns1.dns.example.com.", DnsType.A, DnsRcode.NXDomain) { Authority = [Soa] },
    ];

    public static TheoryData<DnsCase> HeadlessCases() =>
    [
        new("hdls.testns.example.com.", DnsType.A)
        {
            Answer = ["hdls.testns.example.com. 5 IN A 172.0.0.2", "hdls.testns.example.com. 5 IN A 172.0.0.3"],
        },
        new("hdls.testns.example.com.", DnsType.SRV)
        {
            Answer =
            [
                "hdls.testns.example.com. 5 IN SRV 0 50 80 hdls-0.hdls.testns.example.com.",
                "hdls.testns.example.com. 5 IN SRV 0 50 80 172-0-0-3.hdls.testns.example.com.",
            ],
            Additional = ["hdls-0.hdls.testns.example.com. 5 IN A 172.0.0.2", "172-0-0-3.hdls.testns.example.com. 5 IN A 172.0.0.3"],
        },
        new("_http._tcp.hdls.testns.example.com.", DnsType.SRV)
        {
            Answer =
            [
                "_http._tcp.hdls.testns.example.com. 5 IN SRV 0 50 80 hdls-0.hdls.testns.example.com.",
                "_http._tcp.hdls.testns.example.com. 5 IN SRV 0 50 80 172-0-0-3.hdls.testns.example.com.",
            ],
            Additional = ["hdls-0.hdls.testns.example.com. 5 IN A 172.0.0.2", "172-0-0-3.hdls.testns.example.com. 5 IN A 172.0.0.3"],
        },
        new("hdls-0.hdls.testns.example.com.", DnsType.A) { Answer = ["hdls-0.hdls.testns.example.com. 5 IN A 172.0.0.2"] },
        // A service with external IPs is still answered from them.
        new("svc1.testns.example.com.", DnsType.A) { Answer = ["svc1.testns.example.com. 5 IN A 1.2.3.4"] },
        // NODATA never falls through.
        new("svc1.testns.example.com.", DnsType.AAAA) { Authority = [Soa] },
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task External_zone_answers_like_CoreDNS(DnsCase c) =>
        c.AssertMatches(await QueryAsync(cluster.Plain.Endpoint, c.Name, c.Type), ConformanceEndToEndTests.PinSerial);

    [Theory]
    [MemberData(nameof(HeadlessCases))]
    public async Task Headless_option_answers_endpoints(DnsCase c) =>
        c.AssertMatches(await QueryAsync(cluster.Headless.Endpoint, c.Name, c.Type), ConformanceEndToEndTests.PinSerial);

    [Fact]
    public async Task Fallthrough_hands_nxdomain_to_the_next_plugin()
    {
        // whoami (next in the chain) answers: NOERROR with the client's address, no SOA from k8s_external.
        var reply = await QueryAsync(cluster.Headless.Endpoint, "svc0.testns.example.com.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Empty(reply.Authorities);
        Assert.Contains(reply.Additionals, r => r is ARecord a && a.Address.Equals(IPAddress.Loopback));
    }

    [Fact]
    public async Task External_address_changes_follow_the_api()
    {
        // Asked before it exists: the NXDOMAIN is compiled and kept, and must not outlive the change.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(DnsRcode.NXDomain, (await QueryAsync(cluster.Plain.Endpoint, "late.testns.example.com.", DnsType.A)).Rcode);
        }
        cluster.Api.Upsert(Service("testns", "late", "10.0.0.20", external: ["5.6.7.8"]));
        await Eventually.True(async () =>
        {
            var reply = await QueryAsync(cluster.Plain.Endpoint, "late.testns.example.com.", DnsType.A);
            return reply.Answers.Count == 1 && reply.Answers[0] is ARecord { Address: var a } && a.Equals(IPAddress.Parse("5.6.7.8"));
        }, "late.testns.example.com. -> 5.6.7.8", TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("k8s_external example.com {\n        ttl\n    }", "plugin/k8s_external: Corefile:5 - Error during parsing: Wrong argument count or unexpected line ending after 'ttl'")]
    [InlineData("k8s_external example.com {\n        ttl x\n    }", "plugin/k8s_external: strconv.Atoi: parsing \"x\": invalid syntax")]
    [InlineData("k8s_external example.com {\n        ttl 3601\n    }", "plugin/k8s_external: Corefile:5 - Error during parsing: ttl must be in range [0, 3600]: 3601")]
    [InlineData("k8s_external example.com {\n        apex\n    }", "plugin/k8s_external: Corefile:5 - Error during parsing: Wrong argument count or unexpected line ending after 'apex'")]
    [InlineData("k8s_external example.com {\n        headless yes\n    }", "plugin/k8s_external: Corefile:5 - Error during parsing: unknown property 'yes'")]
    [InlineData("k8s_external example.com {\n        resyncperiod 1m\n    }", "plugin/k8s_external: Corefile:5 - Error during parsing: unknown property 'resyncperiod'")]
    public async Task Bad_options_are_refused_with_CoreDNS_errors(string directive, string expected) =>
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    bind 127.0.0.1\n    kubernetes cluster.local\n    {directive}\n}}\n"));

    [Fact]
    public async Task Without_the_kubernetes_plugin_setup_fails()
    {
        Assert.Equal("plugin/k8s_external: kubernetes plugin not loaded",
            await SetupErrorAsync(".:0 {\n    bind 127.0.0.1\n    k8s_external example.com\n    whoami\n}\n"));
    }

    private static async Task<DnsMessage> QueryAsync(IPEndPoint server, string name, DnsType type)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
        var reply = await TestDnsServer.ExchangeUdpAsync(server, query, TimeSpan.FromSeconds(15));
        Assert.NotNull(reply);
        return DnsMessage.Parse(reply);
    }

    private static string Corefile(string endpoint, string directive) => $$"""
        .:0 {
            bind 127.0.0.1
            kubernetes cluster.local {
                endpoint {{endpoint}}
            }
            {{directive}}
        }
        """;

    private static void Load(TestApiServer api)
    {
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "testns" } });
        api.Upsert(Service("testns", "svc1", "10.0.0.1", external: ["1.2.3.4"]));
        api.Upsert(Service("testns", "svc6", "10.0.0.3", external: ["1:2::5"]));
        api.Upsert(Service("testns", "svc11", "10.0.0.11", ingress: new V1LoadBalancerIngress { Ip = "1.2.3.4" }));
        api.Upsert(Service("testns", "svc12", "10.0.0.12", ingress: new V1LoadBalancerIngress { Hostname = "dummy.hostname" }));
        api.Upsert(Service("testns", "internal", "10.0.0.9"));
        api.Upsert(Service("testns", "hdls", "None"));
        api.Upsert(new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = "hdls-abc", NamespaceProperty = "testns",
                Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "hdls" },
            },
            AddressType = "IPv4",
            Endpoints =
            [
                new V1Endpoint { Addresses = ["172.0.0.2"], Hostname = "hdls-0", Conditions = new V1EndpointConditions { Ready = true } },
                new V1Endpoint { Addresses = ["172.0.0.3"], Conditions = new V1EndpointConditions { Ready = true } },
                new V1Endpoint { Addresses = ["172.0.0.4"], Conditions = new V1EndpointConditions { Ready = false } },
            ],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Protocol = "TCP", Port = 80 }],
        });
    }

    private static V1Service Service(string ns, string name, string clusterIp, string[]? external = null, V1LoadBalancerIngress? ingress = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = ingress is null ? "ClusterIP" : "LoadBalancer",
            ClusterIP = clusterIp,
            ClusterIPs = [clusterIp],
            ExternalIPs = external,
            Ports = [new V1ServicePort { Name = "http", Protocol = "tcp", Port = 80 }],
        },
        Status = ingress is null ? null : new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [ingress] } },
    };
}
