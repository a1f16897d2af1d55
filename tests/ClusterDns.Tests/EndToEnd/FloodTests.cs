using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.EndToEnd;

/// <summary>
/// The random-name flood of the reliability campaign: unique names at a fixed rate (dnsperf) through
/// <c>cache</c> + <c>forward</c>, with the upstream answering and black-holed, against the published build. Cluster
/// names must stay fast meanwhile, external names must fail fast when the upstream is gone, and the server's memory
/// must stay bounded and come back towards its idle figure afterwards.
/// CI runs it short; <c>CLUSTERDNS_FLOOD_SECONDS</c> and <c>CLUSTERDNS_FLOOD_QPS</c> make the long run recorded in
/// docs/RELIABILITY.md.
/// </summary>
public sealed class FloodTests(ITestOutputHelper output)
{
    private static readonly int Seconds = Setting("CLUSTERDNS_FLOOD_SECONDS", 8);
    private static readonly int Rate = Setting("CLUSTERDNS_FLOOD_QPS", 4000);

    // Bounds that hold on a loaded 2-core CI machine. Latency here is a stall check, not a benchmark (the machine runs
    // other tests at the same time): the measured figures on a quiet machine are in docs/RELIABILITY.md.
    private const long PeakRssBoundKiB = 400 * 1024;
    // What may stay after the flood: with the upstream answering, the cache keeps up to 10,000 entries by design.
    private const long ReturnMarginKiB = 32 * 1024;
    private static readonly TimeSpan ReturnWithin = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ClusterP99Bound = TimeSpan.FromMilliseconds(1000);

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    [Theory]
    [InlineData("answering")]
    [InlineData("black-holed")]
    public async Task Random_name_flood_through_cache_and_forward_keeps_cluster_names_fast_and_memory_bounded(string upstreamKind)
    {
        await using var answering = FakeUpstream.WithAddress("192.0.2.1");
        using var blackHole = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        blackHole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var upstream = upstreamKind == "answering" ? answering.Address : "127.0.0.1:" + ((IPEndPoint)blackHole.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);
        var port = ServerTestKit.FreePort();
        var directory = ClusterDnsProcess.NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), $$"""
            .:{{port}} {
                hosts {
                    10.96.0.20 web.default.svc.cluster.local
                    fallthrough
                }
                cache 30
                forward . {{upstream}}
            }
            """);
        await using var server = ClusterDnsProcess.Start(directory);
        await server.WaitForBannerAsync();
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);

        // Idle figure: after start-up and a little light traffic.
        for (var i = 0; i < 50; i++)
        {
            await ProbeAsync(endpoint, "web.default.svc.cluster.local.");
        }
        await Task.Delay(1000);
        var idle = RssKiB(server.Id);

        // The flood: every name unique, at a fixed rate, bounded in count and time.
        var names = Path.Combine(directory, "names.txt");
        var count = Seconds * Rate;
        await using (var writer = new StreamWriter(names))
        {
            for (var i = 0; i < count; i++)
            {
                await writer.WriteLineAsync($"r{i.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}.flood.example. A");
            }
        }
        var flood = ServerTestKit.RunAsync("dnsperf", ["-s", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-d", names,
            "-Q", Rate.ToString(CultureInfo.InvariantCulture), "-l", Seconds.ToString(CultureInfo.InvariantCulture),
            "-n", "1", "-t", "10", "-q", "20000"], TimeSpan.FromSeconds(Seconds + 60));

        // Meanwhile: a cluster name every 10 ms, and the peak memory.
        var latencies = new List<double>();
        var lost = 0;
        var peak = idle;
        var clock = Stopwatch.StartNew();
        while (!flood.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(Seconds + 60))
        {
            var took = await ProbeAsync(endpoint, "web.default.svc.cluster.local.");
            if (took is { } t)
            {
                latencies.Add(t.TotalMilliseconds);
            }
            else
            {
                lost++;
            }
            peak = Math.Max(peak, RssKiB(server.Id));
            await Task.Delay(10);
        }
        var perf = await flood;
        Assert.True(perf.ExitCode == 0, perf.ToString());

        // An external name not seen before: answered, or SERVFAIL within forward's timeout when the upstream is gone.
        var external = Stopwatch.StartNew();
        var reply = await TestDnsServer.ExchangeUdpAsync(endpoint, DnsMessage.CreateQuery("after.flood.example.", DnsType.A, id: 9).ToArray(), TimeSpan.FromSeconds(10));
        external.Stop();

        // Memory back near idle: the server trims at the first quiet 5 s period after the burst.
        var quiet = Stopwatch.StartNew();
        var after = RssKiB(server.Id);
        while (after > idle + ReturnMarginKiB && quiet.Elapsed < ReturnWithin)
        {
            await Task.Delay(250);
            after = RssKiB(server.Id);
        }
        latencies.Sort();
        var p50 = latencies.Count > 0 ? latencies[latencies.Count / 2] : double.NaN;
        var p99 = latencies.Count > 0 ? latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.99))] : double.NaN;
        output.WriteLine($"upstream {upstreamKind}: {count} names at {Rate}/s for {Seconds} s; dnsperf: {Summary(perf.Stdout)}");
        output.WriteLine($"cluster name: {latencies.Count} answered, {lost} lost, p50 {p50:F2} ms, p99 {p99:F2} ms");
        output.WriteLine($"RSS: idle {idle / 1024} MiB, peak {peak / 1024} MiB, {after / 1024} MiB {quiet.Elapsed.TotalSeconds:F1} s after the flood");
        output.WriteLine($"external name after the flood: {(reply is null ? "no reply" : DnsMessage.Parse(reply).Rcode.ToString())} in {external.ElapsedMilliseconds} ms");

        Assert.True(server.HasExited is false, server.Stdout + server.Stderr);
        // Before forward's failed dials stopped throwing, a black-holed flood at the socket budget stalled the receive loop
        // and lost 0-4 of ~1,100 probes (1 s timeout) at every commit. A rarer ~1 s stall remains on a loaded machine (one
        // run in six under load 3.5, docs/RELIABILITY.md, "Floods"): bounded here, not hidden.
        Assert.True(lost * 100 <= latencies.Count + lost, $"{lost} of {latencies.Count + lost} cluster-name probes unanswered (over 1%)");
        Assert.True(p99 <= ClusterP99Bound.TotalMilliseconds, $"cluster-name p99 {p99:F2} ms");
        Assert.True(peak <= PeakRssBoundKiB, $"peak RSS {peak / 1024} MiB");
        Assert.True(after <= idle + ReturnMarginKiB, $"RSS {ReturnWithin.TotalSeconds} s after the flood {after / 1024} MiB, idle was {idle / 1024} MiB");
        Assert.NotNull(reply);
        var rcode = DnsMessage.Parse(reply!).Rcode;
        Assert.Equal(upstreamKind == "answering" ? DnsRcode.NoError : DnsRcode.ServFail, rcode);
        Assert.True(external.Elapsed < TimeSpan.FromSeconds(6), $"external name took {external.ElapsedMilliseconds} ms");
        Assert.DoesNotContain("panic", server.Stdout + server.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<TimeSpan?> ProbeAsync(IPEndPoint endpoint, string name)
    {
        var clock = Stopwatch.StartNew();
        var reply = await TestDnsServer.ExchangeUdpAsync(endpoint, DnsMessage.CreateQuery(name, DnsType.A, id: 7).ToArray(), TimeSpan.FromSeconds(1));
        return reply is not null && DnsMessage.Parse(reply).Answers.Count == 1 ? clock.Elapsed : null;
    }

    private static long RssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    private static string Summary(string dnsperf)
    {
        var parts = new List<string>();
        foreach (var line in dnsperf.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("Queries sent", StringComparison.Ordinal) || trimmed.StartsWith("Queries completed", StringComparison.Ordinal)
                || trimmed.StartsWith("Queries lost", StringComparison.Ordinal) || trimmed.StartsWith("Response codes", StringComparison.Ordinal))
            {
                parts.Add(trimmed);
            }
        }
        return string.Join("; ", parts);
    }
}
