using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

public sealed class WhoamiServerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Whoami_answers_with_client_address_and_port(bool tcp)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\n");
        var reply = await server.QueryAsync("Example.ORG.", DnsType.A, tcp);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.True(reply.Header.Authoritative);
        Assert.Empty(reply.Answers);
        var a = Assert.IsType<ARecord>(reply.Additionals[0]);
        Assert.Equal("Example.ORG.", a.Name.ToString());
        Assert.Equal("127.0.0.1", a.Address.ToString());
        var srv = Assert.IsType<SrvRecord>(reply.Additionals[1]);
        Assert.Equal(tcp ? "_tcp.Example.ORG." : "_udp.Example.ORG.", srv.Name.ToString());
        Assert.True(srv.Port > 0);
    }
}
