using System.Net;
using BenchmarkDotNet.Attributes;
using ClusterDns.Protocol;

namespace ClusterDns.Benchmarks.Protocol;

/// <summary>The codec on the per-query path: hot-path query parse, full answer parse and encode, name parse.</summary>
[MemoryDiagnoser]
public class ProtocolCodecBenchmarks
{
    private byte[] _query = [];
    private byte[] _answer = [];
    private DnsMessage _reply = null!;
    private readonly byte[] _nameBuffer = new byte[DnsName.MaxWireLength];
    private readonly byte[] _output = new byte[1232];

    [GlobalSetup]
    public void Setup()
    {
        // What dig sends by default: RD, AD, EDNS 1232 with a cookie.
        _query = Convert.FromHexString(
            "fd220120000100000000000103776562036e73310373766307636c7573746572056c6f63616c000001000100002904d000000000000c000a000870ea74173907bd27");

        // A typical headless-service answer: 3 A records plus OPT.
        var query = DnsMessage.Parse(_query);
        _reply = DnsMessage.CreateReply(query);
        _reply.Header.Authoritative = true;
        for (var i = 1; i <= 3; i++)
        {
            _reply.Answers.Add(new ARecord(IPAddress.Parse($"10.244.1.{i}")) { Name = query.Questions[0].Name, Ttl = 5 });
        }
        _reply.Additionals.Add(OptRecord.Create(1232));
        _answer = _reply.ToArray();
    }

    [Benchmark(Description = "DnsQueryParser.Parse (A + EDNS)")]
    public QueryDisposition ParseQuery() => DnsQueryParser.Parse(_query, _nameBuffer, out _);

    [Benchmark(Description = "DnsMessage.TryParse (3 A + OPT)")]
    public DnsMessage? ParseAnswer() => DnsMessage.TryParse(_answer, out var message, out _) ? message : null;

    [Benchmark(Description = "DnsMessage.Write (3 A + OPT)")]
    public int WriteAnswer() => _reply.Write(_output, 1232);

    [Benchmark(Description = "DnsName.TryParse")]
    public DnsName? ParseName() => DnsName.TryParse("web.ns1.svc.cluster.local.", out var name) ? name : null;
}
