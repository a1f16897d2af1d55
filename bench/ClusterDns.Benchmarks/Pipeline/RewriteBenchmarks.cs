using BenchmarkDotNet.Attributes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The rewrite plugin through the whole in-memory pipeline (datagram bytes → QueryProcessor → reply bytes) with hosts
/// answering: a query no rule matches (passes five rules), an exact name hit, a suffix hit with answer auto (the
/// Gardener search-path shape), a regex hit with answer auto, and the `rewrite stop type AAAA A` recipe.
/// Target: 0 B for a miss; a hit builds the rewritten query and re-encodes the reverted reply.
/// </summary>
[MemoryDiagnoser]
public class RewriteBenchmarks
{
    private readonly DnsRequest _request = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private InMemoryPipeline _pipeline = null!;
    private byte[] _miss = [];
    private byte[] _exact = [];
    private byte[] _suffix = [];
    private byte[] _regex = [];
    private byte[] _type = [];

    [GlobalSetup]
    public void Setup()
    {
        _pipeline = InMemoryPipeline.Load($$$"""
            .:{{{PipelineFixture.Port}}} {
                rewrite name exact old.example.org a.example.net
                rewrite name suffix .corp.internal .example.net answer auto
                rewrite name regex (.*)-net\.example\.com {1}.example.net answer auto
                rewrite stop type AAAA A
                rewrite ttl prefix short. 5
                hosts {
                    10.0.0.1 a.example.net
                    10.0.0.3 plain.example.info
                }
            }
            """);
        _miss = PipelineFixture.Query("plain.example.info", DnsType.A);
        _exact = PipelineFixture.Query("old.example.org", DnsType.A);
        _suffix = PipelineFixture.Query("a.corp.internal", DnsType.A, edns: true);
        _regex = PipelineFixture.Query("a-net.example.com", DnsType.A);
        _type = PipelineFixture.Query("a.example.net", DnsType.AAAA);
        foreach (var query in new[] { _miss, _exact, _suffix, _regex, _type })
        {
            if (Answer(query) == 0)
            {
                throw new InvalidOperationException("no reply in setup");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private int Answer(byte[] query) => _pipeline.Answer(_request, query);

    [Benchmark(Baseline = true, Description = "rewrite miss (5 rules) → hosts A")]
    public int Miss() => Answer(_miss);

    [Benchmark(Description = "rewrite name exact hit → hosts A")]
    public int ExactHit() => Answer(_exact);

    [Benchmark(Description = "rewrite name suffix + answer auto hit, EDNS → hosts A")]
    public int SuffixHit() => Answer(_suffix);

    [Benchmark(Description = "rewrite name regex + answer auto hit → hosts A")]
    public int RegexHit() => Answer(_regex);

    [Benchmark(Description = "rewrite stop type AAAA A → hosts A")]
    public int TypeHit() => Answer(_type);
}
