using System.Net;
using System.Text.Json.Nodes;
using ClusterDns.Kubernetes;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Kubernetes;

public sealed class ClusterStateTests
{
    private static readonly ServiceInfo Web = new("ns1", "web", ServiceKind.ClusterIP, ["10.96.0.11"], null, [new ServicePortInfo("http", "TCP", 80)]);

    private static EndpointSliceInfo Slice(string name, string service, bool ready, params string[] ips) =>
        new("ns1", name, service, [new ServicePortInfo("http", "TCP", 80)],
            [.. ips.Select(ip => new EndpointInfo([ip], null, null, null, ready, null))], null);

    [Fact]
    public void With_and_without_keep_indexes_consistent_and_old_snapshots_untouched()
    {
        var s0 = ClusterState.Build(["ns1"], [Web], [Slice("web-a", "web", true, "10.244.1.1")], [new PodInfo("ns1", "p", "10.244.1.1")], 42);
        var s1 = s0.WithSlice(Slice("web-a", "web", false, "10.244.1.2")).WithSlice(Slice("web-b", "web", true, "10.244.1.1"))
            .WithService(Web with { ClusterIPs = ["10.96.0.12"] }).WithPod(new PodInfo("ns1", "p", "10.244.9.9"));

        Assert.Equal(42, s1.Serial);
        Assert.Equal(2, s1.GetSlices("ns1", "web").Count);
        Assert.Equal("web-b", Assert.Single(s1.GetSlicesByReadyAddress("10.244.1.1")).Name);
        Assert.Empty(s1.GetSlicesByReadyAddress("10.244.1.2"));   // not ready
        Assert.Empty(s1.GetServicesByClusterIp("10.96.0.11"));
        Assert.Single(s1.GetServicesByClusterIp("10.96.0.12"));
        Assert.Empty(s1.GetPodsByIp("10.244.1.1"));
        Assert.Single(s1.GetPodsByIp("10.244.9.9"));

        // The old snapshot is unchanged.
        Assert.Equal("web-a", Assert.Single(s0.GetSlices("ns1", "web")).Name);
        Assert.Single(s0.GetServicesByClusterIp("10.96.0.11"));

        var s2 = s1.WithoutSlice("ns1", "web-a").WithoutSlice("ns1", "web-b").WithoutService("ns1", "web").WithoutPod("ns1", "p").WithoutNamespace("ns1");
        Assert.Empty(s2.GetSlices("ns1", "web"));
        Assert.Empty(s2.GetSlicesByReadyAddress("10.244.1.1"));
        Assert.Null(s2.GetService("ns1", "web"));
        Assert.False(s2.NamespaceExists("ns1"));
        Assert.Same(s2, s2.WithoutService("ns1", "web"));
    }

    [Fact]
    public void Records_compare_by_content()
    {
        Assert.Equal(Web, Web with { ClusterIPs = ["10.96.0.11"], Ports = [new ServicePortInfo("http", "TCP", 80)] });
        Assert.NotEqual(Web, Web with { Ports = [new ServicePortInfo("http", "TCP", 81)] });
        Assert.Equal(Slice("a", "web", true, "1.1.1.1"), Slice("a", "web", true, "1.1.1.1"));
    }

    [Fact]
    public void Soa_serial_rules_hold()
    {
        Assert.True(SerialRules.ServiceChanged(null, Web));
        Assert.False(SerialRules.ServiceChanged(Web, Web with { ClusterIPs = ["10.96.0.99"] }));
        Assert.True(SerialRules.ServiceChanged(Web, Web with { Ports = [new ServicePortInfo("http", "UDP", 80)] }));
        Assert.True(SerialRules.ServiceChanged(Web, Web with { ExternalName = "x.example." }));

        var a = Slice("a", "web", true, "1.1.1.1");
        Assert.False(SerialRules.SliceChanged(a, a with { LastChangeTriggerTime = DateTimeOffset.UnixEpoch }));
        Assert.False(SerialRules.SliceChanged(a, a with { Endpoints = [a.Endpoints[0] with { NodeName = "n" }] }));
        Assert.False(SerialRules.SliceChanged(a, a with { Endpoints = [a.Endpoints[0], new EndpointInfo(["2.2.2.2"], null, null, null, false, null)] }));
        Assert.True(SerialRules.SliceChanged(a, a with { Endpoints = [a.Endpoints[0] with { Ready = false }] }));
        Assert.True(SerialRules.SliceChanged(a, a with { Endpoints = [a.Endpoints[0] with { Hostname = "h" }] }));
        Assert.False(SerialRules.SliceChanged(a, a with { Endpoints = [a.Endpoints[0] with { Zone = "z" }] }));
        Assert.True(SerialRules.SliceChanged(a, a with { Endpoints = [a.Endpoints[0] with { Zone = "z" }] }, zonal: true));
        Assert.True(SerialRules.PodChanged(new PodInfo("n", "p", "1.1.1.1"), new PodInfo("n", "p", "1.1.1.2")));
    }

