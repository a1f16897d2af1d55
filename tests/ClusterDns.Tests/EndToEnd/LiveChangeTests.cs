using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using k8s.Models;

namespace ClusterDns.Tests.EndToEnd;

/// <summary>Watch events of every kind, seen through DNS: selectors moving objects in and out, slices, pods.</summary>
public sealed class LiveChangeTests
{
    private static async Task<(TestApiServer Api, TestDnsServer Server, IPEndPoint Target)> StartAsync(string profile)
    {
        var api = await TestApiServer.StartAsync();
        F1Api.Load(api);
        var server = await TestDnsServer.StartAsync(F1Api.Corefile(profile, api.Url), plugins: F1Api.Plugins);
        return (api, server, new IPEndPoint(F1Api.ServerAddress, server.Endpoints.Values.First().Port));
    }

    private static Task Expect(IPEndPoint target, string name, params string[] addresses) =>
        Eventually.True(async () =>
        {
            var (rcode, got) = await DnsProbe.AddressesAsync(target, name);
            return addresses.Length == 0 ? rcode == DnsRcode.NXDomain : got.SequenceEqual(addresses.Order(StringComparer.Ordinal));
        }, addresses.Length == 0 ? $"{name} NXDOMAIN" : $"{name} -> {string.Join(",", addresses)}");

    [Fact]
    public async Task Namespace_labels_move_namespaces_in_and_out()
    {
        var (api, server, target) = await StartAsync("PL");
        await using var _ = api;
        await using var __ = server;
        await Expect(target, "web.ns1.svc.cluster.local.", "10.96.0.11");
        await Expect(target, "web.ns2.svc.cluster.local.");
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "ns2", Labels = new Dictionary<string, string> { ["team"] = "a" } } });
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "ns1", Labels = new Dictionary<string, string> { ["team"] = "b" } } });
        await Expect(target, "web.ns2.svc.cluster.local.", "10.96.1.11");
        await Expect(target, "web.ns1.svc.cluster.local.");
    }

    [Fact]
    public async Task Slices_and_verified_pods_follow_the_api()
    {
        var (api, server, target) = await StartAsync("PV");
        await using var _ = api;
        await using var __ = server;
        await Expect(target, "hl.ns1.svc.cluster.local.", "10.244.2.1", "10.244.2.2", "10.244.2.3");

        // web-1 turns not ready, a new ready endpoint joins.
        var slice = F1Api.ToSlice(F1Fixture.Build().GetSlice("ns1", "hl-v4")!);
        slice.Endpoints[1].Conditions.Ready = false;
        slice.Endpoints.Add(new V1Endpoint { Addresses = ["10.244.2.9"], Hostname = "web-9", Conditions = new V1EndpointConditions { Ready = true } });
        api.Upsert(slice);
        await Expect(target, "hl.ns1.svc.cluster.local.", "10.244.2.1", "10.244.2.3", "10.244.2.9");
        await Expect(target, "web-9.hl.ns1.svc.cluster.local.", "10.244.2.9");
        await Expect(target, "web-1.hl.ns1.svc.cluster.local.");
        Assert.True(api.Delete(ApiResource.EndpointSlices, "ns1", "hl-v4"));
        await Expect(target, "10-244-2-3.hl.ns1.svc.cluster.local."); // web-0 lives on in the v6 slice

        // Pods: a new running pod answers; one that finishes (leaves the phase selector) stops answering.
        await Expect(target, "10-244-1-70.ns1.pod.cluster.local.");
        api.Upsert(F1Api.Pod("ns1", "late", "10.244.1.70", "Running"));
        await Expect(target, "10-244-1-70.ns1.pod.cluster.local.", "10.244.1.70");
        api.Upsert(F1Api.Pod("ns1", "client", "10.244.1.50", "Succeeded"));
        await Expect(target, "10-244-1-50.ns1.pod.cluster.local.");
    }
}
