using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The cache-hit path with the load's working set: the query mix of <see cref="QueryMixBenchmarks"/> (≈10.7k
/// distinct questions at N = 1,000) through <c>cache</c> in front of the kubernetes plugin, after one pass that fills
/// the cache, so every query is a cache hit (lookup in the store, copy of the stored reply, id/flags/TTL patches).
/// The one-question <c>cache hit</c> of <see cref="PipelineBenchmarks"/> keeps everything in L1; this does not.
/// </summary>
[MemoryDiagnoser]
public class CacheMixBenchmarks
{
    private const int Batch = 10_000;

    private PipelineFixture _fixture = null!;
    private readonly DnsRequest _request = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private byte[][] _queries = [];
    private int _next;

    [Params(1_000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _fixture = PipelineFixture.StartAsync(Services, cacheInFront: true).GetAwaiter().GetResult();
        _queries = QueryMixBenchmarks.Mix(Services);
        foreach (var query in _queries)
        {
            _fixture.Answer(_request, query);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch, Description = "cache-hit mix, per query")]
    public int Mix()
    {
        var total = 0;
        for (var i = 0; i < Batch; i++)
        {
            total += _fixture.Answer(_request, _queries[_next]);
            _next = _next + 1 == _queries.Length ? 0 : _next + 1;
        }
        return total;
    }

    /// <summary><c>cache-mix [rounds]</c>: the same loop timed by the process's CPU time rather than the wall clock,
    /// for a machine shared with other work (a preempted loop is not charged). Prints ns of CPU per query.</summary>
    public static int RunCpuTimed(string[] args)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var bench = new CacheMixBenchmarks { Services = 1_000 };
        bench.Setup();
        for (var i = 0; i < 30; i++)
        {
            bench.Mix(); // warm-up: tiered JIT reaches its final code
        }
        var process = Process.GetCurrentProcess();
        for (var round = 0; round < rounds; round++)
        {
            process.Refresh();
            var before = process.TotalProcessorTime;
            for (var i = 0; i < 50; i++)
            {
                bench.Mix();
            }
            process.Refresh();
            var ns = (process.TotalProcessorTime - before).TotalNanoseconds / (50.0 * Batch);
            Console.WriteLine($"cache-hit mix: {ns:F1} ns CPU per query");
        }
        bench.Cleanup();
        return 0;
    }
}