    [Fact]
    public async Task TestApiServer_expires_continue_tokens_after_compaction()
    {
        await using var server = await TestApiServer.StartAsync();
        Fixtures.LoadExampleCluster(server);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var page1 = JsonNode.Parse(await http.GetStringAsync("/api/v1/services?limit=2"))!;
        Assert.Equal(2, page1["items"]!.AsArray().Count);
        var cont = page1["metadata"]!["continue"]!.GetValue<string>();
        var page2 = JsonNode.Parse(await http.GetStringAsync("/api/v1/services?limit=2&continue=" + Uri.EscapeDataString(cont)))!;
        Assert.Equal(2, page2["items"]!.AsArray().Count);

        server.Upsert(KubernetesClusterSourceTests.Service("default", "x", "10.96.9.9", 80));
        server.Compact();
        var expired = await http.GetAsync("/api/v1/services?limit=2&continue=" + Uri.EscapeDataString(cont));
        Assert.Equal(HttpStatusCode.Gone, expired.StatusCode);
        Assert.Contains("\"reason\":\"Expired\"", await expired.Content.ReadAsStringAsync());

        var selected = JsonNode.Parse(await http.GetStringAsync("/api/v1/pods?labelSelector=" + Uri.EscapeDataString("app in (db, nothing)")))!;
        Assert.All(selected["items"]!.AsArray(), i => Assert.Equal("db", i!["metadata"]!["labels"]!["app"]!.GetValue<string>()));
        server.SetOutage(true);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/api/v1/services")).StatusCode);
    }
}

public sealed class ClusterStateStringSharingTests
{
    private static EndpointSliceInfo Slice(string ip, string pod) =>
        new("ns1", "web-a", new string("web".AsSpan()), [], [new EndpointInfo([new string(ip.AsSpan())], null, new string(pod.AsSpan()), null, true, null)], null);

    private static PodInfo Pod(string ip, string pod) => new("ns1", new string(pod.AsSpan()), new string(ip.AsSpan()));

    private static ServiceInfo Service() => new("ns1", new string("web".AsSpan()), ServiceKind.ClusterIP, ["10.96.0.1"], null, []);

    [Fact]
    public void Pod_after_slice_takes_the_endpoint_strings_content_unchanged()
    {
        var s = ClusterState.Build(["ns1"], [Service()], [Slice("10.1.1.1", "p1")], [Pod("10.1.1.1", "p1"), Pod("10.1.1.2", "p2")]);
        var ep = s.GetSlice("ns1", "web-a")!.Endpoints[0];
        var pod = s.GetPod("ns1", "p1")!;
        Assert.Equal(Pod("10.1.1.1", "p1"), pod);
        Assert.Same(ep.TargetRefName, pod.Name);
        Assert.Same(ep.Addresses[0], pod.PodIP);
        Assert.Same(s.GetService("ns1", "web")!.Name, s.GetSlice("ns1", "web-a")!.ServiceName);
        Assert.Same(pod, Assert.Single(s.GetPodsByIp("10.1.1.1")));
    }

    [Fact]
    public void Slice_after_pod_takes_the_pod_strings_content_unchanged()
    {
        var s = ClusterState.Build(["ns1"], [Service()], [], [Pod("10.1.1.1", "p1")]);
        s = s.WithSlice(Slice("10.1.1.1", "p1"));
        var slice = s.GetSlice("ns1", "web-a")!;
        Assert.Equal(Slice("10.1.1.1", "p1"), slice);
        Assert.Same(s.GetPod("ns1", "p1")!.Name, slice.Endpoints[0].TargetRefName);
        Assert.Same(s.GetPod("ns1", "p1")!.PodIP, slice.Endpoints[0].Addresses[0]);
        Assert.Same(s.GetService("ns1", "web")!.Name, slice.ServiceName);
        Assert.Same(slice, Assert.Single(s.GetSlicesByReadyAddress("10.1.1.1")));
        Assert.Same(slice, Assert.Single(s.GetSlices("ns1", "web")));
        Assert.Empty(s.WithoutSlice("ns1", "web-a").GetSlicesByReadyAddress("10.1.1.1"));
    }
}
