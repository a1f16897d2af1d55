using System.Diagnostics;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.EndToEnd;

/// <summary>
/// API faults through the whole server: every scenario ends with DNS answers equal to the API's state.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private const string Web = "web.ns1.svc.cluster.local.";
    private const string Nope = "nope.ns1.svc.cluster.local.";

    private sealed class Setup : IAsyncDisposable
    {
        public required TestApiServer Api { get; init; }
        public required TestDnsServer Server { get; init; }
        public required IPEndPoint Target { get; init; }

        public Task<(DnsRcode Rcode, string[] Addresses)> Async(string name) => DnsProbe.AddressesAsync(Target, name);

        public Task WaitForAsync(string name, params string[] addresses) =>
            Eventually.True(async () =>
            {
                var (rcode, got) = await Async(name);
                return addresses.Length == 0 ? rcode == DnsRcode.NXDomain : rcode == DnsRcode.NoError && got.SequenceEqual(addresses.Order(StringComparer.Ordinal));
            }, addresses.Length == 0 ? $"{name} to be NXDOMAIN" : $"{name} -> {string.Join(",", addresses)}", TimeSpan.FromSeconds(30));

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Api.DisposeAsync();
        }
    }

    private static async Task<Setup> StartAsync(bool down = false, string blockLines = "")
    {
        var api = await TestApiServer.StartAsync();
        F1Api.Load(api);
        api.SetOutage(down);
        var server = await TestDnsServer.StartAsync(F1Api.Corefile("P0", api.Url, blockLines), plugins: F1Api.Plugins);
        return new Setup { Api = api, Server = server, Target = new IPEndPoint(F1Api.ServerAddress, server.Endpoints.Values.First().Port) };
    }

    [Fact]
    public async Task Api_down_at_startup_servfails_until_it_comes_up()
    {
        await using var setup = await StartAsync(down: true, blockLines: "    startup_timeout 1s\n");
        Assert.True(await setup.Server.LogContainsAsync("starting server with unsynced Kubernetes API"), setup.Server.Log);

        // Unsynced: would-be NXDOMAIN answers are SERVFAIL with the serial-0 SOA; structural names still answer.
        foreach (var name in new[] { Web, Nope })
        {
            var reply = await DnsProbe.UdpAsync(setup.Target, name, DnsType.A);
            Assert.Equal(DnsRcode.ServFail, reply.Rcode);
            Assert.True(reply.Authoritative);
            Assert.Equal(0u, Assert.IsType<SoaRecord>(Assert.Single(reply.Authority)).Serial);
        }
        Assert.Equal(DnsRcode.NoError, (await DnsProbe.UdpAsync(setup.Target, "svc.cluster.local.", DnsType.A)).Rcode);

        setup.Api.SetOutage(false);
        await setup.WaitForAsync(Web, "10.96.0.11");
        // Services can be listed before the other informers finish: NXDOMAIN only once all of them synced.
        await setup.WaitForAsync(Nope);
        var nope = await DnsProbe.UdpAsync(setup.Target, Nope, DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, nope.Rcode);
        Assert.NotEqual(0u, Assert.IsType<SoaRecord>(Assert.Single(nope.Authority)).Serial);
    }

    [Fact]
    public async Task Api_down_after_sync_keeps_serving_stale_data_then_catches_up()
    {
        await using var setup = await StartAsync();
        await setup.WaitForAsync(Web, "10.96.0.11");
        var watchesBefore = setup.Api.WatchRequests(ApiResource.Services);
        setup.Api.SetOutage(true);
        // Changes made while the API is unreachable for us (the server keeps them in its history).
        setup.Api.Upsert(F1Api.Service("ns1", "during-outage", "10.96.7.7"));
        Assert.True(setup.Api.Delete(ApiResource.Services, "ns1", "empty"));

        // Stale but never SERVFAIL while down: ask repeatedly over a period spanning the client's reconnect attempts.
        var clock = Stopwatch.StartNew();
        var answers = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            var (rcode, addresses) = await setup.Async(Web);
            Assert.Equal(DnsRcode.NoError, rcode);
            Assert.Equal(["10.96.0.11"], addresses);
            Assert.Equal(DnsRcode.NXDomain, (await setup.Async("during-outage.ns1.svc.cluster.local.")).Rcode);
            answers++;
            await Task.Delay(5); // pacing only: the machine is shared
        }
        output.WriteLine($"{answers} stale answers served during the outage");

        setup.Api.SetOutage(false);
        await setup.WaitForAsync("during-outage.ns1.svc.cluster.local.", "10.96.7.7");
        await setup.WaitForAsync("empty.ns1.svc.cluster.local.");
        Assert.True(setup.Api.WatchRequests(ApiResource.Services) > watchesBefore);
    }

    [Fact]
    public async Task Cut_watch_resumes_without_relist()
    {
        await using var setup = await StartAsync();
        var lists = setup.Api.ListRequests(ApiResource.Services);
        var watches = setup.Api.WatchRequests(ApiResource.Services);
        setup.Api.CutWatches(abort: true);
        setup.Api.Upsert(F1Api.Service("ns1", "after-cut", "10.96.8.8"));
        await setup.WaitForAsync("after-cut.ns1.svc.cluster.local.", "10.96.8.8");
        Assert.Equal(lists, setup.Api.ListRequests(ApiResource.Services));
        Assert.True(setup.Api.WatchRequests(ApiResource.Services) > watches);
        Assert.NotEqual("0", setup.Api.LastWatchResourceVersion(ApiResource.Services));
    }

    [Fact]
    public async Task Compaction_while_disconnected_relists_and_reflects_deletes_and_adds()
    {
        await using var setup = await StartAsync();
        var lists = setup.Api.ListRequests(ApiResource.Services);
        setup.Api.SetOutage(true);
        Assert.True(setup.Api.Delete(ApiResource.Services, "ns1", "web"));
        setup.Api.Upsert(F1Api.Service("ns1", "added", "10.96.9.9"));
        setup.Api.Compact();
        setup.Api.SetOutage(false);

        await setup.WaitForAsync("added.ns1.svc.cluster.local.", "10.96.9.9");
        await setup.WaitForAsync(Web);
        Assert.True(setup.Api.ListRequests(ApiResource.Services) > lists, "expected a relist after 410 Gone");
        // Untouched objects survive the relist.
        await setup.WaitForAsync("dual.ns1.svc.cluster.local.", "10.96.0.12");
    }

    [Fact]
    public async Task Burst_of_a_thousand_service_changes_all_visible()
    {
        const int count = 1000;
        await using var setup = await StartAsync();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            setup.Api.Upsert(F1Api.Service("ns2", $"burst-{i:D4}", BurstIp(i)));
        }
        var pending = Enumerable.Range(0, count).ToList();
        var deadline = Stopwatch.StartNew();
        while (pending.Count > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"{pending.Count} of {count} services still missing");
            var still = new List<int>();
            foreach (var i in pending)
            {
                var (rcode, addresses) = await setup.Async($"burst-{i:D4}.ns2.svc.cluster.local.");
                if (rcode != DnsRcode.NoError || addresses is not [var ip] || ip != BurstIp(i))
                {
                    still.Add(i);
                }
            }
            pending = still;
        }
        output.WriteLine($"{count} services created and all answered in {clock.ElapsedMilliseconds} ms");

        // And a burst of deletes.
        for (var i = 0; i < count; i += 2)
        {
            setup.Api.Delete(ApiResource.Services, "ns2", $"burst-{i:D4}");
        }
        await setup.WaitForAsync($"burst-{count - 2:D4}.ns2.svc.cluster.local.");
        for (var i = 0; i < count; i++)
        {
            var (rcode, addresses) = await setup.Async($"burst-{i:D4}.ns2.svc.cluster.local.");
            Assert.Equal(i % 2 == 0 ? DnsRcode.NXDomain : DnsRcode.NoError, rcode);
            Assert.Equal(i % 2 == 0 ? [] : [BurstIp(i)], addresses);
        }
    }

    private static string BurstIp(int i) => $"10.98.{i / 250}.{i % 250 + 1}";

    [Fact]
    public async Task Programming_latency_from_api_upsert_to_served_answer()
    {
        const int samples = 100;
        await using var setup = await StartAsync();
        var latencies = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var ip = $"10.99.{i / 250}.{i % 250 + 1}";
            var clock = Stopwatch.StartNew();
            setup.Api.Upsert(F1Api.Service("ns1", "moving", ip));
            while (true)
            {
                var (rcode, addresses) = await setup.Async("moving.ns1.svc.cluster.local.");
                if (rcode == DnsRcode.NoError && addresses is [var got] && got == ip)
                {
                    break;
                }
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"sample {i}: {ip} not served after 10 s");
            }
            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        output.WriteLine($"DNS programming latency over {samples} changes: p50 {P(0.5):F2} ms, p90 {P(0.9):F2} ms, p99 {P(0.99):F2} ms, max {latencies[^1]:F2} ms");
        Assert.True(P(0.99) < 5000, $"p99 {P(0.99):F0} ms is beyond any sane bound");
    }
}
