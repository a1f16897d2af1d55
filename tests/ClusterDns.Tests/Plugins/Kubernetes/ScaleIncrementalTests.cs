using System.Collections.Immutable;
using System.Net;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>
/// Incremental index and reply-cache validity: every answer after any change equals a full rebuild's (cache
/// included), changed services are answered fresh at once, unrelated changes keep cached replies hot, and applying
/// one event costs allocations proportional to the object, not the cluster.
/// </summary>
public sealed class ScaleIncrementalTests(ITestOutputHelper output)
{
    private const string Zone = "cluster.local.";

    private static DnsRequest Request(string name, DnsType type)
    {
        var request = new DnsRequest();
        request.Load(DnsMessage.CreateQuery(name, type).ToArray(), DnsTransport.Udp);
        return request;
    }

    private static async Task<DnsMessage> Ask(KubernetesPlugin plugin, string name, DnsType type)
    {
        var request = Request(name, type);
        await plugin.ServeAsync(request, CancellationToken.None);
        Assert.True(request.Response.Written);
        return request.Response.ReadMessage();
    }

    /// <summary>Would this question be answered from the reply cache right now?</summary>
    private static bool IsHot(KubernetesPlugin plugin, string name, DnsType type) => plugin.Resolver.Answers.TryServe(Request(name, type), "k");

    private static KubernetesPlugin Plugin(IClusterSource source, string profile = "PV") =>
        new(F1Fixture.ParseOptions(F1Fixture.ProfileText(profile)), [F1Fixture.ServerAddress], upstream: F1Fixture.Upstream, source: source);

    private static string A(DnsMessage m) => string.Join(",", m.Answers.Select(r => r.DataText()).Order());

    [Fact]
    public async Task Changed_service_is_answered_fresh_while_cached_before()
    {
        var source = new StoreClusterSource(F1Fixture.Build());
        var plugin = Plugin(source);
        const string web = "web.ns1.svc.cluster.local.";
        Assert.Equal("10.96.0.11", A(await Ask(plugin, web, DnsType.A)));
        Assert.True(IsHot(plugin, web, DnsType.A));

        // ClusterIP changes do not move the serial: only the entry token can catch this one.
        var svc = source.Current.GetService("ns1", "web")!;
        source.Upsert(svc with { ClusterIPs = ["10.96.0.99"] });
        Assert.False(IsHot(plugin, web, DnsType.A));
        Assert.Equal("10.96.0.99", A(await Ask(plugin, web, DnsType.A)));

        // Endpoint change of a headless service, same second.
        const string hl = "hl.ns1.svc.cluster.local.";
        Assert.Equal("10.244.2.1,10.244.2.2,10.244.2.3", A(await Ask(plugin, hl, DnsType.A)));
        var slice = source.Current.GetSlice("ns1", "hl-v4")!;
        source.Upsert(slice with { Endpoints = [new EndpointInfo(["10.244.2.7"], "web-7", null, null, true, null)] });
        Assert.Equal("10.244.2.7", A(await Ask(plugin, hl, DnsType.A)));
        Assert.Equal("web-7.hl.ns1.svc.cluster.local.", A(await Ask(plugin, "7.2.244.10.in-addr.arpa.", DnsType.PTR)));

        // A cached NXDOMAIN disappears when the service appears, even within the same second (serial unchanged).
        const string late = "late.ns1.svc.cluster.local.";
        Assert.Equal(DnsRcode.NXDomain, (await Ask(plugin, late, DnsType.A)).Rcode);
        Assert.True(IsHot(plugin, late, DnsType.A));
        source.Upsert(new ServiceInfo("ns1", "late", ServiceKind.ClusterIP, ["10.96.0.77"], null, [new ServicePortInfo("http", "TCP", 80)]));
        Assert.Equal("10.96.0.77", A(await Ask(plugin, late, DnsType.A)));

        // Deletion.
        source.Store.Delete(ClusterKinds.Services, source.Current.GetService("ns1", "late")!);
        Assert.Equal(DnsRcode.NXDomain, (await Ask(plugin, late, DnsType.A)).Rcode);
    }

