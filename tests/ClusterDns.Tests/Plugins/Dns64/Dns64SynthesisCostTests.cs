using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Plugins.Dns64;

/// <summary>
/// What one synthesis costs the process, measured through a started server over ::1: bytes allocated (whole process,
/// client included) per synthesized AAAA minus the same for an AAAA dns64 passes on, and the time per query of each.
/// Recorded in docs/performance/dns64.md; the bound only catches a gross regression.
/// </summary>
[Collection("Prometheus")]
public sealed class Dns64SynthesisCostTests(ITestOutputHelper output)
{
    private const int Queries = 2000;

    [Fact]
    public async Task Synthesis_cost_per_query_is_measured()
    {
        const string synthesized = "cost-synthesized.dns64.test.";
        const string passed = "cost-passed.dns64.test.";
        Dns64Backend.Set(synthesized, new(DnsRcode.NoError, [], SoaTtl: 30), new(DnsRcode.NoError, ["@ 60 IN A 192.0.2.42"]));
        Dns64Backend.Set(passed, new(DnsRcode.NoError, ["@ 60 IN AAAA 2001:db8::1"]), null);
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    dns64\n    erratic\n}\n", plugins: Dns64Backend.Plugins);
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.Port));
        var (passedBytes, passedTime) = await MeasureAsync(socket, passed);
        var (synthesizedBytes, synthesizedTime) = await MeasureAsync(socket, synthesized);
        var extra = synthesizedBytes - passedBytes;
        output.WriteLine($"passed on: {passedBytes:F0} B/query, {passedTime:F1} us/query; synthesized: {synthesizedBytes:F0} B/query, " +
            $"{synthesizedTime:F1} us/query; synthesis adds {extra:F0} B");
        Assert.True(extra < 512 * 1024, $"synthesis adds {extra:F0} B per query");
    }

    private static async Task<(double Bytes, double Microseconds)> MeasureAsync(Socket socket, string name)
    {
        var query = DnsMessage.CreateQuery(name, DnsType.AAAA, id: 7, ednsSize: 1232).ToArray();
        var buffer = new byte[4096];
        for (var i = 0; i < 200; i++)
        {
            await ExchangeAsync(socket, query, buffer);
        }
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < Queries; i++)
        {
            await ExchangeAsync(socket, query, buffer);
        }
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        return ((double)allocated / Queries, elapsed.TotalMicroseconds / Queries);
    }

    private static async Task ExchangeAsync(Socket socket, byte[] query, byte[] buffer)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.SendAsync(query, SocketFlags.None, cts.Token);
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        Assert.True(received > DnsHeader.Size);
    }
}
