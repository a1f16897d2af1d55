using System.Text.Json.Nodes;
using ClusterDns.Kubernetes;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

public sealed class SnapshotFileClusterSourceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("clusterdns-snapshot-").FullName;
    private readonly Microsoft.Extensions.Logging.ILoggerFactory _logs = XunitLoggerProvider.CreateFactory(output);

    public void Dispose()
    {
        _logs.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Yaml_list_as_kubectl_prints_it()
    {
        var s = SnapshotLoader.Parse(Fixtures.Read("snapshot-list.yaml"));
        Assert.Equal(["default", "shop"], s.Namespaces.Keys.Order());   // shop exists implicitly
        Assert.Equal(new ServiceInfo("default", "web", ServiceKind.ClusterIP, ["10.96.100.20", "fd00:10:96::1a2b"], null,
            [new ServicePortInfo("http", "TCP", 80)]), s.GetService("default", "web"));
        Assert.Equal(new ServiceInfo("shop", "ext", ServiceKind.ExternalName, [], "example.com", [ServicePortInfo.Sentinel]),
            s.GetService("shop", "ext"));
        Assert.Equal(new EndpointSliceInfo("default", "web-4b7tq", "web", [new ServicePortInfo("http", "TCP", 8080)],
            [
                new EndpointInfo(["10.244.1.20"], null, "web-7f9c6d5b8-2hqkz", "worker-1", true, "zone-a"),
                new EndpointInfo(["10.244.2.21"], "web-1", null, null, false, null),
            ], new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero)), Assert.Single(s.GetSlices("default", "web")));
        Assert.Equal("web-7f9c6d5b8-2hqkz", Assert.Single(s.GetPodsByIp("10.244.1.20")).Name);
        Assert.Empty(s.GetPodsByIp("10.244.1.99"));   // Succeeded pods are never seen
    }

    [Fact]
    public void Json_list_and_api_lists_and_multi_doc_yaml_give_the_same_state()
    {
        // A kubectl-style `List` combining the four example API lists.
        var items = new JsonArray();
        foreach (var f in new[] { "example-namespacelist.json", "example-servicelist.json", "example-endpointslicelist.json", "example-podlist.json" })
        {
            foreach (var item in JsonNode.Parse(Fixtures.Read(f))!["items"]!.AsArray())
            {
                items.Add(item!.DeepClone());
            }
        }
        var list = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = items }.ToJsonString();
        var fromList = ClusterStateText.Of(SnapshotLoader.Parse(list));

        var dir = Path.Combine(_dir, "api");
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "example-namespacelist.json", "example-servicelist.json", "example-endpointslicelist.json", "example-podlist.json" })
        {
            File.Copy(Fixtures.PathOf(f), Path.Combine(dir, f));
        }
        Assert.Equal(fromList, ClusterStateText.Of(SnapshotLoader.Load(dir)));
        Assert.Contains("svc kube-system/kube-dns ClusterIP ips=[10.96.0.10]", fromList);
        Assert.Contains("pod default/db-0 10.244.1.10", fromList);

        var multiDoc = """
            apiVersion: v1
            kind: Service
            metadata: {name: a, namespace: ns1}
            spec: {clusterIP: 10.0.0.1, ports: [{port: 53, protocol: UDP, name: dns}]}
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: h
              namespace: ns1
            spec:
              clusterIP: None
            ---
            """;
        var s = SnapshotLoader.Parse(multiDoc);
        Assert.Equal(new ServicePortInfo("dns", "UDP", 53), s.GetService("ns1", "a")!.Ports[0]);
        Assert.Equal(ServiceKind.Headless, s.GetService("ns1", "h")!.Kind);
        Assert.True(s.NamespaceExists("ns1"));
    }

    [Fact]
    public void Json_is_read_item_by_item_whatever_the_property_order_or_shape()
    {
        // `kind` after `items`, a typed list whose items carry no kind, a bare array of objects and a BOM: the
        // streaming reader must give what one whole-document parse gives.
        const string Service = """{"metadata": {"name": "a", "namespace": "ns1"}, "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 53, "protocol": "UDP", "name": "dns"}]}}""";
        const string Slice = """{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "h-x", "namespace": "ns1", "labels": {"kubernetes.io/service-name": "h"}}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.9"], "hostname": "h0", "conditions": {"ready": true}}]}""";
        var typed = $$$"""{"metadata": {"resourceVersion": "7"}, "items": [{{{Service}}}], "apiVersion": "v1", "kind": "ServiceList"}""";
        var mixed = $$$"""
            [
              {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "h", "namespace": "ns1"}, "spec": {"clusterIP": "None"}},
              {"items": [{{{Slice}}}, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "empty"}}], "kind": "List", "apiVersion": "v1"}
            ]
            """;
        var dir = Path.Combine(_dir, "shapes");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "1-typed.json"), typed, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        File.WriteAllText(Path.Combine(dir, "2-mixed.json"), mixed);
        var s = SnapshotLoader.Load(dir);

        Assert.Equal(new ServiceInfo("ns1", "a", ServiceKind.ClusterIP, ["10.0.0.1"], null, [new ServicePortInfo("dns", "UDP", 53)]),
            s.GetService("ns1", "a"));
        Assert.Equal(ServiceKind.Headless, s.GetService("ns1", "h")!.Kind);
        Assert.Equal("h0", Assert.Single(Assert.Single(s.GetSlices("ns1", "h")).Endpoints).Hostname);
        Assert.True(s.NamespaceExists("empty"));
        var typedOnly = SnapshotLoader.Parse(typed);
        Assert.Equal(1, typedOnly.ServiceCount);
        Assert.Equal(s.GetService("ns1", "a"), typedOnly.GetService("ns1", "a"));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => SnapshotLoader.Parse(typed + typed)); // two documents appended
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => SnapshotLoader.Parse("""{"kind": "List", "items": [{"kind": "Service",]}"""));
    }

    [Fact]
    public async Task Live_edits_are_picked_up_and_broken_edits_keep_the_old_state()
    {
        var file = Path.Combine(_dir, "cluster.yaml");
        File.WriteAllText(file, Fixtures.Read("snapshot-list.yaml"));
        await using var source = new SnapshotFileClusterSource(file, _logs, TimeSpan.FromMilliseconds(50));
        var changes = 0;
        source.Changed += _ => Interlocked.Increment(ref changes);
        await source.StartAsync(CancellationToken.None);
        Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.NotNull(source.Current.GetService("default", "web"));
        Assert.True(source.Current.Serial > 0);

        File.WriteAllText(file, Fixtures.Read("snapshot-list.yaml").Replace("name: web\n    namespace: default", "name: web2\n    namespace: default"));
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));
        await Eventually.True(() => source.Current.GetService("default", "web2") is not null);
        Assert.Null(source.Current.GetService("default", "web"));

        var good = ClusterStateText.Of(source.Current);
        File.WriteAllText(file, "apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: [broken\n");
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(10));
        var seen = Volatile.Read(ref changes);
        await Task.Delay(300);   // several polls; nothing may change
        Assert.Equal(good, ClusterStateText.Of(source.Current));
        Assert.Equal(seen, Volatile.Read(ref changes));
        Assert.True(source.HasSynced);
    }

    [Fact]
    public async Task Directory_of_files_is_watched()
    {
        File.WriteAllText(Path.Combine(_dir, "a.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\nspec: {clusterIP: 10.0.0.1}\n");
        await using var source = new SnapshotFileClusterSource(_dir, _logs, TimeSpan.FromMilliseconds(50));
        await source.StartAsync(CancellationToken.None);
        Assert.True(source.HasSynced);
        Assert.Equal([ServicePortInfo.Sentinel], source.Current.GetService("x", "a")!.Ports.ToArray());
        File.WriteAllText(Path.Combine(_dir, "b.json"),
            """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"y"},"status":{"phase":"Running","podIP":"10.1.1.1"}}""");
        await Eventually.True(() => source.Current.GetPodsByIp("10.1.1.1").Count == 1);
        Assert.True(source.Current.NamespaceExists("y"));
    }
}
