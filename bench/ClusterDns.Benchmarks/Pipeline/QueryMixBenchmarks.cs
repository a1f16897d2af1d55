using BenchmarkDotNet.Attributes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The load benchmark's query mix in memory: 100,000 queries generated as gen-cluster.py generates them (70% A,
/// 10% AAAA NODATA, 10% SRV, 10% ndots:5 search-path NXDOMAIN; 1 in 50 lookups headless), answered in a loop, at
/// N = 1,000 and 50,000 services. Unlike <see cref="PipelineBenchmarks"/> (one hot question), this touches as many
/// distinct questions as the real load (≈10.7k at N=1,000, ≈64k at N=50,000), so CPU-cache misses in the lookup
/// tables and the precompiled-reply cache's capacity show up here. Reported per query.
/// </summary>
[MemoryDiagnoser]
public class QueryMixBenchmarks
{
    private const int Queries = 100_000;
    private const int Batch = 10_000;

    private PipelineFixture _fixture = null!;
    private readonly DnsRequest _request = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private byte[][] _queries = [];
    private int _next;

    [Params(1_000, 50_000)]
    public int Services { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _fixture = PipelineFixture.StartAsync(Services).GetAwaiter().GetResult();
        _queries = Mix(Services);
        // One pass compiles every reply the mix needs (as the load's warm-up does).
        foreach (var query in _queries)
        {
            _fixture.Answer(_request, query);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch, Description = "query mix, per query")]
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

    /// <summary>gen-cluster.py's mix (its shape, not its exact random sequence).</summary>
    internal static byte[][] Mix(int services, int namespaces = 20, int headless = 10)
    {
        var random = new Random(20240601);
        var result = new byte[Queries][];
        string Service(int i) => $"svc-{i}.ns-{i % namespaces}.svc.cluster.local";
        string Headless(int k) => $"hl-{k}.ns-{k % namespaces}.svc.cluster.local";
        string Any() => random.NextDouble() < 0.02 ? Headless(random.Next(headless)) : Service(random.Next(services));
        for (var q = 0; q < Queries; q++)
        {
            var r = random.NextDouble();
            if (r < 0.70)
            {
                result[q] = PipelineFixture.Query(Any(), DnsType.A);
            }
            else if (r < 0.80)
            {
                result[q] = PipelineFixture.Query(Any(), DnsType.AAAA);
            }
            else if (r < 0.90)
            {
                var target = random.NextDouble() < 0.10 ? Headless(random.Next(headless)) : Service(random.Next(services));
                result[q] = PipelineFixture.Query("_http._tcp." + target, DnsType.SRV);
            }
            else
            {
                var i = random.Next(services);
                var fq = Service(i);
                var podNamespace = random.Next(namespaces);
                var name = random.Next(4) switch
                {
                    0 => $"{fq}.ns-{podNamespace}.svc.cluster.local",
                    1 => $"{fq}.svc.cluster.local",
                    2 => $"{fq}.cluster.local",
                    _ => $"svc-{i}.ns-{i % namespaces}.ns-{podNamespace}.svc.cluster.local",
                };
                result[q] = PipelineFixture.Query(name, random.NextDouble() < 0.5 ? DnsType.A : DnsType.AAAA);
            }
        }
        return result;
    }
}
