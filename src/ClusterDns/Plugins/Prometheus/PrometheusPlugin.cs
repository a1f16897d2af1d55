using System.Diagnostics;
using System.Reflection;
using ClusterDns.Metrics;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Prometheus;

/// <summary>
/// CoreDNS <c>prometheus</c> (plugin/metrics): lets the rest of the chain run, then reports the core metrics of the
/// query (<see cref="CoreMetrics"/>) under the block's zone; serves the process-wide registry at
/// <c>http://ADDRESS/metrics</c> on a listener shared by every block naming the same address and kept across reloads.
/// </summary>
public sealed class PrometheusPlugin : DnsPlugin
{
    public const string DefaultAddress = "localhost:9153";

    // Per (server, zone) children of this block; the strings come from the configuration, so lookups hit by reference.
    private readonly SeriesTable<RequestSeries> _series = new(CoreMetrics.For);

    public PrometheusPlugin(string address) => Address = address;

    public override string Name => "prometheus";

    /// <summary>The metrics listener address (<c>localhost:9153</c>, <c>:9153</c>...).</summary>
    public string Address { get; }

    /// <summary>The <c>goversion</c> label's counterpart: the runtime that runs us.</summary>
    public static string GoVersion { get; } = "dotnet" + Environment.Version;

    /// <summary>The source revision the SDK stamps after '+' in the informational version, shortened to 7 hex digits
    /// as CoreDNS's <c>git describe --always</c> prints it; "" when the build had no git metadata.</summary>
    public static string Revision { get; } = ReadRevision();

    private static string ReadRevision()
    {
        var informational = typeof(PrometheusPlugin).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = informational?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        if (plus < 0)
        {
            return string.Empty;
        }
        var revision = informational![(plus + 1)..];
        return revision.Length > 7 ? revision[..7] : revision;
    }

    /// <summary>GET /metrics: the process-wide registry in the text exposition format.</summary>
    internal static Task ServeMetricsAsync(HttpExchange exchange)
    {
        exchange.ContentType = MetricsRegistry.ContentType;
        return MetricsRegistry.WriteTextAsync(exchange.Body, exchange.Aborted);
    }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        // Captured before the chain: a rewrite below reloads the request (new question, zone reset), and CoreDNS
        // reports the request as received under the zone matched on arrival.
        var facts = RequestFacts.Capture(request);
        // The view label: the view of the block the router chose ("" without views, the common case).
        var series = request.View.Length == 0 ? _series.Get(request.Server, request.Zone) : CoreMetrics.For(request.Server, request.Zone, request.View);
        var start = Stopwatch.GetTimestamp();
        var pending = NextAsync(request, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            var result = pending.Result;
            Report(series, request, facts, start, result);
            return new ValueTask<DnsResult>(result);
        }
        return AwaitAndReport(series, request, facts, start, pending);
    }

    private static async ValueTask<DnsResult> AwaitAndReport(RequestSeries series, DnsRequest request, RequestFacts facts, long start, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        Report(series, request, facts, start, result);
        return result;
    }

    private static void Report(RequestSeries series, DnsRequest request, in RequestFacts facts, long start, DnsResult result)
    {
        var response = request.Response;
        // As plugin/metrics: an unwritten SERVFAIL/REFUSED/... is reported with the returned rcode (the server writes it
        // after us); the plugin label is whoever wrote, "" when nobody did, and the size is what was written so far.
        var rcode = result.ServerWrites ? (int)result.Rcode : response.Written ? (int)response.Rcode : 0;
        var size = response.Written ? response.Length : 0;
        series.Report(facts, rcode, response.Plugin, size, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }
}
