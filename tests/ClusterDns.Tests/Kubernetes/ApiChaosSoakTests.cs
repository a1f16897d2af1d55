using System.Diagnostics;
using System.Globalization;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>
/// Issue 13, API chaos: random Service and EndpointSlice adds, deletes and changes on the test API server while watches
/// are cut (reset or closed), 410 Gone is forced (as an event and as a status), outages are taken and every connection
/// is dropped — against the real executable. At the end every served answer equals the API's final state, no watch
/// loop is stuck, no connection is half-closed and the file descriptor count (assemblies the runtime maps on first use aside) is flat. CI runs 20 s; set
/// <c>CLUSTERDNS_CHAOS_SECONDS</c> for a long run (docs/RELIABILITY.md).
/// </summary>
public sealed class ApiChaosSoakTests(ITestOutputHelper output)
{
    private const string Pool = "pool";

    [Fact]
    public async Task Answers_equal_the_api_state_after_chaos()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("CLUSTERDNS_CHAOS_SECONDS"), CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 20;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CLUSTERDNS_CHAOS_SEED"), CultureInfo.InvariantCulture, out var x) ? x : 20261205;
        var random = new Random(seed);
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        var apiPort = new Uri(api.Url).Port;
        var started = await ClusterDnsProcess.StartKubernetesAsync(api.Url);
        await using var process = started.Process;
        var dns = started.Dns;

