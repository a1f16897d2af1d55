using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.Plugins.Kubernetes;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.EndToEnd;

/// <summary>
/// The kubernetes conformance table through the whole server: fixture F1 served by the test API server over list/watch, the kubernetes
/// plugin connected with <c>endpoint</c>, every row of the table (the rows of <see cref="ConformanceTableTests"/>)
/// sent over UDP and TCP with raw sockets and with dig. SOA serials are compared loosely: the API cannot pin them.
/// </summary>
public sealed class ConformanceEndToEndTests(ITestOutputHelper output)
{
    private const uint FixtureSerial = 1700000000;

    public static TheoryData<string> Profiles()
    {
        var data = new TheoryData<string>();
        foreach (var profile in ConformanceTableTests.Rows.Select(r => r.Profile).Distinct())
        {
            data.Add(profile);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Profile_rows_answer_over_udp_tcp_and_dig(string profile)
    {
        var rows = ConformanceTableTests.Rows.Where(r => r.Profile == profile).ToList();
        if (F1Api.HostAddress is null)
        {
            // Name-server rows need the server bound to an address inside a slice; loopback never counts.
            var skipped = rows.RemoveAll(r => r.Case.Type == DnsType.NS || r.Case.Name.StartsWith("ns.dns.", StringComparison.Ordinal));
            output.WriteLine($"host has no non-loopback IPv4 address: skipped {skipped} name-server rows");
        }
        var unsynced = profile.StartsWith("PU", StringComparison.Ordinal);
        await using var api = await TestApiServer.StartAsync();
        string endpoint;
        var extra = "";
        if (unsynced)
        {
            endpoint = "http://127.0.0.1:" + ClosedPort();
            extra = "    startup_timeout 500ms\n";
        }
        else
        {
            F1Api.Load(api);
            endpoint = api.Url;
        }
        await using var server = await TestDnsServer.StartAsync(F1Api.Corefile(profile, endpoint, extra), plugins: F1Api.Plugins);
        var target = new IPEndPoint(F1Api.ServerAddress, server.Endpoints.Values.First().Port);

        var failures = new List<string>();
        int udp = 0, tcp = 0, dig = 0, digTcp = 0;
        foreach (var row in rows)
        {
            var (name, type) = (row.Case.Name, row.Case.Type);
            Check(row, "udp", await DnsProbe.UdpAsync(target, name, type), failures);
            udp++;
            Check(row, "tcp", await DnsProbe.TcpAsync(target, name, type), failures);
            tcp++;
            if (type != DnsType.AXFR)
            {
                // dig turns AXFR into a transfer session; row 82 is covered by the raw sockets and TransferTests.
                var overTcp = row.Id % 4 == 0;
                Check(row, overTcp ? "dig+tcp" : "dig", await DnsProbe.DigAsync(target, name, type, overTcp), failures);
                if (overTcp)
                {
                    digTcp++;
                }
                else
                {
                    dig++;
                }
            }
        }
        output.WriteLine($"profile {profile}: {rows.Count} rows; raw UDP {udp}, raw TCP {tcp}, dig UDP {dig}, dig TCP {digTcp}");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private static int ClosedPort()
    {
        // Bind and release: nothing listens there afterwards, so the API is "down" (connection refused).
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    private static void Check(ConformanceTableTests.Row row, string client, ProbeReply reply, List<string> failures)
    {
        List<string> problems;
        if (row.Next)
        {
            problems = [];
            if (reply.Rcode != DnsRcode.NoError || !reply.Answer.Any(r => r is TxtRecord t && t.Strings.Contains(F1Api.NextMarker)))
            {
                problems.Add($"expected the next handler to answer, got {reply.Rcode} {string.Join(" | ", reply.Answer)}");
            }
        }
        else
        {
            problems = row.Case.Rewritten(F1Api.Localize)
                .Mismatches(reply.Rcode, reply.Authoritative, reply.Answer, reply.Authority, reply.Additional, PinSerial);
        }
        if (problems.Count > 0)
        {
            failures.Add($"row {row.Id} ({row.Profile}) " + row.Case.Describe(problems, client));
        }
    }

    /// <summary>A live serial is "now-ish" unix time; the table's is 1700000000. Serial 0 (never synced) stays 0.</summary>
    internal static DnsRecord PinSerial(DnsRecord record)
    {
        if (record is SoaRecord soa && soa.Serial != 0)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (soa.Serial > now - 86400 && soa.Serial <= now + 60)
            {
                return soa with { Serial = FixtureSerial };
            }
        }
        return record;
    }
}
