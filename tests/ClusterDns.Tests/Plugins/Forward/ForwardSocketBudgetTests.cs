using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Forward;

/// <summary>
/// A dead upstream under a steady query rate, in a process with a small open-file limit: forward must answer every
/// query SERVFAIL (failing dials at once at its socket bound) instead of running the process out of descriptors and
/// recovering from panics, and the server keeps answering everything else.
/// </summary>
public sealed class ForwardSocketBudgetTests
{
    private const int OpenFileLimit = 400;
    private const int Queries = 1500;

    [Fact]
    public async Task Dead_upstream_flood_under_a_low_open_file_limit_gets_servfail_and_no_panic()
    {
        // The black hole: a bound UDP socket nobody reads.
        using var blackHole = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        blackHole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var deadPort = ((IPEndPoint)blackHole.LocalEndPoint!).Port;
        var port = ServerTestKit.FreePort();
        var directory = ClusterDnsProcess.NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), $$"""
            .:{{port}} {
                errors
                hosts {
                    10.0.0.1 local.test
                    fallthrough
                }
                forward . 127.0.0.1:{{deadPort}}
            }
            """);
        await using var server = ClusterDnsProcess.Start(directory);
        await server.WaitForBannerAsync();
        // Lower the running server's limit before its first forwarded query (soft = hard, so nothing can raise it).
        var limit = await ServerTestKit.RunAsync("prlimit", ["--pid", server.Id.ToString(CultureInfo.InvariantCulture), $"--nofile={OpenFileLimit}:{OpenFileLimit}"]);
        Assert.True(limit.ExitCode == 0, limit.ToString());

        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.ReceiveBufferSize = 4 << 20;
        var rcodes = new Dictionary<DnsRcode, int>();
        var answered = new HashSet<ushort>();
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[512];
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                while (answered.Count < Queries)
                {
                    var received = await client.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                    if (received >= 12 && answered.Add((ushort)((buffer[0] << 8) | buffer[1])))
                    {
                        var rcode = (DnsRcode)(buffer[3] & 0xF);
                        rcodes[rcode] = rcodes.GetValueOrDefault(rcode) + 1;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Queries; i++)
        {
            var query = DnsMessage.CreateQuery($"q{i}.flood.test.", DnsType.A, id: (ushort)(i + 1)).ToArray();
            await client.SendToAsync(query, SocketFlags.None, endpoint);
            if (i % 100 == 99)
            {
                await Task.Delay(20); // about 5,000 QPS: the rate that exhausted descriptors before
            }
        }
        await receiving;
        var summary = $"{answered.Count} of {Queries} answered in {clock.Elapsed.TotalSeconds:F1}s: "
            + string.Join(", ", rcodes.Select(r => $"{r.Key}={r.Value}")) + $"\n--- stdout (tail)\n{Tail(server.Stdout)}\n--- stderr\n{Tail(server.Stderr)}";

        Assert.False(server.HasExited, summary);
        Assert.DoesNotContain("Recovered from panic", server.Stdout + server.Stderr, StringComparison.Ordinal);
        Assert.True(answered.Count >= Queries * 95 / 100, summary);
        Assert.True(rcodes.GetValueOrDefault(DnsRcode.ServFail) == answered.Count, summary);
        Assert.Contains("too many open files", server.Stdout + server.Stderr, StringComparison.Ordinal);
        // Everything else is still served, over UDP and TCP (accepting a connection needs a descriptor too).
        var local = await ServerTestKit.DigAsync(port, "local.test.", "A");
        Assert.Equal("NOERROR", local.Status);
        var tcp = await ServerTestKit.DigAsync(port, "local.test.", "A", "+tcp");
        Assert.Equal("NOERROR", tcp.Status);
    }

    private static string Tail(string text) => text.Length > 3000 ? text[^3000..] : text;
}