    [Fact]
    public async Task Unrelated_changes_keep_cached_replies_hot()
    {
        var source = new StoreClusterSource(F1Fixture.Build());
        var plugin = Plugin(source);
        string[] names = ["web.ns1.svc.cluster.local.", "_https._tcp.web.ns1.svc.cluster.local.", "hl.ns1.svc.cluster.local.", "dual.ns1.svc.cluster.local."];
        foreach (var name in names)
        {
            await Ask(plugin, name, DnsType.A);
            await Ask(plugin, name, DnsType.SRV);
        }
        await Ask(plugin, "11.0.96.10.in-addr.arpa.", DnsType.PTR);
        var cached = plugin.Resolver.Answers;

        for (var i = 0; i < 50; i++)
        {
            source.Clock.Set(F1Fixture.Serial + i + 1); // every event moves the serial
            var slice = source.Current.GetSlice("ns2", "web-a")!;
            source.Upsert(slice with { Endpoints = [new EndpointInfo([$"10.244.9.{i + 10}"], null, null, null, true, null)] });
        }

        Assert.Same(cached, plugin.Resolver.Answers);
        var hits = 0;
        foreach (var name in names)
        {
            hits += IsHot(plugin, name, DnsType.A) ? 1 : 0;
            hits += IsHot(plugin, name, DnsType.SRV) ? 1 : 0;
        }
        hits += IsHot(plugin, "11.0.96.10.in-addr.arpa.", DnsType.PTR) ? 1 : 0;
        Assert.Equal(names.Length * 2 + 1, hits);
        // The changed service itself was invalidated, negative answers follow the serial.
        Assert.Equal("10.244.9.59", A(await Ask(plugin, "10-244-9-59.web.ns2.svc.cluster.local.", DnsType.A)));
        Assert.Equal(DnsRcode.NXDomain, (await Ask(plugin, "10-244-9-58.web.ns2.svc.cluster.local.", DnsType.A)).Rcode);
    }

    [Theory]
    [InlineData("PV", 1)]
    [InlineData("P0", 2)]
    [InlineData("PN", 3)]
    [InlineData("PP", 4)]
    [InlineData("PE", 5)]
    public async Task Every_answer_after_random_changes_equals_a_full_rebuild(string profile, int seed)
    {
        var random = new Random(seed);
        var source = new StoreClusterSource(F1Fixture.Build());
        var plugin = Plugin(source, profile);
        var options = F1Fixture.ParseOptions(F1Fixture.ProfileText(profile));
        var questions = Questions();
        for (var step = 0; step < 60; step++)
        {
            if (random.Next(3) == 0)
            {
                source.Clock.Set(F1Fixture.Serial + step);
            }
            Mutate(source, random);
            var fresh = new KubernetesResolver(options, source.Current, true, [F1Fixture.ServerAddress]);
            // Ask twice: the second is served from the cache whenever the first stored a reply.
            foreach (var (name, type) in questions)
            {
                if (random.Next(4) == 0)
                {
                    continue; // keep some cached replies from older steps around
                }
                var expected = Expected(fresh, name, type);
                Assert.True(expected == Render(await Ask(plugin, name, type)), $"step {step}: {name} {type}\nexpected {expected}");
                Assert.True(expected == Render(await Ask(plugin, name, type)), $"step {step} (cached): {name} {type}");
            }
        }
    }

    private static List<(string, DnsType)> Questions()
    {
        var list = new List<(string, DnsType)>
        {
            (Zone, DnsType.NS), ("ns.dns." + Zone, DnsType.A), (Zone, DnsType.SOA), ("1-2-3-4.ns1.pod." + Zone, DnsType.A),
            ("10-244-1-50.ns1.pod." + Zone, DnsType.A), ("10-244-7-1.ns3.pod." + Zone, DnsType.A),
        };
        foreach (var ns in (string[])["ns1", "ns2", "ns3"])
        {
            for (var i = 0; i < 6; i++)
            {
                var svc = $"s{i}.{ns}.svc.{Zone}";
                list.Add((svc, DnsType.A));
                list.Add((svc, DnsType.AAAA));
                list.Add((svc, DnsType.SRV));
                list.Add(("_http._tcp." + svc, DnsType.SRV));
                list.Add(("h1." + svc, DnsType.A));
                list.Add((svc, DnsType.TXT));
            }
        }
        for (var i = 0; i < 8; i++)
        {
            list.Add(($"{i}.7.244.10.in-addr.arpa.", DnsType.PTR));
            list.Add(($"{i}.7.96.10.in-addr.arpa.", DnsType.PTR));
        }
        list.Add(("53.0.244.10.in-addr.arpa.", DnsType.PTR));
        return list;
    }

