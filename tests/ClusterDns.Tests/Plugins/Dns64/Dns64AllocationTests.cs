using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.Plugins.Dns64;

/// <summary>
/// dns64 costs nothing where it does not synthesize: other types, AAAA from IPv4 clients (plain or IPv4-mapped on a
/// dual-mode socket) and AAAA replies that already have an AAAA answer go through the real QueryProcessor without
/// allocating (the answers come from precompiled template bytes).
/// </summary>
public sealed class Dns64AllocationTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "clusterdns-dns64-alloc-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly ListenerRoutes _routes;

    public Dns64AllocationTests()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "Corefile"), """
            .:5399 {
                dns64
                template IN A example.org {
                    answer "example.org. 60 IN A 192.0.2.1"
                }
                template IN AAAA example.org {
                    answer "example.org. 60 IN AAAA 2001:db8::1"
                }
                template IN AAAA v4only.test {
                    rcode NOERROR
                }
            }
            """);
        var app = new ClusterDnsApp(new AppOptions { Conf = Path.Combine(_directory, "Corefile"), Quiet = true, WorkingDirectory = _directory },
            NullLoggerFactory.Instance);
        _routes = app.Load().Listeners.Single().Routes;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("A from an IPv6 client", "example.org", DnsType.A, "::1", "template")]
    [InlineData("AAAA answered with AAAA", "example.org", DnsType.AAAA, "::1", "dns64")]
    [InlineData("AAAA from an IPv4 client", "v4only.test", DnsType.AAAA, "127.0.0.1", "template")]
    [InlineData("AAAA from an IPv4-mapped client", "v4only.test", DnsType.AAAA, "::ffff:127.0.0.1", "template")]
    public void Queries_dns64_does_not_translate_allocate_nothing(string label, string name, DnsType type, string client, string plugin)
    {
        var query = DnsMessage.CreateQuery(name, type, id: 0x1234, ednsSize: 1232).ToArray();
        var address = IPAddress.Parse(client);
        var request = new DnsRequest(address.AddressFamily);
        request.SetRemote(new IPEndPoint(address, 5353));
        for (var i = 0; i < 100; i++)
        {
            Answer(request, query);
        }
        Assert.True(request.Response.Written, label);
        Assert.True(plugin == request.Response.Plugin, $"{label}: written by {request.Response.Plugin}");
        var reply = DnsMessage.Parse(request.Response.Bytes);
        Assert.True(type == DnsType.A || reply.Answers.TrueForAll(answer => answer is not AaaaRecord aaaa || !aaaa.Address.ToString().StartsWith("64:ff9b", StringComparison.Ordinal)), label);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Answer(request, query);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{label}: {allocated} bytes allocated over 1000 queries");
    }

    private void Answer(DnsRequest request, byte[] query)
    {
        query.CopyTo(request.QuerySpace(query.Length));
        var disposition = request.Prepare(query.Length, DnsTransport.Udp);
        var pending = QueryProcessor.ProcessAsync(request, disposition, _routes, NullLogger.Instance, CancellationToken.None);
        Assert.True(pending.IsCompletedSuccessfully);
    }
}
