using System.Collections.Concurrent;
using System.Diagnostics;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Tests.TestSupport;
using k8s;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>
/// The watch path after API flaps (issue 13, defect 6): the backoff starts over after a healthy watch, a hung list
/// times out, and a loop that stops making progress is restarted by the per-resource watchdog.
/// </summary>
public sealed class ReflectorRecoveryTests(ITestOutputHelper output) : ClusterSourceTestBase(output)
{
    /// <summary>Production backoff cap (30 s): before the fix, cut 6 already waited 4–8 s and cut 13 15–30 s.</summary>
    private static readonly WatchOptions RealBackoff = Fast with
    {
        WatchTimeout = TimeSpan.FromSeconds(60),
        MaxBackoff = TimeSpan.FromSeconds(30),
    };

    public static TheoryData<string, ApiResource> HealthyWatches => new()
    {
        { "a watch that delivered an event", ApiResource.Services },
        { "a watch that stayed up past HealthyWatchUptime", ApiResource.Namespaces },
    };

    [Theory]
    [MemberData(nameof(HealthyWatches))]
    public async Task Thirteen_cuts_in_a_row_do_not_grow_the_backoff(string healthy, ApiResource resource)
    {
        var options = RealBackoff with { HealthyWatchUptime = TimeSpan.FromSeconds(1.5) };
        var source = await StartSyncedAsync(options);
        for (var cut = 1; cut <= 13; cut++)
        {
            await Eventually.True(() => Server.ActiveWatches(resource) == 1, TimeSpan.FromSeconds(5),
                because: $"{healthy}: watch of {resource} not re-opened promptly before cut {cut}");
            if (resource == ApiResource.Services)
            {
                var name = "flap-" + cut;
                Server.Upsert(KubernetesClusterSourceTests.Service("default", name, "10.96.7." + cut, 80));
                await Eventually.True(() => source.Current.GetService("default", name) is not null, TimeSpan.FromSeconds(5));
            }
            else
            {
                await Task.Delay(options.HealthyWatchUptime + TimeSpan.FromMilliseconds(300));
            }
            var watches = Server.WatchRequests(resource);
            var clock = Stopwatch.StartNew();
            Server.CutWatches(abort: true);
            await Eventually.True(() => Server.WatchRequests(resource) > watches, TimeSpan.FromSeconds(20),
                because: $"{healthy}: no re-watch of {resource} after cut {cut}");
            Output.WriteLine($"cut {cut}: re-watched after {clock.ElapsedMilliseconds} ms");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"{healthy}: cut {cut} re-watched only after {clock.Elapsed}");
        }
        Assert.Equal(1, Server.ListRequests(resource));
        await ConvergesAsync(source, options);
    }

    [Fact]
    public async Task A_hung_list_times_out_and_is_retried_until_the_api_answers()
    {
        var options = Fast with { ListTimeout = TimeSpan.FromSeconds(1) };
        Server.HangLists = true;
        var source = NewSource(options);
        await source.StartAsync(CancellationToken.None);
        await Eventually.True(() => Server.ListRequests(ApiResource.Services) >= 3, TimeSpan.FromSeconds(15),
            because: "a hung list is given up after ListTimeout and tried again");
        Assert.False(source.HasSynced);
        Server.HangLists = false;
        Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(10), CancellationToken.None), "did not sync after the lists answered");
        await ConvergesAsync(source, options);
    }

    [Fact]
    public async Task A_stalled_loop_is_restarted_by_the_watchdog_logged_and_counted()
    {
        // A list that ignores its cancellation token (as a handler deadlocked on a lock would): the list timeout
        // cannot end it, only the loop watchdog can.
        var options = Fast with { ListTimeout = TimeSpan.FromMilliseconds(500), LoopCheckInterval = TimeSpan.FromMilliseconds(100) };
        var lines = new ConcurrentQueue<string>();
        using var logs = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug)
            .AddProvider(new XunitLoggerProvider(Output)).AddProvider(new CapturingLoggerProvider(lines)));
        using var stall = new StallingHandler("/api/v1/services");
        var restarts = KubernetesMetrics.WatchRestarts.WithLabels("services");
        var before = restarts.Value;
        using var client = new KubernetesApiClient(new KubernetesClientConfiguration { Host = Server.Url }, stall);
        var source = new KubernetesClusterSource(client, options, logs);
        try
        {
            await source.StartAsync(CancellationToken.None);
            await Eventually.True(() => restarts.Value >= before + 1, TimeSpan.FromSeconds(15), because: "the stalled services loop was not restarted");
            Assert.Contains(lines, l => l.Contains("services list/watch loop made no progress for", StringComparison.Ordinal)
                && l.Contains("restarting it", StringComparison.Ordinal));
            Assert.False(source.HasSynced);

            stall.Release();
            Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(15), CancellationToken.None), "did not sync after the stall ended");
            await ConvergesAsync(source, options);
            Server.Delete(ApiResource.Services, "default", "web");
            await ConvergesAsync(source, options);
        }
        finally
        {
            await source.DisposeAsync();
        }
    }

    /// <summary>Holds requests whose path is <paramref name="path"/> (and ignores their cancellation) until <see cref="Release"/>.</summary>
    private sealed class StallingHandler(string path) : DelegatingHandler
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri?.AbsolutePath == path && !request.RequestUri.Query.Contains("watch=true", StringComparison.Ordinal))
            {
                await _released.Task.ConfigureAwait(false);
            }
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            Release();
            base.Dispose(disposing);
        }
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
