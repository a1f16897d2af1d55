using System.Collections.Immutable;
using System.Text.Json.Nodes;
using ClusterDns.Kubernetes;
using ClusterDns.Tests.TestSupport;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

public sealed class KubernetesClusterSourceTests(ITestOutputHelper output) : ClusterSourceTestBase(output)
{
    [Fact]
    public async Task Initial_sync_loads_example_cluster_with_exact_slim_fields()
    {
        var source = await StartSyncedAsync();
        var s = source.Current;
        Assert.True(source.HasSynced);

        Assert.Equal(["default", "istio-system", "kube-system"], s.Namespaces.Keys.Order());
        Assert.Equal(
            new ServiceInfo("default", "web", ServiceKind.ClusterIP, ["10.96.100.20", "fd00:10:96::1a2b"], null,
                [new ServicePortInfo("http", "TCP", 80)]),
            s.GetService("default", "web"));
        Assert.Equal(new ServiceInfo("default", "db", ServiceKind.Headless, ["None"], null, [new ServicePortInfo("postgres", "TCP", 5432)]),
            s.GetService("default", "db"));
        Assert.Equal(new ServiceInfo("default", "ext", ServiceKind.ExternalName, [], "example.com", [ServicePortInfo.Sentinel]),
            s.GetService("default", "ext"));
        Assert.Equal(
            new[] { new ServicePortInfo("dns", "UDP", 53), new ServicePortInfo("dns-tcp", "TCP", 53), new ServicePortInfo("metrics", "TCP", 9153) },
            s.GetService("kube-system", "kube-dns")!.Ports.ToArray());
        Assert.Equal(7, s.ServiceCount);

        var db = Assert.Single(s.GetSlices("default", "db"));
        Assert.Equal(new EndpointSliceInfo("default", "db-9hfzw", "db", [new ServicePortInfo("postgres", "TCP", 5432)],
        [
            new EndpointInfo(["10.244.1.10"], "db-0", "db-0", "worker-1", true, "zone-a"),
            new EndpointInfo(["10.244.2.11"], "db-1", "db-1", "worker-2", true, "zone-b"),
            new EndpointInfo(["10.244.3.12"], "db-2", "db-2", "worker-3", true, "zone-c"),
        ], new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero)), db);
        var empty = Assert.Single(s.GetSlices("default", "empty"));
        Assert.Equal(new[] { ServicePortInfo.Sentinel }, empty.Ports.ToArray());
        Assert.Empty(empty.Endpoints);
        Assert.Equal(2, s.GetSlices("default", "web").Count);
        Assert.Equal(new EndpointInfo(["172.18.0.2"], null, null, null, true, null),
            Assert.Single(Assert.Single(s.GetSlices("default", "kubernetes")).Endpoints));
        Assert.Empty(s.GetSlices("default", "nope"));

