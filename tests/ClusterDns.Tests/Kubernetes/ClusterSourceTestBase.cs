using ClusterDns.Kubernetes;
using ClusterDns.Tests.TestSupport;
using k8s;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>Starts a test API server with the example cluster and builds sources against it with short timeouts.</summary>
public abstract class ClusterSourceTestBase(ITestOutputHelper output) : IAsyncLifetime
{
    protected static readonly WatchOptions Fast = new()
    {
        WatchPods = true,
        WatchTimeout = TimeSpan.FromSeconds(3),
        WatchdogSlack = TimeSpan.FromSeconds(1),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private readonly List<IAsyncDisposable> _sources = [];

    protected ITestOutputHelper Output { get; } = output;

    protected TestApiServer Server { get; private set; } = null!;

    protected ILoggerFactory Logs { get; } = XunitLoggerProvider.CreateFactory(output);

    public async Task InitializeAsync()
    {
        Server = await TestApiServer.StartAsync();
        Fixtures.LoadExampleCluster(Server);
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _sources)
        {
            await s.DisposeAsync();
        }
        await Server.DisposeAsync();
        Logs.Dispose();
    }

    protected KubernetesClusterSource NewSource(WatchOptions? options = null)
    {
        var source = new KubernetesClusterSource(new KubernetesClientConfiguration { Host = Server.Url }, options ?? Fast, Logs);
        _sources.Add(source);
        return source;
    }

    protected async Task<KubernetesClusterSource> StartSyncedAsync(WatchOptions? options = null)
    {
        var source = NewSource(options);
        await source.StartAsync(CancellationToken.None);
        Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(10), CancellationToken.None), "did not sync");
        return source;
    }

    /// <summary>Waits until the source holds exactly what the API holds (serial aside).</summary>
    protected async Task ConvergesAsync(IClusterSource source, WatchOptions? options = null, TimeSpan? timeout = null)
    {
        var expected = ClusterStateText.Of(ClusterStateText.Expected(Server, options ?? Fast));
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (ClusterStateText.Of(source.Current) != expected)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Equal(expected, ClusterStateText.Of(source.Current));
            }

            await Task.Delay(20);
        }
    }
}
