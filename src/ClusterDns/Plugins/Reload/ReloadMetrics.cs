using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Reload;

/// <summary><c>coredns_reload_*</c>: failed reloads and the running configuration's hash.</summary>
public static class ReloadMetrics
{
    private static readonly Lock Gate = new();
    private static string? _current;

    public static Counter Failed { get; } = PromMetrics.CreateCounter("coredns_reload_failed_total",
        "Counter of the number of failed reload attempts.");

    public static Gauge VersionInfo { get; } = PromMetrics.CreateGauge("coredns_reload_version_info",
        "A metric with a constant '1' value labeled by hash, and value which type of hash generated.", ["hash", "value"]);

    /// <summary>Publishes <c>{hash="sha512",value=<paramref name="sha512Hex"/>}</c> = 1 and drops the previous configuration's series.</summary>
    public static void SetVersion(string sha512Hex)
    {
        lock (Gate)
        {
            if (_current == sha512Hex)
            {
                return;
            }
            if (_current is not null)
            {
                VersionInfo.RemoveLabelled("sha512", _current);
            }
            VersionInfo.WithLabels("sha512", sha512Hex).Set(1);
            _current = sha512Hex;
        }
    }
}
