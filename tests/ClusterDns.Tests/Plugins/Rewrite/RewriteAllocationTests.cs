using ClusterDns.Benchmarks.Pipeline;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Rewrite;

/// <summary>
/// Guards what RewriteBenchmarks measures: a query no rewrite rule matches goes through the rules (exact, suffix,
/// regex, type) to hosts through the real QueryProcessor without allocating; and a rewritten query leaves the reused
/// request clean for the next one.
/// </summary>
public sealed class RewriteAllocationTests : IAsyncDisposable
{
    private readonly InMemoryPipeline _pipeline = InMemoryPipeline.Load("""
        .:5399 {
            rewrite name exact old.example.org a.example.net
            rewrite continue name suffix .corp.internal .example.net answer auto
            rewrite name regex (.*)-net\.example\.com {1}.example.net answer auto
            rewrite stop type AAAA A
            rewrite ttl prefix short. 5
            hosts {
                10.0.0.1 a.example.net
                10.0.0.3 plain.example.info
            }
        }
        """);

    public ValueTask DisposeAsync() => _pipeline.DisposeAsync();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_query_no_rule_matches_allocates_nothing(bool edns)
    {
        var query = DnsMessage.CreateQuery("plain.example.info", DnsType.A, id: 0x1234, ednsSize: edns ? (ushort)1232 : null).ToArray();
        var request = new DnsRequest(System.Net.Sockets.AddressFamily.InterNetwork);
        Answer(request, query);
        Assert.Equal("hosts", request.Response.Plugin);
        Allocations.AssertNonePerCall(() => Answer(request, query), "a query no rule matches");
    }

    [Fact]
    public void A_rewritten_query_leaves_the_reused_request_clean()
    {
        var request = new DnsRequest(System.Net.Sockets.AddressFamily.InterNetwork);
        var rewritten = DnsMessage.CreateQuery("A.Corp.Internal", DnsType.AAAA, id: 1, ednsSize: 1232).ToArray();
        Answer(request, rewritten);
        var reply = DnsMessage.Parse(request.Response.Bytes);
        Assert.Equal("A.Corp.Internal.", reply.Questions[0].Name.ToString());
        Assert.Equal(DnsType.AAAA, reply.Questions[0].Type);
        // The owner is the question's name again (compressed against the question, so in the client's case).
        Assert.Equal(DnsName.Parse("a.corp.internal."), Assert.Single(reply.Answers).Name);
        // After the chain the request holds the client's query again (outer plugins and logs see it).
        Assert.Equal("a.corp.internal.", request.Name);
        Assert.Equal(DnsType.AAAA, request.Type);
        Assert.Equal(rewritten, request.Query.ToArray());

        Answer(request, DnsMessage.CreateQuery("plain.example.info", DnsType.A, id: 2).ToArray());
        var plain = DnsMessage.Parse(request.Response.Bytes);
        Assert.Equal("plain.example.info.", plain.Questions[0].Name.ToString());
        Assert.Equal("10.0.0.3", ((ARecord)Assert.Single(plain.Answers)).Address.ToString());
        Assert.Null(plain.Opt);
    }

    private void Answer(DnsRequest request, byte[] query) => _pipeline.Answer(request, query);
}
