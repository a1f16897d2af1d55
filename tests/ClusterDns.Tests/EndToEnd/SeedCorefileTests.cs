using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.EndToEnd;

/// <summary>The issue's seed Corefile, unchanged, on port 54 against the example cluster served on 127.0.0.1:8001.</summary>
public sealed class SeedCorefileTests(ITestOutputHelper output)
{
    private const string SeedCorefile = """
        .:54 {
            log
            errors
            kubernetes cluster.local in-addr.arpa ip6.arpa {
                pods insecure
                fallthrough in-addr.arpa ip6.arpa
                ttl 30
                endpoint http://localhost:8001
            }
        }

        """;

    [Fact]
    public async Task Seed_corefile_answers_from_the_example_cluster()
    {
        if (!PortFree(54, ProtocolType.Udp) || !PortFree(54, ProtocolType.Tcp))
        {
            output.WriteLine("SKIPPED: port 54 is busy (or this process may not bind below 1024)");
            return;
        }
        TestApiServer api;
        try
        {
            api = await TestApiServer.StartAsync(8001);
        }
        catch (IOException e)
        {
            output.WriteLine($"SKIPPED: port 8001 is busy ({e.Message})");
            return;
        }
        await using var _ = api;
        Fixtures.LoadExampleCluster(api);

        // log and errors come with other branches; until they are registered, pass-through stand-ins keep the
        // Corefile unchanged while everything else (kubernetes, listeners, the API connection) is the real thing.
        var plugins = new Dictionary<string, PluginDescriptor>(ClusterDns.Plugins.BuiltinPlugins.All, StringComparer.Ordinal);
        foreach (var name in new[] { "log", "errors" })
        {
            if (!plugins.ContainsKey(name))
            {
                plugins[name] = TestPlugins.Answering(name, _ => _ => null);
                output.WriteLine($"note: '{name}' is not registered in BuiltinPlugins.All on this branch; using a pass-through stand-in");
            }
        }
        await using var server = await TestDnsServer.StartAsync(SeedCorefile, plugins: plugins);
        var target = new IPEndPoint(IPAddress.Loopback, 54);

        var dig = await DnsProbe.RunAsync("dig", ["-p", "54", "@127.0.0.1", "kiali.istio-system.svc.cluster.local"]);
        output.WriteLine(dig);
        Assert.Contains("status: NOERROR", dig, StringComparison.Ordinal);
        Assert.Matches(@"kiali\.istio-system\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+10\.96\.145\.12", dig);

        var reply = await DnsProbe.DigAsync(target, "kiali.istio-system.svc.cluster.local.", DnsType.A, tcp: true);
        Assert.Equal("kiali.istio-system.svc.cluster.local. 30 IN A 10.96.145.12", Present(Assert.Single(reply.Answer)));
        var ptr = await DnsProbe.UdpAsync(target, "12.145.96.10.in-addr.arpa.", DnsType.PTR);
        Assert.Equal("12.145.96.10.in-addr.arpa. 30 IN PTR kiali.istio-system.svc.cluster.local.", Present(Assert.Single(ptr.Answer)));
        var pod = await DnsProbe.UdpAsync(target, "10-1-2-3.istio-system.pod.cluster.local.", DnsType.A);
        Assert.Equal("10-1-2-3.istio-system.pod.cluster.local. 30 IN A 10.1.2.3", Present(Assert.Single(pod.Answer)));
        // A PTR outside the cluster falls through; with no next plugin the server answers SERVFAIL.
        Assert.Equal(DnsRcode.ServFail, (await DnsProbe.UdpAsync(target, "4.3.2.1.in-addr.arpa.", DnsType.PTR)).Rcode);
        Assert.Equal(DnsRcode.NXDomain, (await DnsProbe.UdpAsync(target, "nope.istio-system.svc.cluster.local.", DnsType.A)).Rcode);

        // The watch is live: a change on the API shows up on port 54.
        api.Upsert(F1Api.Service("istio-system", "kiali-next", "10.96.145.99", 20001));
        await Eventually.True(async () => (await DnsProbe.AddressesAsync(target, "kiali-next.istio-system.svc.cluster.local.")).Addresses is ["10.96.145.99"],
            "kiali-next to appear");
    }

    /// <summary>Presentation text of a record as the table writes it.</summary>
    internal static string Present(DnsRecord record) => record switch
    {
        ARecord a => $"{a.Name} {a.Ttl} IN A {a.Address}",
        AaaaRecord a => $"{a.Name} {a.Ttl} IN AAAA {a.Address}",
        PtrRecord p => $"{p.Name} {p.Ttl} IN PTR {p.Target}",
        _ => record.ToString(),
    };

    private static bool PortFree(int port, ProtocolType protocol)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetworkV6, protocol == ProtocolType.Udp ? SocketType.Dgram : SocketType.Stream, protocol);
            socket.DualMode = true;
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
