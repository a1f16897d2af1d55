using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Forward;

/// <summary>Read-only counters of one <c>forward</c> instance, for the metrics exporter (<c>coredns_forward_*</c>).</summary>
public interface IForwardStatistics
{
    /// <summary><c>coredns_forward_healthcheck_broken_total</c>.</summary>
    long HealthcheckBroken { get; }

    /// <summary><c>coredns_forward_max_concurrent_rejects_total</c>.</summary>
    long MaxConcurrentRejects { get; }

    /// <summary>One entry per TO, in configuration order.</summary>
    IReadOnlyList<IUpstreamStatistics> Upstreams { get; }
}

/// <summary>Counters of one upstream (<c>to</c> label), feeding <c>coredns_proxy_*{proxy_name="forward", to}</c> and the
/// 1.7–1.10 <c>coredns_forward_*{to}</c> names.</summary>
public interface IUpstreamStatistics
{
    /// <summary>The <c>to</c> label: <c>host:port</c> as configured (no scheme).</summary>
    string To { get; }

    /// <summary>Queries sent (<c>coredns_forward_requests_total{to}</c>).</summary>
    long Requests { get; }

    /// <summary>Replies by rcode 0–15 (<c>coredns_forward_responses_total{rcode, to}</c>); index 16 = anything larger.</summary>
    long ResponsesByRcode(int rcode);

    /// <summary>Histogram of request durations per rcode for <c>coredns_proxy_request_duration_seconds{to, rcode}</c>:
    /// cumulative-free bucket counts for the core bounds <see cref="UpstreamCounters.Bounds"/> plus +Inf, and the sum.</summary>
    long DurationBucket(int rcode, int bucket);

    double DurationSumSeconds(int rcode);

    /// <summary><c>coredns_proxy_healthcheck_failures_total{to}</c>.</summary>
    long HealthcheckFailures { get; }

    /// <summary><c>coredns_proxy_conn_cache_hits_total{to, proto}</c>; proto = udp | tcp | tcp-tls.</summary>
    long ConnCacheHits(string proto);

    /// <summary><c>coredns_proxy_conn_cache_misses_total{to, proto}</c>.</summary>
    long ConnCacheMisses(string proto);

    /// <summary>Current health-check failure count (down when above max_fails).</summary>
    int Fails { get; }
}

/// <summary>Per-upstream counters: plain arrays and Interlocked, nothing allocated per query.</summary>
internal sealed class UpstreamCounters
{
    /// <summary>CoreDNS's core time buckets: 0.00025·2^k s, k = 0..15.</summary>
    public static readonly double[] Bounds = BuildBounds();

    private const int RcodeSlots = 17;

    public long Requests;
    public long HealthcheckFailures;
    public readonly long[] Responses = new long[RcodeSlots];
    private readonly long[] _buckets = new long[RcodeSlots * 17];
    private readonly long[] _sumMicros = new long[RcodeSlots];
    public readonly long[] ConnHits = new long[3];
    public readonly long[] ConnMisses = new long[3];

    private static double[] BuildBounds()
    {
        var bounds = new double[16];
        for (var k = 0; k < bounds.Length; k++)
        {
            bounds[k] = 0.00025 * Math.Pow(2, k);
        }
        return bounds;
    }

    public static int Slot(DnsRcode rcode) => Math.Min((int)rcode, RcodeSlots - 1);

    public static int ProtoIndex(string proto) => proto switch
    {
        "udp" => 0,
        "tcp" => 1,
        _ => 2,
    };

    public void Observe(int rcode, TimeSpan elapsed)
    {
        var slot = Math.Min(rcode, RcodeSlots - 1);
        Interlocked.Increment(ref Responses[slot]);
        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < Bounds.Length && seconds > Bounds[bucket])
        {
            bucket++;
        }
        Interlocked.Increment(ref _buckets[slot * 17 + bucket]);
        Interlocked.Add(ref _sumMicros[slot], (long)(seconds * 1_000_000));
    }

    public long Bucket(int rcode, int bucket) => Interlocked.Read(ref _buckets[Math.Min(rcode, RcodeSlots - 1) * 17 + bucket]);

    public double SumSeconds(int rcode) => Interlocked.Read(ref _sumMicros[Math.Min(rcode, RcodeSlots - 1)]) / 1_000_000.0;
}
