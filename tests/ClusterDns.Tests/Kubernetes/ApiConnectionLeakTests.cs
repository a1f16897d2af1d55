using System.Globalization;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>
/// Issue 13, defect 5: watches the API server cuts must not stay half-open (CLOSE-WAIT) in the server process until a
/// garbage collection. The real executable runs as a child process; its sockets are read from <c>/proc</c>.
/// </summary>
public sealed class ApiConnectionLeakTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cuts => new()
    {
        "connection reset mid-stream",
        "stream closed cleanly",
        "410 Gone as an ERROR event",
        "410 Gone as HTTP status",
        "outage with 503",
        "every connection dropped, idle ones too",
    };

    [Theory]
    [MemberData(nameof(Cuts))]
    public async Task Twenty_cut_watches_leave_no_connection_half_closed(string how)
    {
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        var apiPort = new Uri(api.Url).Port;
        var started = await ClusterDnsProcess.StartKubernetesAsync(api.Url);
        await using var process = started.Process;
        var dns = started.Dns;
        Assert.True(await Eventually.Holds(async () => await ResolvesAsync(dns, "web.default.svc.cluster.local."), TimeSpan.FromSeconds(20)), process.Stdout);

        for (var cut = 1; cut <= 20; cut++)
        {
            // An event first, so the watch was healthy and the re-watch comes at once (the backoff does not grow).
            var name = "cut-" + cut.ToString(CultureInfo.InvariantCulture);
            api.Upsert(KubeadmStack.Service("default", name, "10.96.9." + cut.ToString(CultureInfo.InvariantCulture), 80));
            Assert.True(await Eventually.Holds(async () => await ResolvesAsync(dns, name + ".default.svc.cluster.local."), TimeSpan.FromSeconds(10)),
                $"{how}: {name} not served before cut {cut}\n{process.Stdout}");
            var watches = api.WatchRequests(ApiResource.Services);
            await CutAsync(api, how);
            Assert.True(await Eventually.Holds(() => api.WatchRequests(ApiResource.Services) > watches && api.ActiveWatches(ApiResource.Services) == 1,
                TimeSpan.FromSeconds(15)), $"{how}: services not re-watched after cut {cut}\n{process.Stdout}");
        }
        Assert.True(await ResolvesAsync(dns, "web.default.svc.cluster.local."));

        var clean = await Eventually.Holds(() => !ProcessSockets.Of(process.Id).Any(s => s.RemotePort == apiPort && s.State == "CLOSE_WAIT"),
            TimeSpan.FromSeconds(5));
        output.WriteLine($"{how}: sockets to the API: {ProcessSockets.Describe(process.Id, apiPort)}");
        Assert.True(clean, $"{how}: half-closed API connections after 20 cuts: {ProcessSockets.Describe(process.Id, apiPort)}");
        // One connection per watched resource (namespaces, services, endpointslices), nothing piled up.
        Assert.True(ProcessSockets.Of(process.Id).Count(s => s.RemotePort == apiPort) <= 6, ProcessSockets.Describe(process.Id, apiPort));
    }

    private static async Task CutAsync(TestApiServer api, string how)
    {
        switch (how)
        {
            case "connection reset mid-stream":
                api.CutWatches(abort: true);
                break;
            case "stream closed cleanly":
                api.CutWatches(abort: false);
                break;
            case "410 Gone as an ERROR event":
            case "410 Gone as HTTP status":
                api.GoneAsHttpStatus = how.EndsWith("status", StringComparison.Ordinal);
                api.Compact();
                api.CutWatches(abort: false);
                break;
            case "every connection dropped, idle ones too":
                api.DropConnections();
                break;
            default:
                api.SetOutage(true);
                await Task.Delay(300);
                api.SetOutage(false);
                break;
        }
    }

    private static async Task<bool> ResolvesAsync(IPEndPoint dns, string name)
    {
        var query = DnsMessage.CreateQuery(name, DnsType.A, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
        var reply = await TestDnsServer.ExchangeUdpAsync(dns, query, TimeSpan.FromSeconds(2));
        return reply is not null && DnsMessage.Parse(reply).Answers.Count > 0;
    }
}
