using BenchmarkDotNet.Attributes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The template plugin through the whole in-memory pipeline (datagram bytes → QueryProcessor → reply bytes), on an
/// AKS-shaped block: the AAAA-blocking recipe (default regex), the internal.cloudapp.net search-path NXDOMAIN (a
/// regex run per query), an `.invalid` NXDOMAIN with a static SOA and an extended error, and a template with actions
/// (ip-a-b-c-d.example, rendered and parsed per query). Target: 0 B per hit for templates without actions.
/// </summary>
[MemoryDiagnoser]
public class TemplateBenchmarks
{
    private readonly DnsRequest _request = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private InMemoryPipeline _pipeline = null!;
    private byte[] _aaaa = [];
    private byte[] _aaaaEdns = [];
    private byte[] _searchPath = [];
    private byte[] _invalid = [];
    private byte[] _dynamic = [];

    [GlobalSetup]
    public void Setup()
    {
        _pipeline = InMemoryPipeline.Load($$$"""
            .:{{{PipelineFixture.Port}}} {
                template ANY ANY internal.cloudapp.net {
                    match "^(?:[^.]+\.){4,}internal\.cloudapp\.net\.$"
                    rcode NXDOMAIN
                    fallthrough
                }
                template ANY ANY invalid {
                    rcode NXDOMAIN
                    authority "invalid. 60 IN SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)"
                    ederror 21 "Blocked according to RFC2606"
                }
                template IN A example {
                    match (^|[.])ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$
                    answer "{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                    fallthrough
                }
                template ANY AAAA {
                    rcode NOERROR
                }
                whoami
            }
            """);
        _aaaa = PipelineFixture.Query("www.example.org", DnsType.AAAA);
        _aaaaEdns = PipelineFixture.Query("www.example.org", DnsType.AAAA, edns: true);
        _searchPath = PipelineFixture.Query("web.default.svc.cluster.local.abc123.internal.cloudapp.net", DnsType.A);
        _invalid = PipelineFixture.Query("www.test.invalid", DnsType.A, edns: true);
        _dynamic = PipelineFixture.Query("ip-10-1-2-3.example", DnsType.A);
        foreach (var query in new[] { _aaaa, _aaaaEdns, _searchPath, _invalid, _dynamic })
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

    [Benchmark(Baseline = true, Description = "template AAAA NODATA (static)")]
    public int BlockAaaa() => Answer(_aaaa);

    [Benchmark(Description = "template AAAA NODATA + EDNS (static)")]
    public int BlockAaaaEdns() => Answer(_aaaaEdns);

    [Benchmark(Description = "template search-path NXDOMAIN (regex, static)")]
    public int SearchPathNxdomain() => Answer(_searchPath);

    [Benchmark(Description = "template .invalid NXDOMAIN + SOA + EDE (static)")]
    public int InvalidNxdomain() => Answer(_invalid);

    [Benchmark(Description = "template ip-a-b-c-d A (Go template per query)")]
    public int DynamicA() => Answer(_dynamic);
}
