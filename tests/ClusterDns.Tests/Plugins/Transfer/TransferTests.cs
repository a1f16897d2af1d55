using System.Net;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Plugins.Transfer;

/// <summary>
/// Conformance rows X1–X4: zone transfers of the kubernetes zone through the whole server (F1 served by the test API
/// server), read with dig and with raw TCP sockets.
/// </summary>
public sealed partial class TransferTests(ITestOutputHelper output)
{
    private const string TransferAll = "    transfer {\n        to *\n    }\n";

    private sealed class Setup : IAsyncDisposable
    {
        public required TestApiServer Api { get; init; }
        public required TestDnsServer Server { get; init; }
        public required IPEndPoint Target { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Api.DisposeAsync();
        }
    }

    private static async Task<Setup> StartAsync(string blockLines = "", string transfer = TransferAll, Action<TestApiServer>? load = null)
    {
        var api = await TestApiServer.StartAsync();
        F1Api.Load(api);
        load?.Invoke(api);
        var server = await TestDnsServer.StartAsync(F1Api.Corefile("P0", api.Url, blockLines, transfer), plugins: F1Api.Plugins);
        return new Setup { Api = api, Server = server, Target = new IPEndPoint(F1Api.ServerAddress, server.Endpoints.Values.First().Port) };
    }

    private static DnsMessage Query(string zone, DnsType type, uint? ixfrSerial = null)
    {
        var query = DnsMessage.CreateQuery(zone, type, id: (ushort)Random.Shared.Next(1, 65535), recursionDesired: false);
        if (ixfrSerial is { } serial)
        {
            var zoneName = DnsName.Parse(zone);
            query.Authorities.Add(new SoaRecord(zoneName, zoneName, serial, 0, 0, 0, 0) { Name = zoneName });
        }
        return query;
    }

    private static async Task<List<string>> RawTransferAsync(IPEndPoint target, string zone, DnsType type = DnsType.AXFR, uint? serial = null)
    {
        var messages = await DnsProbe.TransferAsync(target, Query(zone, type, serial));
        Assert.NotEmpty(messages);
        foreach (var message in messages)
        {
            Assert.Equal(DnsRcode.NoError, message.Rcode);
            Assert.True(message.Header.Authoritative);
            Assert.True(message.Answers.Count <= ClusterDns.Plugins.Transfer.TransferPlugin.MaxRecordsPerMessage);
        }
        return messages.SelectMany(m => m.Answers).Select(Text).ToList();
    }

