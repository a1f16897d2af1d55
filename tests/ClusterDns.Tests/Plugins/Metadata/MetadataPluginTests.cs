using System.Net;
using System.Net.Sockets;
using ClusterDns.Plugins.Metadata;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Metadata;

public sealed class MetadataPluginTests
{
    private const string Snapshot = """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Namespace
          metadata:
            name: default
        - apiVersion: v1
          kind: Namespace
          metadata:
            name: client-ns
        - apiVersion: v1
          kind: Service
          metadata:
            name: web
            namespace: default
          spec:
            clusterIP: 10.96.100.20
            clusterIPs:
            - 10.96.100.20
            ports:
            - name: http
              port: 80
              protocol: TCP
        - apiVersion: v1
          kind: Pod
          metadata:
            name: client-pod-1
            namespace: client-ns
          status:
            phase: Running
            podIP: 127.0.0.31
        """;

    private const string Format = "{name} ns={/kubernetes/namespace} svc={/kubernetes/service} kind={/kubernetes/kind} port={/kubernetes/port-name} proto={/kubernetes/protocol} ep={/kubernetes/endpoint} err={/kubernetes/parse-error} cns={/kubernetes/client-namespace} cpod={/kubernetes/client-pod-name}";

    private static Task<TestDnsServer> StartAsync(bool metadata, string pods = "verified") => TestDnsServer.StartAsync($$"""
        .:0 {
            {{(metadata ? "metadata" : "")}}
            log . "{{Format}}"
            kubernetes cluster.local {
                snapshot cluster.yaml
                pods {{pods}}
            }
            whoami
        }
        """, new Dictionary<string, string> { ["cluster.yaml"] = Snapshot });

    public static TheoryData<string, string, string> Lines() => new()
    {
        { "127.0.0.30", "web.default.svc.cluster.local.", "web.default.svc.cluster.local. ns=default svc=web kind=svc port= proto= ep= err=- cns=- cpod=-" },
        { "127.0.0.30", "_http._tcp.web.default.svc.cluster.local.", "_http._tcp.web.default.svc.cluster.local. ns=default svc=web kind=svc port=http proto=tcp ep= err=- cns=- cpod=-" },
        { "127.0.0.30", "web-0.web.default.svc.cluster.local.", "web-0.web.default.svc.cluster.local. ns=default svc=web kind=svc port= proto= ep=web-0 err=- cns=- cpod=-" },
        { "127.0.0.30", "default.svc.cluster.local.", "default.svc.cluster.local. ns=default svc= kind=svc port= proto= ep= err=- cns=- cpod=-" },
        { "127.0.0.30", "svc.cluster.local.", "svc.cluster.local. ns= svc= kind= port= proto= ep= err=- cns=- cpod=-" },
        { "127.0.0.30", "a.b.c.web.default.svc.cluster.local.", "a.b.c.web.default.svc.cluster.local. ns=- svc=- kind=- port=- proto=- ep=- err=invalid query name cns=- cpod=-" },
        { "127.0.0.30", "web.default.other.cluster.local.", "web.default.other.cluster.local. ns=- svc=- kind=- port=- proto=- ep=- err=invalid query name cns=- cpod=-" },
        { "127.0.0.30", "example.org.", "example.org. ns=- svc=- kind=- port=- proto=- ep=- err=invalid query name cns=- cpod=-" },
        { "127.0.0.31", "web.default.svc.cluster.local.", "web.default.svc.cluster.local. ns=default svc=web kind=svc port= proto= ep= err=- cns=client-ns cpod=client-pod-1" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public async Task Log_prints_kubernetes_metadata_of_each_query(string source, string name, string expected)
    {
        await using var server = await StartAsync(metadata: true);
        await QueryFromAsync(server.Endpoint, IPAddress.Parse(source), name);
        var log = await WaitForLogAsync(server, l => l.Contains(expected, StringComparison.Ordinal), 5000);
        Assert.Contains("[INFO] " + expected, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_metadata_directive_every_placeholder_is_a_dash()
    {
        await using var server = await StartAsync(metadata: false);
        await QueryFromAsync(server.Endpoint, IPAddress.Parse("127.0.0.31"), "web.default.svc.cluster.local.");
        const string expected = "web.default.svc.cluster.local. ns=- svc=- kind=- port=- proto=- ep=- err=- cns=- cpod=-";
        var log = await WaitForLogAsync(server, l => l.Contains(expected, StringComparison.Ordinal), 5000);
        Assert.Contains(expected, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_pod_needs_pods_verified()
    {
        await using var server = await StartAsync(metadata: true, pods: "insecure");
        await QueryFromAsync(server.Endpoint, IPAddress.Parse("127.0.0.31"), "web.default.svc.cluster.local.");
        const string expected = "web.default.svc.cluster.local. ns=default svc=web kind=svc port= proto= ep= err=- cns=- cpod=-";
        var log = await WaitForLogAsync(server, l => l.Contains(expected, StringComparison.Ordinal), 5000);
        Assert.Contains(expected, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queries_outside_the_metadata_zones_collect_nothing()
    {
        await using var server = await TestDnsServer.StartAsync($$"""
            .:0 {
                metadata example.org
                log . "{{Format}}"
                kubernetes cluster.local {
                    snapshot cluster.yaml
                }
                whoami
            }
            """, new Dictionary<string, string> { ["cluster.yaml"] = Snapshot });
        Assert.IsType<MetadataPlugin>(server.App.Host.Current!.Blocks[0].Plugins[0]);
        await QueryFromAsync(server.Endpoint, IPAddress.Loopback, "web.default.svc.cluster.local.");
        await QueryFromAsync(server.Endpoint, IPAddress.Loopback, "x.example.org.");
        var log = await WaitForLogAsync(server, l => l.Contains("x.example.org.", StringComparison.Ordinal), 5000);
        Assert.Contains("web.default.svc.cluster.local. ns=- svc=- kind=- port=- proto=- ep=- err=-", log, StringComparison.Ordinal);
        Assert.Contains("x.example.org. ns=- svc=- kind=- port=- proto=- ep=- err=invalid query name", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("metadata {\n        foo\n    }", "plugin/metadata: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'foo'")]
    [InlineData("metadata\n    metadata", "plugin/metadata: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'metadata'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Metadata");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }

    private static async Task QueryFromAsync(IPEndPoint server, IPAddress source, string name)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(source, 0));
        await socket.SendToAsync(DnsMessage.CreateQuery(name, DnsType.A, id: 77, ednsSize: 1232).ToArray(), SocketFlags.None, server);
        using var cts = new CancellationTokenSource(5000);
        await socket.ReceiveFromAsync(new byte[65535], SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
    }
}
