using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>Ten reloads, alternating good and bad Corefiles, while a fixed-rate load runs over UDP and TCP: no query
/// may be lost or fail, a bad file keeps the running configuration, and each good one is served right after.</summary>
public sealed class ReloadUnderLoadTests
{
    private static string Corefile(int generation) =>
        $".:0 {{\n    hosts {{\n        10.0.0.{generation} load.test\n    }}\n}}\n";

    private static readonly string[] BadCorefiles =
    [
        ".:0 {\n    hosts {\n        10.0.0.1 load.test\n    }\n    nosuchplugin\n}\n",
        ".:0 {\n    timeouts {\n        read 500ms\n    }\n    hosts {\n        10.0.0.1 load.test\n    }\n}\n",
        ".:0 {\n    hosts {\n        10.0.0.1 load.test\n",
        ".:0 {\n    cache 0\n}\n",
        ".:0 {\n    forward . 8\n}\n",
    ];

    private static bool IsGeneration(ARecord record, int first, int last)
    {
        for (var generation = first; generation <= last; generation++)
        {
            if (record.Address.ToString() == $"10.0.0.{generation}")
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public async Task Alternating_good_and_bad_reloads_under_load_lose_no_query()
    {
        await using var server = await TestDnsServer.StartAsync(Corefile(1));
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.Port);
        var failures = new ConcurrentQueue<string>();
        var answered = 0;
        // The generation every answer must show from now on, or the one before it while a swap is in progress, or the
        // next one when a reload completes between reading this and the reply being made.
        var current = 1;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // bound, whatever happens
        async Task LoadAsync(bool tcp)
        {
            ushort id = 1;
            var clock = Stopwatch.StartNew();
            var sent = 0;
            while (!stop.IsCancellationRequested)
            {
                var expected = Volatile.Read(ref current);
                var query = DnsMessage.CreateQuery("load.test.", DnsType.A, id: id++).ToArray();
                var reply = tcp
                    ? await TestDnsServer.ExchangeTcpAsync(endpoint, query, TimeSpan.FromSeconds(3))
                    : await TestDnsServer.ExchangeUdpAsync(endpoint, query, TimeSpan.FromSeconds(3));
                if (reply is null)
                {
                    failures.Enqueue($"no reply (tcp={tcp})");
                }
                else if (DnsMessage.Parse(reply) is { Rcode: DnsRcode.NoError, Answers: [ARecord a] }
                    && IsGeneration(a, expected - 1, expected + 1))
                {
                    Interlocked.Increment(ref answered);
                }
                else
                {
                    failures.Enqueue($"unexpected reply (tcp={tcp}, generation {expected}): {DnsMessage.Parse(reply)}");
                }
                // Fixed rate: 200 queries a second per loop.
                sent++;
                var due = TimeSpan.FromMilliseconds(sent * 5) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        var loads = new[] { Task.Run(() => LoadAsync(false)), Task.Run(() => LoadAsync(false)), Task.Run(() => LoadAsync(true)) };
        try
        {
            var generation = 1;
            for (var round = 0; round < 10; round++)
            {
                await Task.Delay(300);
                if (round % 2 == 0)
                {
                    await File.WriteAllTextAsync(server.CorefilePath, BadCorefiles[round / 2]);
                    Assert.False(await server.App.ReloadAsync(), $"round {round}: bad Corefile accepted:\n{BadCorefiles[round / 2]}");
                }
                else
                {
                    generation++;
                    await File.WriteAllTextAsync(server.CorefilePath, Corefile(generation));
                    Volatile.Write(ref current, generation);
                    Assert.True(await server.App.ReloadAsync(), $"round {round}: good Corefile refused");
                }
            }
            await Task.Delay(300);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loads);
        }
        Assert.True(failures.IsEmpty, $"{failures.Count} failed of {answered + failures.Count}: {string.Join("; ", failures.Take(5))}");
        Assert.True(answered > 500, $"only {answered} answered");
        var last = await server.QueryAsync("load.test.", DnsType.A);
        Assert.Equal("10.0.0.6", Assert.IsType<ARecord>(Assert.Single(last.Answers)).Address.ToString()); // the fifth good reload
    }
}
