using System.Diagnostics;
using System.Threading.RateLimiting;
using ClusterDns.Plugins.Kubernetes;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Client-side limits on requests to the API server (the kubernetes block's <c>apiserver_qps</c>, <c>apiserver_burst</c>
/// and <c>apiserver_max_inflight</c>): a token bucket of QPS refilled continuously with BURST capacity, and a cap on
/// concurrent requests. Long-running watch requests take a token when they start but are not counted as in flight,
/// since they stay open by design. Every request's wait (zero without limits) is observed as
/// <c>coredns_kubernetes_rest_client_rate_limiter_duration_seconds{verb, host}</c>, as client-go's limiter reports it.
/// </summary>
public sealed class ApiRateLimitHandler : DelegatingHandler
{
    private readonly TokenBucketRateLimiter? _rate;
    private readonly ConcurrencyLimiter? _inflight;

    public ApiRateLimitHandler(double qps, int burst, int maxInflight)
    {
        if (qps > 0)
        {
            var capacity = Math.Max(1, burst > 0 ? burst : (int)Math.Min(Math.Ceiling(qps), int.MaxValue));
            // TokenBucketRateLimiter refills whole tokens per period: one token every 1/qps seconds (at most a day:
            // the Corefile accepts any positive rate), or above 1,000/s the tokens of each millisecond.
            var fast = qps >= 1000;
            _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = capacity,
                TokensPerPeriod = fast ? (int)Math.Min(Math.Ceiling(qps / 1000), int.MaxValue) : 1,
                ReplenishmentPeriod = fast ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromSeconds(Math.Min(1 / qps, 86_400)),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
        }
        if (maxInflight > 0)
        {
            _inflight = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = maxInflight,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (_rate is not null)
        {
            using var token = await _rate.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        var isWatch = request.RequestUri?.Query.Contains("watch=true", StringComparison.Ordinal) == true;
        using var permit = _inflight is null || isWatch ? null : await _inflight.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        KubernetesMetrics.RestClientRateLimiterDuration.WithLabels(request.Method.Method, ApiRequestMetricsHandler.HostOf(request))
            .Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _rate?.Dispose();
            _inflight?.Dispose();
        }
        base.Dispose(disposing);
    }
}