        Assert.Equal(new PodInfo("default", "db-0", "10.244.1.10"), Assert.Single(s.GetPodsByIp("10.244.1.10")));
        Assert.Equal(8, s.PodCount);
        Assert.Equal("web", Assert.Single(s.GetServicesByClusterIp("fd00:10:96::1a2b")).Name);
        Assert.Equal("db-9hfzw", Assert.Single(s.GetSlicesByReadyAddress("10.244.3.12")).Name);
        Assert.True(s.Serial > 0);
        await ConvergesAsync(source);
    }

    [Fact]
    public async Task Paging_lists_everything_in_pages_of_two()
    {
        var options = Fast with { PageSize = 2 };
        var source = await StartSyncedAsync(options);
        await ConvergesAsync(source, options);
        Assert.Equal(4, Server.ListRequests(ApiResource.Services));   // 7 services, 2 per page
        Assert.Equal(4, Server.ListRequests(ApiResource.Pods));       // 8 pods
    }

    [Fact]
    public async Task Watch_applies_added_modified_deleted_and_bookmarks()
    {
        var source = await StartSyncedAsync();
        var changes = new List<ClusterChange>();
        source.Changed += c => { lock (changes) { changes.Add(c); } };

        foreach (var line in Fixtures.Read("example-watch-services.ndjson").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            ApplyWatchLine<V1Service>(line, ApiResource.Services);
        }
        foreach (var line in Fixtures.Read("example-watch-endpointslices.ndjson").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            ApplyWatchLine<V1EndpointSlice>(line, ApiResource.EndpointSlices);
        }

        await ConvergesAsync(source);
        var s = source.Current;
        Assert.Equal(new[] { new ServicePortInfo("http", "TCP", 80), new ServicePortInfo("grpc", "TCP", 9090) },
            s.GetService("default", "api")!.Ports.ToArray());
        Assert.Null(s.GetService("default", "empty"));
        Assert.Empty(s.GetSlices("default", "empty"));
        Assert.True(Assert.Single(Assert.Single(s.GetSlices("default", "api")).Endpoints).Ready);
        Assert.False(Assert.Single(s.GetSlices("default", "db")).Endpoints[2].Ready);
        Assert.Empty(s.GetSlicesByReadyAddress("10.244.3.12"));
        Assert.Equal(1, Server.ListRequests(ApiResource.Services));
        Assert.Equal(1, Server.ListRequests(ApiResource.EndpointSlices));
        lock (changes)
        {
            Assert.Contains(changes, c => c.Services.Contains(("default", "api")) && !c.Relisted);
            Assert.Contains(changes, c => c.Services.Contains(("default", "empty")));
        }
    }

    [Fact]
    public async Task Bookmark_moves_the_resume_resource_version()
    {
        var source = await StartSyncedAsync();
        Server.Upsert(Pod("default", "other", "10.244.9.9"));   // moves the global RV without touching services
        await Eventually.True(() => source.Current.GetPod("default", "other") is not null);
        var rv = Server.ResourceVersion;
        Server.SendBookmarks();
        Server.CutWatches(abort: false);   // a clean close still delivers the queued bookmark first
        await Eventually.True(() => Server.LastWatchResourceVersion(ApiResource.Services) == rv.ToString(),
            because: "services re-watch should start at the bookmark's resourceVersion");
        Assert.Equal(1, Server.ListRequests(ApiResource.Services));
    }

    [Fact]
    public async Task Serial_bumps_only_on_dns_relevant_changes()
    {
        var clock = new ManualClock(1_700_000_000);
        var options = Fast with { Time = clock };
        var source = await StartSyncedAsync(options);
        Assert.Equal(1_700_000_000, source.Current.Serial);

        async Task Step(long now, Action change, Func<ClusterState, bool> applied, long expectSerial)
        {
            clock.Set(now);
            change();
            await Eventually.True(() => applied(source.Current));
            Assert.Equal(expectSerial, source.Current.Serial);
        }

        // clusterIP only: not a field that moves the serial.
        await Step(1_700_000_010, () => Server.Upsert(Service("default", "kubernetes", "10.96.0.2", 443, "https")),
            s => s.GetService("default", "kubernetes")!.ClusterIPs[0] == "10.96.0.2", 1_700_000_000);
        await Step(1_700_000_020, () => Server.Upsert(Service("default", "kubernetes", "10.96.0.2", 8443, "https")),
            s => s.GetService("default", "kubernetes")!.Ports[0].Port == 8443, 1_700_000_020);
        await Step(1_700_000_030, () => Server.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "new-ns" } }),
            s => s.NamespaceExists("new-ns"), 1_700_000_020);
        await Step(1_700_000_040, () => Server.Upsert(Slice("default", "kubernetes", "kubernetes", "172.18.0.2", ready: true, node: "n2")),
            s => s.GetSlice("default", "kubernetes")!.Endpoints[0].NodeName == "n2", 1_700_000_020);
        await Step(1_700_000_050, () => Server.Upsert(Slice("default", "kubernetes", "kubernetes", "172.18.0.2", ready: false, node: "n2")),
            s => !s.GetSlice("default", "kubernetes")!.Endpoints[0].Ready, 1_700_000_050);
        await Step(1_700_000_060, () => Server.Upsert(Pod("default", "db-0", "10.244.1.99")),
            s => s.GetPod("default", "db-0")!.PodIP == "10.244.1.99", 1_700_000_060);
        await Step(1_700_000_070, () => Server.Delete(ApiResource.Services, "default", "ext"),
            s => s.GetService("default", "ext") is null, 1_700_000_070);
        await Step(1_700_000_080, () => Server.Upsert(Service("default", "added", "10.96.7.7", 80)),
            s => s.GetService("default", "added") is not null, 1_700_000_080);
    }

    [Fact]
    public async Task Fault_api_down_at_start_syncs_when_it_comes_up()
    {
        Server.SetOutage(true);
        var source = NewSource();
        await source.StartAsync(CancellationToken.None);
        Assert.False(await source.WaitForSyncAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None));
        Assert.False(source.HasSynced);
        Server.Upsert(Service("default", "while-down", "10.96.1.1", 80));
        Server.SetOutage(false);
        Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        await ConvergesAsync(source);
    }

    [Fact]
    public async Task Fault_api_down_after_sync_keeps_state_then_converges()
    {
        var source = await StartSyncedAsync();
        var before = ClusterStateText.Of(source.Current);
        var listsBefore = Server.ListRequests(ApiResource.Services);
        Server.SetOutage(true);
        Server.Upsert(Service("default", "while-down", "10.96.1.1", 80));
        Server.Delete(ApiResource.Services, "default", "web");
        Server.Delete(ApiResource.Pods, "default", "db-1");
        await Task.Delay(300);
        Assert.Equal(before, ClusterStateText.Of(source.Current));
        Assert.True(source.HasSynced);
        Server.SetOutage(false);
        await ConvergesAsync(source);
        Assert.Equal(listsBefore, Server.ListRequests(ApiResource.Services));   // history still there: re-watch, no relist
    }

    [Fact]
    public async Task Fault_an_event_that_cannot_be_applied_is_skipped_and_later_events_flow()
    {
        var source = await StartSyncedAsync();
        var broken = Service("default", "broken", "10.96.1.5", 80);
        broken.Spec.Ports = [null!]; // "ports": [null] — the converter skips the null item (it threw before fuzzing found it)
        Server.Upsert(broken);
        Server.Upsert(Service("default", "after-broken", "10.96.1.6", 80));
        await Eventually.True(() => source.Current.GetService("default", "after-broken") is not null, TimeSpan.FromSeconds(10),
            "the event after the broken one never arrived");
        var served = source.Current.GetService("default", "broken");
        Assert.NotNull(served);
        Assert.Equal(ServicePortInfo.SentinelOnly, served.Ports);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Fault_cut_watch_resumes_from_last_rv_without_relist(bool abort)
    {
        var source = await StartSyncedAsync();
        var watches = Server.WatchRequests(ApiResource.Services);
        Server.CutWatches(abort);
        Server.Upsert(Service("default", "after-cut", "10.96.1.2", 80));
        await ConvergesAsync(source);
        await Eventually.True(() => Server.WatchRequests(ApiResource.Services) > watches);
        foreach (var r in Enum.GetValues<ApiResource>())
        {
            // ServiceImports are listed only with a multicluster zone.
            Assert.Equal(r == ApiResource.ServiceImports ? 0 : 1, Server.ListRequests(r));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fault_compaction_while_disconnected_relists_and_reconciles(bool goneAsHttpStatus)
    {
        Server.GoneAsHttpStatus = goneAsHttpStatus;
        var source = await StartSyncedAsync();
        Server.SetOutage(true);
        Server.Delete(ApiResource.Services, "default", "web");
        Server.Delete(ApiResource.EndpointSlices, "default", "web-4b7tq");
        Server.Upsert(Service("default", "new-svc", "10.96.1.3", 80));
        Server.Upsert(Slice("default", "new-svc-abc", "new-svc", "10.244.5.5", ready: true, node: "n1"));
        Server.Delete(ApiResource.Namespaces, null, "istio-system");
        Server.Compact();
        Server.SetOutage(false);
        await ConvergesAsync(source);
        Assert.True(Server.ListRequests(ApiResource.Services) >= 2, "expected a relist after 410");
        Assert.True(source.Current.GetSlices("default", "web").Count == 1);
    }

    [Fact]
    public async Task Fault_silent_watch_watchdog_restarts_it()
    {
        var options = Fast with { WatchTimeout = TimeSpan.FromSeconds(1), WatchdogSlack = TimeSpan.FromMilliseconds(300) };
        var source = await StartSyncedAsync(options);
        Server.HangWatches = true;
        Server.CutWatches();
        var watches = Server.WatchRequests(ApiResource.Services);
        await Eventually.True(() => Server.WatchRequests(ApiResource.Services) >= watches + 2, TimeSpan.FromSeconds(10),
            "the watchdog should cancel silent watches");
        Server.HangWatches = false;
        Server.Upsert(Service("default", "after-hang", "10.96.1.4", 80));
        await ConvergesAsync(source, options);
    }

    [Fact]
    public async Task Burst_of_thousand_changes_converges()
    {
        var source = await StartSyncedAsync();
        int raised = 0;
        source.Changed += _ => Interlocked.Increment(ref raised);
        for (int i = 0; i < 1000; i++)
        {
            if (i % 10 == 9)
            {
                Server.Delete(ApiResource.Services, "default", $"burst-{i - 5}");
            }
            else
            {
                Server.Upsert(Service("default", $"burst-{i}", $"10.97.{i / 250}.{i % 250}", 80 + (i % 3)));
            }
        }

        await ConvergesAsync(source, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal(7 + 900 - 100, source.Current.ServiceCount);
        Assert.True(raised >= 1000 - 10);
        Assert.Equal(1, Server.ListRequests(ApiResource.Services));
    }

    [Fact]
    public async Task Label_selectors_filter_server_side_and_selector_moves_are_deletes()
    {
        var options = Fast with { LabelSelector = "app=web", NamespaceLabelSelector = "kubernetes.io/metadata.name!=istio-system" };
        var source = await StartSyncedAsync(options);
        await ConvergesAsync(source, options);
        var s = source.Current;
        Assert.Equal("web", Assert.Single(s.Services).Name);
        Assert.Equal(2, s.SliceCount);
        Assert.False(s.NamespaceExists("istio-system"));
        Assert.True(s.NamespaceExists("default"));

        var relabelled = Service("default", "web", "10.96.100.20", 80);
        relabelled.Metadata.Labels = new Dictionary<string, string> { ["app"] = "other" };
        Server.Upsert(relabelled);
        var joined = Service("default", "kubernetes", "10.96.0.1", 443);
        joined.Metadata.Labels = new Dictionary<string, string> { ["app"] = "web" };
        Server.Upsert(joined);
        await ConvergesAsync(source, options);
        Assert.Equal("kubernetes", Assert.Single(source.Current.Services).Name);
    }

    [Fact]
    public async Task Pods_field_selector_and_deletion_timestamp()
    {
        var source = await StartSyncedAsync();
        Server.Upsert(Pod("default", "done", "10.244.8.1", phase: "Succeeded"));
        Server.Upsert(Pod("default", "db-2", "10.244.3.12", phase: "Failed"));   // leaves the selector: DELETED
        var terminating = Pod("default", "db-1", "10.244.2.99");
        terminating.Metadata.DeletionTimestamp = DateTime.UtcNow;
        Server.Upsert(terminating);
        Server.Upsert(Pod("default", "marker", "10.244.8.2"));
        await Eventually.True(() => source.Current.GetPod("default", "marker") is not null);
        var s = source.Current;
        Assert.Null(s.GetPod("default", "done"));
        Assert.Null(s.GetPod("default", "db-2"));
        Assert.Equal("10.244.2.11", s.GetPod("default", "db-1")!.PodIP);   // deletionTimestamp update ignored
        Server.Delete(ApiResource.Pods, "default", "db-1");
        await Eventually.True(() => source.Current.GetPod("default", "db-1") is null);
        Assert.Empty(source.Current.GetPodsByIp("10.244.2.11"));
    }

    [Fact]
    public async Task No_endpoints_and_no_pods_start_only_namespaces_and_services()
    {
        var options = Fast with { WatchEndpointSlices = false, WatchPods = false };
        var source = await StartSyncedAsync(options);
        await ConvergesAsync(source, options);
        Assert.Equal(0, Server.ListRequests(ApiResource.EndpointSlices));
        Assert.Equal(0, Server.ListRequests(ApiResource.Pods));
        Assert.Equal(0, source.Current.SliceCount);
    }

    private void ApplyWatchLine<T>(string line, ApiResource r) where T : IKubernetesObject<V1ObjectMeta>
    {
        var node = JsonNode.Parse(line)!;
        var type = node["type"]!.GetValue<string>();
        var obj = node["object"]!.ToJsonString();
        switch (type)
        {
            case "BOOKMARK":
                Server.SendBookmarks();
                break;
            case "DELETED":
                var d = KubernetesJson.Deserialize<T>(obj);
                Assert.True(Server.Delete(r, d.Metadata.NamespaceProperty, d.Metadata.Name));
                break;
            default:
                Server.Upsert(KubernetesJson.Deserialize<T>(obj));
                break;
        }
    }

    internal static V1Service Service(string ns, string name, string ip, int port, string portName = "http") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = ip,
            ClusterIPs = [ip],
            Ports = [new V1ServicePort { Name = portName, Protocol = "TCP", Port = port }],
        },
    };

    internal static V1EndpointSlice Slice(string ns, string name, string service, string ip, bool ready, string node) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = new Dictionary<string, string> { [ModelConverter.ServiceNameLabel] = service },
        },
        AddressType = "IPv4",
        Endpoints = [new V1Endpoint { Addresses = [ip], Conditions = new V1EndpointConditions { Ready = ready }, NodeName = node }],
        Ports = [new Discoveryv1EndpointPort { Name = "https", Protocol = "TCP", Port = 6443 }],
    };

    internal static V1Pod Pod(string ns, string name, string ip, string phase = "Running") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Status = new V1PodStatus { PodIP = ip, Phase = phase },
    };
}
