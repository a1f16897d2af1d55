using System.Globalization;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Metrics;

/// <summary>
/// The process-wide default registry, set up once to look like the Go client's: <c>process_*</c> series (plus the
/// three prometheus-net does not emit) and prometheus-net's <c>dotnet_*</c> GC series as the counterpart of <c>go_*</c>.
/// The Meter and EventCounter adapters are off: they add <c>prometheus_net_*</c> self-metrics and many series no
/// CoreDNS dashboard knows, and run listeners in the background.
/// </summary>
public static class MetricsRegistry
{
    /// <summary>Text exposition 0.0.4, as promhttp serves it without content negotiation.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static int _configured;

    public static CollectorRegistry Registry => PromMetrics.DefaultRegistry;

    /// <summary>Applies the default-registry options; must run before the first scrape (later calls are no-ops).</summary>
    public static void EnsureConfigured()
    {
        if (Interlocked.Exchange(ref _configured, 1) != 0)
        {
            return;
        }
        PromMetrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressProcessMetrics = false,
            SuppressMeters = true,
            SuppressEventCounters = true,
            SuppressDebugMetrics = true,
        });
        if (OperatingSystem.IsLinux())
        {
            ProcessMetrics.Register(Registry);
        }
    }

    /// <summary>Writes every metric of the default registry in the text format.</summary>
    public static Task WriteTextAsync(Stream destination, CancellationToken cancellationToken)
    {
        EnsureConfigured();
        return Registry.CollectAndExportAsTextAsync(destination, cancellationToken);
    }
}

/// <summary>
/// The Go process collector's series prometheus-net lacks on Linux (it has cpu, virtual memory and start time):
/// resident memory and file descriptors, read from /proc at scrape time.
/// </summary>
internal static class ProcessMetrics
{
    private static readonly Gauge Resident = PromMetrics.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
    private static readonly Gauge OpenFds = PromMetrics.CreateGauge("process_open_fds", "Number of open file descriptors.");
    private static readonly Gauge MaxFds = PromMetrics.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");

    public static void Register(CollectorRegistry registry) => registry.AddBeforeCollectCallback(Update);

    private static void Update()
    {
        try
        {
            // statm: size resident shared ... in pages.
            var statm = File.ReadAllText("/proc/self/statm").Split(' ');
            Resident.Set(double.Parse(statm[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize);
            var fds = 0;
            foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                fds++;
            }
            OpenFds.Set(fds);
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    MaxFds.Set(fields[0] == "unlimited" ? double.PositiveInfinity : double.Parse(fields[0], CultureInfo.InvariantCulture));
                    break;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // /proc unavailable (sandbox): keep the last values rather than fail the scrape.
        }
    }
}
