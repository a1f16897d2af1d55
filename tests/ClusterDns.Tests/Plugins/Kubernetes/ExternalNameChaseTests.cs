using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using k8s.Models;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>
/// The lookup that chases an ExternalName's target carries the client's request, as CoreDNS's
/// <c>upstream.Lookup(ctx, state, …)</c> does: its client address, transport, DO bit and EDNS size (issue 13; it was
/// logged as <c>127.0.0.1:0 … tcp</c> with DO dropped).
/// </summary>
public sealed class ExternalNameChaseTests
{
    public static TheoryData<string, bool, ushort?, bool> Clients => new()
    {
        { "udp, DO, EDNS 1232", false, 1232, true },
        { "udp, no EDNS", false, null, false },
        { "tcp, EDNS 4096 without DO", true, 4096, false },
    };

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task The_chase_is_logged_and_sent_as_the_clients_query(string client, bool tcp, ushort? edns, bool dnssecOk)
    {
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        api.Upsert(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "ext", NamespaceProperty = "default" },
            Spec = new V1ServiceSpec { Type = "ExternalName", ExternalName = "target.example.test" },
        });
        var corefile = ".:0 {\n    log . \"{remote}:{port} {proto} {name} {>do} {>bufsize}\"\n"
            + "    kubernetes cluster.local {\n        endpoint " + api.Url + "\n    }\n"
            + "    template IN A example.test {\n        answer \"{{ .Name }} 60 IN A 192.0.2.7\"\n    }\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        Assert.True(await Eventually.Holds(async () => (await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A)).Answers.Count > 0,
            TimeSpan.FromSeconds(20)), server.Log);

        var query = DnsMessage.CreateQuery("ext.default.svc.cluster.local.", DnsType.A, id: 4243, ednsSize: edns, dnssecOk: dnssecOk).ToArray();
        var raw = tcp ? await TestDnsServer.ExchangeTcpAsync(server.Endpoint, query) : await TestDnsServer.ExchangeUdpAsync(server.Endpoint, query);
        Assert.NotNull(raw);
        var reply = DnsMessage.Parse(raw);
        Assert.Equal(["target.example.test.", "192.0.2.7"], reply.Answers.Select(r => r.DataText()));

        Assert.True(await server.LogContainsAsync(" target.example.test. "), server.Log);
        var lines = server.Log.Split('\n');
        var asked = Assert.Single(lines, l => l.Contains(" ext.default.svc.cluster.local. ", StringComparison.Ordinal));
        var chased = Assert.Single(lines, l => l.Contains(" target.example.test. ", StringComparison.Ordinal));
        // Same client address and port, transport, DO bit and buffer size as the client's own query.
        var proto = tcp ? "tcp" : "udp";
        // ({>bufsize} is the UDP size the query advertises, 512 without EDNS; over TCP the log plugin reports its own.)
        var bufsize = tcp ? @"\d+" : (edns ?? 512).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches($@"127\.0\.0\.1:\d+ {proto} ext\.default\.svc\.cluster\.local\. {(dnssecOk ? "true" : "false")} {bufsize}$", asked.TrimEnd());
        Assert.Equal(asked.Replace("ext.default.svc.cluster.local.", "target.example.test.", StringComparison.Ordinal), chased);
        Assert.DoesNotContain("127.0.0.1:0 ", chased, StringComparison.Ordinal);
        _ = client;
    }
}
