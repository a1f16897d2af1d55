namespace ClusterDns.Fuzz.Engine;

/// <summary>Resident set size of this process (Linux <c>/proc/self/status</c> VmRSS), in bytes; 0 elsewhere.</summary>
public static class Rss
{
    public static long Current()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var digits = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    public static string Format(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MiB";
}
