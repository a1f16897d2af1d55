using System.Diagnostics;
using System.Globalization;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Kubeadm;

/// <summary>The kubeadm Corefile run by the real executable, driven with signals as the kubelet and an operator do.</summary>
public sealed class KubeadmProcessTests
{
    private static async Task<DnsMessage?> QueryAsync(int port, string name)
    {
        var query = DnsMessage.CreateQuery(name, DnsType.A, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
        var reply = await TestDnsServer.ExchangeUdpAsync(new IPEndPoint(IPAddress.Loopback, port), query, TimeSpan.FromSeconds(2));
        return reply is null ? null : DnsMessage.Parse(reply);
    }

    [Fact]
    public async Task Sigusr1_reloads_and_sigterm_lameducks_before_exit()
    {
        await using var upstream = await DnsmasqUpstream.StartAsync();
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        var directory = ClusterDnsProcess.NewDirectory();
        var target = KubeadmStack.ForwardTarget(upstream, directory);
        var dnsPort = ServerTestKit.FreePort();
        var http = "127.0.0.1:" + ServerTestKit.FreePort().ToString(CultureInfo.InvariantCulture);
        var httpPort = int.Parse(http[(http.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
        string Corefile(int ttl) => KubeadmStack.Corefile(api.Url, target, ttl, dnsAddress: ".:" + dnsPort.ToString(CultureInfo.InvariantCulture),
            healthAddress: http, readyAddress: http, prometheusAddress: http, reload: "reload");
        var corefile = Path.Combine(directory, "Corefile");
        await File.WriteAllTextAsync(corefile, Corefile(30));
        await using var process = ClusterDnsProcess.Start(directory);
        await process.WaitForBannerAsync();
        Assert.True(await Eventually.Holds(async () => (await KubeadmStack.TryGetAsync(httpPort, "/ready"))?.Status == HttpStatusCode.OK, TimeSpan.FromSeconds(20)), process.Stdout);
        Assert.Equal(30u, (await QueryAsync(dnsPort, "web.default.svc.cluster.local."))!.Answers[0].Ttl);
        Assert.Equal("192.0.2.10", (await QueryAsync(dnsPort, "web.example.test."))!.Answers[0].DataText());

        // SIGUSR1: reload now (the reload plugin's own 30 s ± 15 s timer has not fired yet).
        await File.WriteAllTextAsync(corefile, Corefile(9));
        await process.SignalAsync("USR1");
        Assert.True(await Eventually.Holds(async () => (await QueryAsync(dnsPort, "web.default.svc.cluster.local."))?.Answers[0].Ttl == 9, TimeSpan.FromSeconds(15)), process.Stdout);
        Assert.Contains("[INFO] SIGUSR1: Reloading", process.Stdout, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(httpPort, "/health"));

        // SIGTERM: lameduck 2s — DNS and /health keep answering, /ready says "Shutting down", then exit 0.
        var clock = Stopwatch.StartNew();
        await process.SignalAsync("TERM");
        Assert.True(await Eventually.Holds(() => process.Stdout.Contains("[INFO] plugin/health: Going into lameduck mode for 2s", StringComparison.Ordinal)), process.Stdout);
        var rounds = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(1.5) && !process.HasExited)
        {
            Assert.Equal(KubeadmStack.WebClusterIp, (await QueryAsync(dnsPort, "web.default.svc.cluster.local."))?.Answers[0].DataText());
            Assert.Equal((HttpStatusCode.OK, "OK"), await KubeadmStack.GetAsync(httpPort, "/health"));
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "Shutting down"), await KubeadmStack.GetAsync(httpPort, "/ready"));
            rounds++;
            await Task.Delay(100);
        }
        Assert.True(rounds >= 3, $"only {rounds} rounds during lameduck");
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"exited after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_forwarding_loop_ends_the_process_with_coredns_fatal_message()
    {
        // forward points back at the server itself: loop's HINFO probe comes round more than twice.
        var dnsPort = ServerTestKit.FreePort();
        var directory = ClusterDnsProcess.NewDirectory();
        var port = dnsPort.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), $".:{port} {{\n    errors\n    forward . 127.0.0.1:{port}\n    loop\n}}\n");
        await using var process = ClusterDnsProcess.Start(directory);
        Assert.Equal(1, await process.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        Assert.Matches($@"\[FATAL\] plugin/loop: Loop \(127\.0\.0\.1:\d+ -> :{port}\) detected for zone ""\."", see https://coredns\.io/plugins/loop#troubleshooting\. Query: ""HINFO \d+\.\d+\.""",
            process.Stdout + process.Stderr);
    }
}
