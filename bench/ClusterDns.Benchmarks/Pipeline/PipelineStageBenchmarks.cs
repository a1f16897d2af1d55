using BenchmarkDotNet.Attributes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// The stages of <see cref="PipelineBenchmarks"/> one at a time, for an A hit on a ClusterIP service:
/// parse (copy the datagram in + <see cref="DnsRequest.Prepare"/>), route (listener zone table + block zone),
/// the kubernetes plugin alone (precompiled reply: lookup + copy + id/flags patch), and the slow path a first
/// query takes (resolve into records + encode), which allocates by design and runs once per (name, type) and snapshot.
/// </summary>
[MemoryDiagnoser]
public class PipelineStageBenchmarks
{
    private PipelineFixture _fixture = null!;
    private readonly DnsRequest _request = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private byte[] _query = [];
    private DnsName _name = null!;
    private DnsMessage _reply = null!;
    private readonly List<DnsRecord> _answer = [];
    private readonly List<DnsRecord> _authority = [];
    private readonly List<DnsRecord> _additional = [];

    [GlobalSetup]
    public void Setup()
    {
        _fixture = PipelineFixture.StartAsync().GetAwaiter().GetResult();
        _query = PipelineFixture.Query("svc-5.ns-5.svc.cluster.local", DnsType.A);
        _name = DnsName.Parse("svc-5.ns-5.svc.cluster.local");
        _fixture.Answer(_request, _query); // compiles the reply
        PipelineFixture.Receive(_request, _query);
        _reply = _request.CreateReply();
        _fixture.Kubernetes.Resolver.Resolve(_name, DnsType.A, _reply.Answers, _reply.Authorities, _reply.Additionals);
    }

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "1 parse: copy in + Prepare")]
    public QueryDisposition Parse() => PipelineFixture.Receive(_request, _query);

    [Benchmark(Description = "2 route: Route + MatchZone")]
    public int Route()
    {
        var block = _fixture.Routes.Route(_request.LowerNameWire, _request.Type);
        return block!.MatchZone(_request.LowerNameWire).Length;
    }

    [Benchmark(Description = "3 kubernetes plugin (precompiled reply)")]
    public int KubernetesPlugin()
    {
        _request.Response.Reset();
        var result = _fixture.Kubernetes.ServeAsync(_request, CancellationToken.None);
        return result.Result.Rcode == DnsRcode.NoError ? _request.Response.Length : -1;
    }

    [Benchmark(Description = "4 slow path: Resolve into records (first query)")]
    public int Resolve()
    {
        _answer.Clear();
        _authority.Clear();
        _additional.Clear();
        _fixture.Kubernetes.Resolver.Resolve(_name, DnsType.A, _answer, _authority, _additional);
        return _answer.Count;
    }

    [Benchmark(Description = "5 slow path: encode reply (DnsResponseWriter.Write)")]
    public int Encode()
    {
        _request.Response.Write(_reply, "kubernetes");
        return _request.Response.Length;
    }
}
