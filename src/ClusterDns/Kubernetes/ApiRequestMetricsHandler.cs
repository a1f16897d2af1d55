using System.Diagnostics;
using System.Globalization;
using ClusterDns.Plugins.Kubernetes;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Feeds client-go's REST client series, as CoreDNS exports them: <c>coredns_kubernetes_rest_client_requests_total
/// {code, method, host}</c> per finished request (<c>code</c> the HTTP status, <c>&lt;error&gt;</c> when no response
/// came) and <c>…_request_duration_seconds{verb, host}</c> from sending to the response headers (a watch counts
/// until its stream opens, as in client-go). Sits inside <see cref="ApiRateLimitHandler"/>, so waits for a token
/// are not request latency; that handler reports them as <c>…_rate_limiter_duration_seconds</c>.
/// </summary>
public sealed class ApiRequestMetricsHandler : DelegatingHandler
{
    internal const string ErrorCode = "<error>";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = request.Method.Method;
        var host = HostOf(request);
        var started = Stopwatch.GetTimestamp();
        var code = ErrorCode;
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            code = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            return response;
        }
        finally
        {
            KubernetesMetrics.RestClientRequestDuration.WithLabels(method, host).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            KubernetesMetrics.RestClientRequests.WithLabels(code, method, host).Inc();
        }
    }

    /// <summary>client-go's <c>host</c> label: the URL's host and port.</summary>
    internal static string HostOf(HttpRequestMessage request) => request.RequestUri?.Authority ?? "";
}
