namespace ClusterDns.Metrics;

/// <summary>Histogram buckets CoreDNS uses; dashboards compute quantiles from these exact boundaries.</summary>
public static class MetricBuckets
{
    /// <summary>CoreDNS <c>plugin.TimeBuckets</c>: 0.00025·2^k, k = 0..15 (0.25 ms … 8.192 s).</summary>
    public static double[] Time => Exponential(0.00025, 2, 16);

    /// <summary>Request/response size buckets of <c>coredns_dns_request_size_bytes</c> and <c>…response_size_bytes</c>.</summary>
    public static double[] Size => [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

    /// <summary>kubernetes <c>dns_programming_duration_seconds</c>: 0.001·2^k, k = 0..19 (1 ms … ≈524 s).</summary>
    public static double[] DnsProgramming => Exponential(0.001, 2, 20);

    /// <summary>health's self-probe duration buckets.</summary>
    public static double[] Health => [0.00025, 0.0025, 0.025, 0.25, 2.5];

    /// <summary>The Go client's <c>prometheus.DefBuckets</c> (client-go request latencies).</summary>
    public static double[] Default => [.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10];

    /// <summary>As Go's <c>prometheus.ExponentialBuckets</c>: repeated multiplication, so the values match bit for bit.</summary>
    public static double[] Exponential(double start, double factor, int count)
    {
        var buckets = new double[count];
        var value = start;
        for (var i = 0; i < count; i++)
        {
            buckets[i] = value;
            value *= factor;
        }
        return buckets;
    }
}