    private static async Task<(List<string> Records, int Messages)> DigTransferAsync(IPEndPoint target, string zone, string type = "AXFR")
    {
        var text = await DnsProbe.RunAsync("dig", ["@" + target.Address, "-p", target.Port.ToString(), "+noall", "+answer", "+stats", zone, type]);
        var records = new List<string>();
        var messages = 0;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (MessagesRegex().Match(line) is { Success: true } m)
            {
                messages = int.Parse(m.Groups[1].Value);
            }
            if (line.Length > 0 && !line.StartsWith(';'))
            {
                records.Add(Text(ZoneText.ParseRecord(line)));
            }
        }
        Assert.True(records.Count > 0, "dig printed no records:\n" + text);
        return (records, messages);
    }

    [GeneratedRegex(@"XFR size: \d+ records \(messages (\d+)")]
    private static partial Regex MessagesRegex();

    private static string Text(DnsRecord record) => EndToEnd.ConformanceEndToEndTests.PinSerial(record).ToString();

    private static string Expected(string line) => ZoneText.ParseRecord(F1Api.Localize(line)).ToString();

    [Fact]
    public async Task X1_namespace_filtered_transfer_is_exact_and_ordered()
    {
        await using var setup = await StartAsync("    namespaces ns2\n");
        string[] expected =
        [
            "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5",
            "cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local.",
            "kube-dns.kube-system.svc.cluster.local. 0 IN A 10.96.0.10",
            "web.ns2.svc.cluster.local. 5 IN A 10.96.1.11",
            "web.ns2.svc.cluster.local. 5 IN SRV 0 100 80 web.ns2.svc.cluster.local.",
            "_http._tcp.web.ns2.svc.cluster.local. 5 IN SRV 0 100 80 web.ns2.svc.cluster.local.",
            "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5",
        ];
        var want = expected.Select(Expected).ToList();
        Assert.Equal(want, await RawTransferAsync(setup.Target, "cluster.local."));
        var (dig, messages) = await DigTransferAsync(setup.Target, "cluster.local.");
        Assert.Equal(want, dig);
        Assert.Equal(1, messages);
    }

    [Fact]
    public async Task X2_full_fixture_headless_external_and_portless()
    {
        await using var setup = await StartAsync();
        var records = await RawTransferAsync(setup.Target, "cluster.local.");
        var (dig, _) = await DigTransferAsync(setup.Target, "cluster.local.");
        Assert.Equal(records, dig);

        const string hl = "hl.ns1.svc.cluster.local.";
        string[] hlBlock =
        [
            $"{hl} 5 IN A 10.244.2.1", $"web-0.{hl} 5 IN A 10.244.2.1", $"_http._tcp.{hl} 5 IN SRV 0 33 80 web-0.{hl}",
            $"{hl} 5 IN A 10.244.2.2", $"web-1.{hl} 5 IN A 10.244.2.2", $"_http._tcp.{hl} 5 IN SRV 0 33 80 web-1.{hl}",
            $"{hl} 5 IN A 10.244.2.3", $"10-244-2-3.{hl} 5 IN A 10.244.2.3", $"_http._tcp.{hl} 5 IN SRV 0 33 80 10-244-2-3.{hl}",
            $"{hl} 5 IN AAAA fd00:244::2:1", $"web-0.{hl} 5 IN AAAA fd00:244::2:1", $"_http._tcp.{hl} 5 IN SRV 0 100 80 web-0.{hl}",
        ];
        // Record text is DnsRecord.ToString(): zone-file form, tab separated ("owner\tttl\tIN\tTYPE\trdata").
        var gotHl = records.Where(r => HlOwner().IsMatch(r)).Order().ToList();
        Assert.True(hlBlock.Select(Expected).Order().SequenceEqual(gotHl), "hl block:\n" + string.Join("\n", gotHl));
        Assert.DoesNotContain(records, r => r.StartsWith(hl + "\t", StringComparison.Ordinal) && r.Contains("\tSRV\t", StringComparison.Ordinal));

        Assert.Contains(Expected("ext.ns1.svc.cluster.local. 5 IN CNAME www.example.com."), records);
        Assert.Contains(Expected("noport.ns1.svc.cluster.local. 5 IN A 10.96.0.14"), records);
        Assert.DoesNotContain(records, r => r.StartsWith("noport.ns1.svc.cluster.local.\t", StringComparison.Ordinal) && r.Contains("\tSRV\t", StringComparison.Ordinal)); // [DEV3]
        // No pods, PTRs, endpoint names of ClusterIP services or dns-version.
        Assert.DoesNotContain(records, r => r.Contains(".pod.cluster.local.", StringComparison.Ordinal) || r.Contains("dns-version", StringComparison.Ordinal)
            || r.Contains("10-244-1-1.web", StringComparison.Ordinal) || r.Contains("\tPTR\t", StringComparison.Ordinal));
        Assert.Equal(Expected("cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5"), records[0]);
        Assert.Equal(records[0], records[^1]);
        Assert.Equal(2, records.Count(r => r.Contains("\tSOA\t", StringComparison.Ordinal)));
        // Services come sorted by name: hl before hl-np, ext before web.
        Assert.True(records.IndexOf(Expected("ext.ns1.svc.cluster.local. 5 IN CNAME www.example.com.")) < records.IndexOf(Expected($"{hl} 5 IN A 10.244.2.1")));
        Assert.True(records.IndexOf(Expected($"{hl} 5 IN A 10.244.2.1")) < records.IndexOf(Expected("hl-np.ns1.svc.cluster.local. 5 IN A 10.244.3.1")));
    }

    [GeneratedRegex(@"^([^\s]+\.)?hl\.ns1\.svc\.cluster\.local\.\t")]
    private static partial Regex HlOwner();

    [Fact]
    public async Task X3_ixfr_with_current_serial_is_one_soa_older_serial_is_full_transfer()
    {
        await using var setup = await StartAsync();
        var soa = (await DnsProbe.UdpAsync(setup.Target, "cluster.local.", DnsType.SOA)).Answer.OfType<SoaRecord>().Single();
        var serial = soa.Serial;
        Assert.NotEqual(0u, serial);

        var current = await DnsProbe.TransferAsync(setup.Target, Query("cluster.local.", DnsType.IXFR, serial));
        var only = Assert.Single(current);
        Assert.Equal(DnsRcode.NoError, only.Rcode);
        Assert.Equal(serial, Assert.IsType<SoaRecord>(Assert.Single(only.Answers)).Serial);
        var (digCurrent, _) = await DigTransferAsync(setup.Target, "cluster.local.", "IXFR=" + serial);
        Assert.Single(digCurrent);

        var full = await RawTransferAsync(setup.Target, "cluster.local.", DnsType.IXFR, serial - 1);
        var axfr = await RawTransferAsync(setup.Target, "cluster.local.");
        Assert.Equal(axfr, full);
        Assert.True(full.Count > 20);
        var (digOld, _) = await DigTransferAsync(setup.Target, "cluster.local.", "IXFR=" + (serial - 1));
        Assert.Equal(axfr, digOld);
    }

    [Fact]
    public async Task X4_udp_sub_names_reverse_zones_and_strangers_are_refused()
    {
        await using var setup = await StartAsync();
        var udp = await DnsProbe.UdpAsync(setup.Target, "cluster.local.", DnsType.AXFR);
        Assert.Equal(DnsRcode.Refused, udp.Rcode);
        Assert.Empty(udp.Answer);

        foreach (var zone in new[] { "svc.cluster.local.", "ns1.svc.cluster.local.", "in-addr.arpa." })
        {
            var messages = await DnsProbe.TransferAsync(setup.Target, Query(zone, DnsType.AXFR));
            var reply = Assert.Single(messages);
            Assert.Equal(DnsRcode.Refused, reply.Rcode);
            Assert.False(reply.Header.Authoritative);
            Assert.Empty(reply.Answers);
        }
        var dig = await DnsProbe.RunAsync("dig", ["@" + setup.Target.Address, "-p", setup.Target.Port.ToString(), "svc.cluster.local.", "AXFR"]);
        Assert.Contains("Transfer failed", dig, StringComparison.Ordinal);

        // Other query types still reach the kubernetes plugin behind transfer.
        var a = await DnsProbe.UdpAsync(setup.Target, "web.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(Expected("web.ns1.svc.cluster.local. 5 IN A 10.96.0.11"), Assert.Single(a.Answer).ToString());
    }

    [Fact]
    public async Task Peers_not_listed_are_refused_listed_peers_transfer()
    {
        await using (var denied = await StartAsync(transfer: "    transfer {\n        to 10.9.9.9 192.0.2.200:53\n    }\n"))
        {
            var reply = Assert.Single(await DnsProbe.TransferAsync(denied.Target, Query("cluster.local.", DnsType.AXFR)));
            Assert.Equal(DnsRcode.Refused, reply.Rcode);
            Assert.False(reply.Header.Authoritative);
        }
        // The client connects from the address the server is bound to. A second stanza for another zone is allowed.
        await using var allowed = await StartAsync(transfer: $"    transfer cluster.local {{\n        to 10.9.9.9 {F1Api.ServerAddress}\n    }}\n    transfer example.org {{\n        to *\n    }}\n");
        var records = await RawTransferAsync(allowed.Target, "cluster.local.");
        Assert.True(records.Count > 20);
    }

    [Fact]
    public async Task Large_zones_stream_as_several_messages()
    {
        const int extra = 1200;
        await using var setup = await StartAsync(load: api =>
        {
            api.Upsert(new k8s.Models.V1Namespace { Metadata = new k8s.Models.V1ObjectMeta { Name = "bulk" } });
            for (var i = 0; i < extra; i++)
            {
                api.Upsert(F1Api.Service("bulk", $"svc-{i:D4}", $"10.97.{i / 250}.{i % 250 + 1}"));
            }
        });
        var messages = await DnsProbe.TransferAsync(setup.Target, Query("cluster.local.", DnsType.AXFR));
        var records = messages.SelectMany(m => m.Answers).ToList();
        output.WriteLine($"AXFR: {records.Count} records in {messages.Count} messages");
        Assert.True(messages.Count >= 3, $"{messages.Count} messages");
        Assert.All(messages, m => Assert.Equal("cluster.local.", m.Questions.Single().Name.ToString()));
        Assert.IsType<SoaRecord>(records[0]);
        Assert.IsType<SoaRecord>(records[^1]);
        // Each bulk service: A, SRV, _http._tcp SRV.
        Assert.Equal(extra * 3, records.Count(r => r.Name.ToString().EndsWith(".bulk.svc.cluster.local.", StringComparison.Ordinal)));

        var (dig, digMessages) = await DigTransferAsync(setup.Target, "cluster.local.");
        Assert.Equal(records.Select(Text).ToList(), dig);
        Assert.Equal(messages.Count, digMessages);
    }
}
