using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Forward;

/// <summary>
/// A process-wide bound on the sockets forward holds open to its upstreams (in flight and pooled idle). Without it a
/// dead upstream and a steady query rate (each query holding its socket for the read timeout) run the process out of
/// file descriptors, and then the listeners, the API watches and the metrics endpoint fail too. At the bound a query
/// fails its dial at once — SERVFAIL with Go's wording, <c>dial udp …: socket: too many open files</c> — and is
/// counted in <c>clusterdns_forward_sockets_exhausted_total</c>. The bound is half the process's open-file limit, read
/// once (the .NET runtime has raised the soft limit to the hard one by then), so the other half stays for the rest.
/// </summary>
internal static class SocketBudget
{
    private const int Floor = 64;
    private const int Unknown = 65_536;

    private static int s_open;

    private static readonly Counter Exhausted = PromMetrics.CreateCounter("clusterdns_forward_sockets_exhausted_total",
        "Counter of forwarded queries failed at once because forward already held its bound of open sockets (half the open-file limit).");

    /// <summary>The most sockets forward keeps open at once.</summary>
    public static int Limit { get; } = Math.Max(Floor, OpenFileLimit() / 2);

    /// <summary>Sockets forward holds open now.</summary>
    public static int Open => Volatile.Read(ref s_open);

    /// <summary>Takes one socket from the budget; false (and counted) when it is spent.</summary>
    public static bool TryTake()
    {
        if (Interlocked.Increment(ref s_open) <= Limit)
        {
            return true;
        }
        Interlocked.Decrement(ref s_open);
        Exhausted.Inc();
        return false;
    }

    public static void Return() => Interlocked.Decrement(ref s_open);

    /// <summary>The soft <c>Max open files</c> of this process (Linux's /proc/self/limits), or a generous default.</summary>
    private static int OpenFileLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    continue;
                }
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && int.TryParse(fields[0], System.Globalization.CultureInfo.InvariantCulture, out var soft) && soft > 0
                    ? soft
                    : Unknown; // "unlimited"
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
        return Unknown;
    }
}