    private static void Mutate(StoreClusterSource source, Random random)
    {
        var ns = "ns" + (1 + random.Next(3));
        var name = "s" + random.Next(6);
        ServicePortInfo[] ports = random.Next(2) == 0 ? [new("http", "TCP", 80)] : [new("http", "TCP", 80), new("https", "TCP", 443)];
        switch (random.Next(9))
        {
            case 0:
            case 1:
                var kind = random.Next(5);
                source.Upsert(kind switch
                {
                    0 => new ServiceInfo(ns, name, ServiceKind.Headless, ["None"], null, [.. ports]),
                    1 => new ServiceInfo(ns, name, ServiceKind.ExternalName, [], $"s{random.Next(6)}.ns1.svc.cluster.local", [ServicePortInfo.Sentinel]),
                    _ => new ServiceInfo(ns, name, ServiceKind.ClusterIP, [$"10.96.7.{random.Next(8)}"], null, [.. ports]),
                });
                break;
            case 2:
                if (source.Current.GetService(ns, name) is { } gone)
                {
                    source.Store.Delete(ClusterKinds.Services, gone);
                }
                break;
            case 3:
            case 4:
            case 5:
                var endpoints = new List<EndpointInfo>();
                for (var i = random.Next(4); i > 0; i--)
                {
                    var ip = random.Next(10) == 0 ? "10.244.0.53" : $"10.244.7.{random.Next(8)}";
                    endpoints.Add(new EndpointInfo([ip], random.Next(3) == 0 ? "h" + random.Next(2) : null, "pod-" + random.Next(3), null,
                        random.Next(4) != 0, null));
                }
                // Slices sometimes move between services (label change).
                var owner = random.Next(4) == 0 ? "s" + random.Next(6) : name;
                source.Upsert(new EndpointSliceInfo(ns, name + "-" + random.Next(2), owner, [.. ports], [.. endpoints], null));
                break;
            case 6:
                if (source.Current.GetSlice(ns, name + "-" + random.Next(2)) is { } slice)
                {
                    source.Store.Delete(ClusterKinds.Slices, slice);
                }
                break;
            case 7:
                source.Upsert(new PodInfo(ns, "p" + random.Next(4), $"10.244.{(random.Next(2) == 0 ? 1 : 7)}.{(random.Next(2) == 0 ? 50 : 1)}"));
                break;
            default:
                if (random.Next(2) == 0)
                {
                    source.Store.Upsert(ClusterKinds.Namespaces, "ns3");
                }
                else
                {
                    source.Store.Delete(ClusterKinds.Namespaces, "ns3");
                }
                break;
        }
    }

    private static string Expected(KubernetesResolver resolver, string name, DnsType type)
    {
        List<DnsRecord> answer = [], authority = [], additional = [];
        var result = resolver.Resolve(DnsName.Parse(name), type, answer, authority, additional);
        var rcode = result.Outcome switch
        {
            KubernetesOutcome.NameError => DnsRcode.NXDomain,
            KubernetesOutcome.ServFail => DnsRcode.ServFail,
            _ => DnsRcode.NoError,
        };
        if (result.UpstreamTarget is not null)
        {
            return "upstream";
        }
        return Render(rcode, answer, authority, additional);
    }

    private static string Render(DnsMessage m) =>
        m.Answers.LastOrDefault() is CnameRecord c && !c.Target.IsSubdomainOf(DnsName.Parse(Zone)) ? "upstream"
            : Render(m.Rcode, m.Answers, m.Authorities, m.Additionals);

    private static string Render(DnsRcode rcode, List<DnsRecord> answer, List<DnsRecord> authority, List<DnsRecord> additional) =>
        rcode + "|" + string.Join(";", answer.Select(r => r.ToString()).Order()) + "|" + string.Join(";", authority.Select(r => r.ToString()))
        + "|" + string.Join(";", additional.Select(r => r.ToString()).Order());

    // ---- per-event cost ----

