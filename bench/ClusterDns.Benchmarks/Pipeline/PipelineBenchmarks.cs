using BenchmarkDotNet.Attributes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The whole per-query path without sockets: datagram bytes → <see cref="DnsRequest.Prepare"/> → QueryProcessor
/// (route, chain) → reply bytes, on the load benchmark's cluster (N=1000) and Corefile. One benchmark per answer
/// class of the load's query mix, plus a hosts hit, a `cache` hit and an EDNS query. Target: 0 B allocated per query.
/// The first query of each (name, type) compiles its reply (AnswerCache); setup sends each once, so these measure
/// the steady state the load benchmark measures.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private PipelineFixture _fixture = null!;
    private readonly DnsRequest _request = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private byte[] _aHit = [];
    private byte[] _aHitEdns = [];
    private byte[] _headlessA = [];
    private byte[] _nodata = [];
    private byte[] _srv = [];
    private byte[] _nxdomain = [];
    private byte[] _ptr = [];
    private byte[] _hostsHit = [];
    private byte[] _cacheHit = [];

    [GlobalSetup]
    public void Setup()
    {
        _fixture = PipelineFixture.StartAsync().GetAwaiter().GetResult();
        _aHit = PipelineFixture.Query("svc-5.ns-5.svc.cluster.local", DnsType.A);
        _aHitEdns = PipelineFixture.Query("svc-5.ns-5.svc.cluster.local", DnsType.A, edns: true);
        _headlessA = PipelineFixture.Query("hl-3.ns-3.svc.cluster.local", DnsType.A);
        _nodata = PipelineFixture.Query("svc-5.ns-5.svc.cluster.local", DnsType.AAAA);
        _srv = PipelineFixture.Query("_http._tcp.svc-5.ns-5.svc.cluster.local", DnsType.SRV);
        _nxdomain = PipelineFixture.Query("svc-5.ns-5.svc.cluster.local.ns-2.svc.cluster.local", DnsType.A);
        _ptr = PipelineFixture.Query("5.1.96.10.in-addr.arpa", DnsType.PTR);
        _hostsHit = PipelineFixture.Query("web.example.org", DnsType.A);
        _cacheHit = PipelineFixture.Query("web.cached.example", DnsType.A);
        foreach (var query in new[] { _aHit, _aHitEdns, _headlessA, _nodata, _srv, _nxdomain, _ptr, _hostsHit, _cacheHit })
        {
            if (_fixture.Answer(_request, query) == 0)
            {
                throw new InvalidOperationException("no reply in setup");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "k8s A hit (ClusterIP)")]
    public int KubernetesAHit() => _fixture.Answer(_request, _aHit);

    [Benchmark(Description = "k8s A hit + EDNS")]
    public int KubernetesAHitEdns() => _fixture.Answer(_request, _aHitEdns);

    [Benchmark(Description = "k8s A headless (5 A)")]
    public int KubernetesHeadless() => _fixture.Answer(_request, _headlessA);

    [Benchmark(Description = "k8s AAAA NODATA")]
    public int KubernetesNodata() => _fixture.Answer(_request, _nodata);

    [Benchmark(Description = "k8s SRV")]
    public int KubernetesSrv() => _fixture.Answer(_request, _srv);

    [Benchmark(Description = "k8s NXDOMAIN (search path)")]
    public int KubernetesNxdomain() => _fixture.Answer(_request, _nxdomain);

    [Benchmark(Description = "k8s PTR")]
    public int KubernetesPtr() => _fixture.Answer(_request, _ptr);

    [Benchmark(Description = "hosts A hit")]
    public int HostsHit() => _fixture.Answer(_request, _hostsHit);

    [Benchmark(Description = "cache hit (cache 30 → hosts)")]
    public int CacheHit() => _fixture.Answer(_request, _cacheHit);
}
