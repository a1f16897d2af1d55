using System.Diagnostics;
using System.Net;
using ClusterDns.Kubernetes;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>apiserver_qps / apiserver_burst / apiserver_max_inflight as a handler in the client's HTTP pipeline.</summary>
public sealed class ApiRateLimitHandlerTests
{
    private sealed class Recorder : HttpMessageHandler
    {
        private int _inFlight;

        public int MaxInFlight;
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Block { get; init; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref MaxInFlight, now);
            if (Block)
            {
                await Release.Task.WaitAsync(cancellationToken);
            }
            Interlocked.Decrement(ref _inFlight);
            return new HttpResponseMessage(HttpStatusCode.OK);
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }

    [Fact]
    public async Task Qps_spaces_requests_after_the_burst()
    {
        using var invoker = new HttpMessageInvoker(new ApiRateLimitHandler(qps: 20, burst: 2, maxInflight: 0) { InnerHandler = new Recorder() });
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 6; i++)
        {
            using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://api/api/v1/services"), CancellationToken.None);
        }
        // 2 from the burst, then 4 more at 20/s: at least ~4 × 50 ms.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(150), $"6 requests took {clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Max_inflight_caps_concurrent_requests_but_not_watches()
    {
        var recorder = new Recorder { Block = true };
        using var invoker = new HttpMessageInvoker(new ApiRateLimitHandler(qps: 0, burst: 0, maxInflight: 2) { InnerHandler = recorder });
        var lists = Enumerable.Range(0, 5).Select(_ => invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://api/api/v1/pods"), CancellationToken.None)).ToList();
        var watches = Enumerable.Range(0, 3).Select(_ => invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://api/api/v1/pods?watch=true"), CancellationToken.None)).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Volatile.Read(ref recorder.MaxInFlight) < 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        await Task.Delay(200); // give requests that should be held back the chance to (wrongly) arrive
        Assert.Equal(5, Volatile.Read(ref recorder.MaxInFlight)); // 2 lists + 3 watches
        recorder.Release.SetResult();
        await Task.WhenAll(lists.Concat(watches));
        Assert.All(lists, t => Assert.Equal(HttpStatusCode.OK, t.Result.StatusCode));
    }

    [Fact]
    public void No_limits_no_handler()
    {
        Assert.False(ApiRateLimitHandler.Needed(0, 0));
        Assert.True(ApiRateLimitHandler.Needed(5, 0));
        Assert.True(ApiRateLimitHandler.Needed(0, 3));
    }
}