        // Expected A records by name; an empty set means the name must be NXDOMAIN.
        var expected = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["web.default.svc.cluster.local."] = [KubeadmStack.WebClusterIp],
        };
        api.Upsert(KubeadmStack.Service("default", Pool, "None", 80));
        api.Upsert(KubeadmStack.Slice("default", "pool-a", Pool, 80, ["10.244.5.1"], null));
        expected[Name(Pool)] = ["10.244.5.1"];
        Assert.True(await Eventually.Holds(async () => await MismatchAsync(dns, expected) is null, TimeSpan.FromSeconds(20)), process.Stdout);
        var fdBefore = ProcessSockets.NonAssemblyFileDescriptors(process.Id);
        var fdKindsBefore = ProcessSockets.DescribeFileDescriptors(process.Id);

        var clock = Stopwatch.StartNew();
        int changes = 0, cuts = 0, gones = 0, outages = 0, drops = 0;
        var nextFault = TimeSpan.FromMilliseconds(random.Next(500, 1500));
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            Change(api, random, expected);
            changes++;
            if (clock.Elapsed >= nextFault)
            {
                switch (random.Next(5))
                {
                    case 0:
                    case 1:
                        api.CutWatches(abort: random.Next(2) == 0);
                        cuts++;
                        break;
                    case 2:
                        api.GoneAsHttpStatus = random.Next(2) == 0;
                        api.Compact();
                        api.CutWatches(abort: false);
                        gones++;
                        break;
                    case 3:
                        api.SetOutage(true);
                        await Task.Delay(random.Next(200, 1500));
                        api.SetOutage(false);
                        outages++;
                        break;
                    default:
                        api.DropConnections();
                        drops++;
                        break;
                }
                nextFault = clock.Elapsed + TimeSpan.FromMilliseconds(random.Next(300, 2000));
            }
            await Task.Delay(random.Next(10, 60));
        }

        var settle = Stopwatch.StartNew();
        string? mismatch = null;
        var converged = await Eventually.Holds(async () => (mismatch = await MismatchAsync(dns, expected)) is null, TimeSpan.FromSeconds(10));
        var convergedAfter = settle.Elapsed;
        Assert.True(converged, $"answers differ from the API 10 s after the chaos: {mismatch}\n{process.Stdout}");
        var watching = await Eventually.Holds(() => api.ActiveWatches(ApiResource.Services) == 1 && api.ActiveWatches(ApiResource.EndpointSlices) == 1
            && api.ActiveWatches(ApiResource.Namespaces) == 1, TimeSpan.FromSeconds(35));
        Assert.True(watching, $"a watch loop is not watching: namespaces {api.ActiveWatches(ApiResource.Namespaces)}, services "
            + $"{api.ActiveWatches(ApiResource.Services)}, endpointslices {api.ActiveWatches(ApiResource.EndpointSlices)}\n{process.Stdout}");
        Assert.True(await Eventually.Holds(() => !ProcessSockets.Of(process.Id).Any(t => t.RemotePort == apiPort && t.State == "CLOSE_WAIT"),
            TimeSpan.FromSeconds(5)), $"half-closed API connections: {ProcessSockets.Describe(process.Id, apiPort)}");
        int fdAfter = 0;
        var flat = await Eventually.Holds(() => (fdAfter = ProcessSockets.NonAssemblyFileDescriptors(process.Id)) <= fdBefore + 2, TimeSpan.FromSeconds(20));
        output.WriteLine($"seed {seed}, {seconds} s: {changes} changes, {cuts} watch cuts, {gones} forced 410s, {outages} outages, {drops} dropped-connection rounds; "
            + $"{expected.Count} names checked ({expected.Count(e => e.Value.Length == 0)} deleted → NXDOMAIN), converged {convergedAfter.TotalMilliseconds:0} ms after the last change; "
            + $"fds {fdBefore} → {fdAfter}; sockets to the API: {ProcessSockets.Describe(process.Id, apiPort)}; watchdog restarts logged: "
            + process.Stdout.Split('\n').Count(l => l.Contains("made no progress", StringComparison.Ordinal)));
        Assert.True(flat, $"file descriptors grew: {fdBefore} → {fdAfter}\nbefore: {fdKindsBefore}\nafter:  {ProcessSockets.DescribeFileDescriptors(process.Id)}");
    }

    private static string Name(string service) => service + ".default.svc.cluster.local.";

    /// <summary>One random change: add, delete or re-address a ClusterIP Service, or change the pool's endpoints.</summary>
    private static void Change(TestApiServer api, Random random, Dictionary<string, string[]> expected)
    {
        var id = random.Next(60).ToString(CultureInfo.InvariantCulture);
        var service = "chaos-" + id;
        switch (random.Next(4))
        {
            case 0:
            case 1:
                var ip = $"10.96.{random.Next(1, 250).ToString(CultureInfo.InvariantCulture)}.{random.Next(1, 250).ToString(CultureInfo.InvariantCulture)}";
                api.Upsert(KubeadmStack.Service("default", service, ip, 80));
                expected[Name(service)] = [ip];
                break;
            case 2:
                if (api.Delete(ApiResource.Services, "default", service) || expected.ContainsKey(Name(service)))
                {
                    expected[Name(service)] = [];
                }
                break;
            default:
                var addresses = Enumerable.Range(1, random.Next(1, 4))
                    .Select(_ => "10.244.5." + random.Next(1, 250).ToString(CultureInfo.InvariantCulture)).Distinct().Order(StringComparer.Ordinal).ToArray();
                api.Upsert(KubeadmStack.Slice("default", "pool-a", Pool, 80, addresses, null));
                expected[Name(Pool)] = addresses;
                break;
        }
    }

    /// <summary>The first name whose answer differs from <paramref name="expected"/>, or null when all match.</summary>
    private static async Task<string?> MismatchAsync(IPEndPoint dns, Dictionary<string, string[]> expected)
    {
        foreach (var (name, addresses) in expected)
        {
            var query = DnsMessage.CreateQuery(name, DnsType.A, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
            var raw = await TestDnsServer.ExchangeUdpAsync(dns, query, TimeSpan.FromSeconds(2));
            if (raw is null)
            {
                return $"{name}: no reply";
            }
            var reply = DnsMessage.Parse(raw);
            var got = reply.Answers.Where(r => r.Type == DnsType.A).Select(r => r.DataText()).Order(StringComparer.Ordinal).ToArray();
            if (addresses.Length == 0 ? reply.Rcode != DnsRcode.NXDomain : reply.Rcode != DnsRcode.NoError || !got.SequenceEqual(addresses))
            {
                return $"{name}: expected {(addresses.Length == 0 ? "NXDOMAIN" : string.Join(",", addresses))}, got {reply.Rcode} {string.Join(",", got)}";
            }
        }
        return null;
    }
}
