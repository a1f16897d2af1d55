using ClusterDns.Benchmarks.Pipeline;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Template;

/// <summary>
/// Guards what TemplateBenchmarks measures: a hit on a template without actions is answered from precompiled bytes
/// through the real QueryProcessor without allocating — the default regex, a regex run per query, an SOA with an
/// extended error, with and without EDNS.
/// </summary>
public sealed class TemplateAllocationTests : IAsyncDisposable
{
    private readonly InMemoryPipeline _pipeline = InMemoryPipeline.Load("""
        .:5398 {
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
            template IN TXT static.test {
                answer "static.test. 60 IN TXT \"one\" \"two\""
                additional "static.test. 60 IN A 192.0.2.1"
            }
            template ANY AAAA {
                rcode NOERROR
            }
            whoami
        }
        """);

    public ValueTask DisposeAsync() => _pipeline.DisposeAsync();

    [Theory]
    [InlineData("www.example.org", DnsType.AAAA, false, DnsRcode.NoError)]
    [InlineData("www.example.org", DnsType.AAAA, true, DnsRcode.NoError)]
    [InlineData("web.default.svc.cluster.local.abc.internal.cloudapp.net", DnsType.A, false, DnsRcode.NXDomain)]
    [InlineData("www.test.invalid", DnsType.A, true, DnsRcode.NXDomain)]
    [InlineData("www.test.invalid", DnsType.MX, false, DnsRcode.NXDomain)]
    [InlineData("x.static.test", DnsType.TXT, true, DnsRcode.NoError)]
    public void A_static_template_hit_allocates_nothing(string name, DnsType type, bool edns, DnsRcode rcode)
    {
        var message = DnsMessage.CreateQuery(name, type, id: 0x1234, ednsSize: edns ? (ushort)1232 : null);
        var query = message.ToArray();
        var request = new DnsRequest(System.Net.Sockets.AddressFamily.InterNetwork);
        _pipeline.Answer(request, query);
        Assert.True(request.Response.Written);
        Assert.Equal(rcode, request.Response.Rcode);
        Assert.Equal("template", request.Response.Plugin);
        Allocations.AssertNonePerCall(() => _pipeline.Answer(request, query), $"{name} {type}");
    }
}
