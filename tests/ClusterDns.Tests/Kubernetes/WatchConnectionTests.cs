using System.Net.Http;
using ClusterDns.Kubernetes;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>Issue 13, defect 5, in process: a watch the client gives up on closes its connection at once, and idle
/// connections to the API server have a bounded life.</summary>
public sealed class WatchConnectionTests(ITestOutputHelper output) : ClusterSourceTestBase(output)
{
    [Fact]
    public async Task Watches_the_watchdog_cancels_close_their_connections()
    {
        await StartSyncedAsync();
        Server.HangWatches = true;
        Server.CutWatches(abort: false);
        var watches = Server.WatchRequests(ApiResource.Services);
        // Fast: the watchdog gives up on a silent watch after 3 s + 1 s; three rounds of it.
        await Eventually.True(() => Server.WatchRequests(ApiResource.Services) >= watches + 3, TimeSpan.FromSeconds(40),
            because: "the watchdog did not restart the silent watch");
        var open = Server.Connections;
        Output.WriteLine($"open connections after {Server.WatchRequests(ApiResource.Services) - watches} silent services watches: {open}");
        // Four resources each hold one (hung) watch; a cancelled watch whose response was left undisposed would
        // keep its connection too (four more per round).
        Assert.True(await Eventually.Holds(() => Server.Connections <= 6, TimeSpan.FromSeconds(5)), $"{Server.Connections} connections open");
    }

    [Fact]
    public void The_client_handler_bounds_idle_connection_life()
    {
        var config = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Endpoint = "http://127.0.0.1:1" });
        using var handler = new SocketsHttpHandler();
        Assert.NotNull(config.FirstMessageHandlerSetup);
        config.FirstMessageHandlerSetup(handler);
        Assert.Equal(TimeSpan.FromSeconds(15), handler.PooledConnectionIdleTimeout);
        Assert.Equal(TimeSpan.FromMinutes(10), handler.PooledConnectionLifetime);
    }
}