    private static ClusterState BigState(int services)
    {
        var state = ClusterState.Empty.WithNamespace("ns");
        var port = ImmutableArray.Create(new ServicePortInfo("http", "TCP", 80));
        for (var i = 0; i < services; i++)
        {
            var name = "svc-" + i;
            state = state.WithService(new ServiceInfo("ns", name, ServiceKind.ClusterIP, [$"10.{96 + i / 65536}.{i / 256 % 256}.{i % 256}"], null, port));
            state = state.WithSlice(new EndpointSliceInfo("ns", name + "-a", name, port,
                [new EndpointInfo([$"10.{200 + i / 32768}.{i / 128 % 256}.{i % 128 * 2}"], null, null, null, true, null),
                 new EndpointInfo([$"10.{200 + i / 32768}.{i / 128 % 256}.{i % 128 * 2 + 1}"], null, null, null, true, null)], null));
        }
        return state.WithSerial(1);
    }

    /// <summary>Allocated bytes to apply one EndpointSlice update to the state and the index (median of a few runs).</summary>
    private static long BytesPerEvent(int services)
    {
        var options = F1Fixture.ParseOptions(F1Fixture.ProfileText("P0"));
        var state = BigState(services);
        var index = KubernetesIndex.Build(state, options, [F1Fixture.ServerAddress]);
        var samples = new List<long>();
        for (var i = 0; i < 9; i++)
        {
            var name = "svc-" + (i * 7919 % services);
            var slice = state.GetSlice("ns", name + "-a")!;
            var changed = slice with { Endpoints = [slice.Endpoints[0] with { Hostname = "h" + i }, slice.Endpoints[1]] };
            var change = new ClusterChange(new HashSet<(string, string)> { ("ns", name) }, false, false, false);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var next = state.WithSlice(changed).WithSerial(2 + i);
            var nextIndex = index.Apply(next, change);
            samples.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            state = next;
            index = nextIndex;
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }

    [Fact]
    public void One_event_allocates_in_proportion_to_the_object_not_the_cluster()
    {
        var small = BytesPerEvent(1_000);
        var big = BytesPerEvent(50_000);
        output.WriteLine($"one slice event: {small} B at 1k services, {big} B at 50k services");
        // Persistent structures copy one path: log-depth growth only (50x the services ⇒ well under 2x the bytes).
        Assert.True(big < small * 2, $"1k services: {small} B/event, 50k services: {big} B/event");
        Assert.True(big < 64 * 1024, $"{big} B/event at 50k services");
    }

    [Fact]
    public void Incremental_index_keeps_unchanged_entries()
    {
        var options = F1Fixture.ParseOptions(F1Fixture.ProfileText("P0"));
        var state = BigState(100);
        var index = KubernetesIndex.Build(state, options, [F1Fixture.ServerAddress]);
        var untouched = index.FindService("svc-1.ns")!;
        var changedBefore = index.FindService("svc-2.ns")!;
        var slice = state.GetSlice("ns", "svc-2-a")!;
        var next = state.WithSlice(slice with { Endpoints = [slice.Endpoints[0]] });
        var nextIndex = index.Apply(next, new ClusterChange(new HashSet<(string, string)> { ("ns", "svc-2") }, false, false, false));
        Assert.Same(untouched, nextIndex.FindService("svc-1.ns"));
        Assert.True(untouched.IsCurrent);
        Assert.False(changedBefore.IsCurrent);
        Assert.Equal(1, nextIndex.FindService("svc-2.ns")!.ReadyCount);
        // The dropped endpoint's address lost its PTR entry: negative replies (PTR NXDOMAIN) must be recomputed.
        Assert.Equal(index.PtrCount - 1, nextIndex.PtrCount);
        Assert.False(index.Generation.IsCurrent);

        // A change nothing in DNS can see (a not-ready endpoint) keeps every token.
        var quiet = next.WithSlice(next.GetSlice("ns", "svc-2-a")! with
        {
            Endpoints = [next.GetSlice("ns", "svc-2-a")!.Endpoints[0], new EndpointInfo(["10.1.1.1"], null, null, null, false, null)],
        });
        var quietIndex = nextIndex.Apply(quiet, new ClusterChange(new HashSet<(string, string)> { ("ns", "svc-2") }, false, false, false));
        Assert.Same(nextIndex.FindService("svc-2.ns"), quietIndex.FindService("svc-2.ns"));
        Assert.Same(nextIndex.Generation, quietIndex.Generation);
    }
}
