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

    [Theory]
    [InlineData(1e-15)] // a period far past TimeSpan's range
    [InlineData(1e12)]  // a period below one tick
    public async Task Any_rate_the_Corefile_accepts_builds_a_limiter(double qps)
    {
        using var invoker = new HttpMessageInvoker(new ApiRateLimitHandler(qps, burst: 0, maxInflight: 0) { InnerHandler = new Recorder() });
        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://api/api/v1/services"), CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the first token is there from the start
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
    public async Task Every_request_reports_its_wait_and_its_outcome_as_client_go_does()
    {
        // Rate limiter (1 token, then 10/s) outside the request metrics, as the kubernetes plugin chains them.
        const string Host = "api-metrics-test:6443";
        using var invoker = new HttpMessageInvoker(new ApiRateLimitHandler(qps: 10, burst: 1, maxInflight: 0)
        {
            InnerHandler = new ApiRequestMetricsHandler { InnerHandler = new Recorder() },
        });
        var waits = ClusterDns.Plugins.Kubernetes.KubernetesMetrics.RestClientRateLimiterDuration.WithLabels("GET", Host);
        var latency = ClusterDns.Plugins.Kubernetes.KubernetesMetrics.RestClientRequestDuration.WithLabels("GET", Host);
        var ok = ClusterDns.Plugins.Kubernetes.KubernetesMetrics.RestClientRequests.WithLabels("200", "GET", Host);
        var (waitCount, waitSum, latencyCount, okCount) = (waits.Count, waits.Sum, latency.Count, ok.Value);
        for (var i = 0; i < 3; i++)
        {
            using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{Host}/api/v1/services"), CancellationToken.None);
        }
        Assert.Equal(3, waits.Count - waitCount);
        Assert.True(waits.Sum - waitSum >= 0.1, $"waited {waits.Sum - waitSum} s for two tokens at 10/s"); // ≈ 0.2 s
        Assert.Equal(3, latency.Count - latencyCount);
        Assert.Equal(3, ok.Value - okCount);

        // No response at all: counted under code "<error>".
        using var failing = new HttpMessageInvoker(new ApiRequestMetricsHandler { InnerHandler = new Failing() });
        var errors = ClusterDns.Plugins.Kubernetes.KubernetesMetrics.RestClientRequests.WithLabels("<error>", "GET", Host);
        var errorCount = errors.Value;
        await Assert.ThrowsAsync<HttpRequestException>(() => failing.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{Host}/api/v1/pods"), CancellationToken.None));
        Assert.Equal(1, errors.Value - errorCount);
    }

    private sealed class Failing : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(new HttpRequestException("connection refused"));
    }
}
