using System.Diagnostics;
using System.Net;
using ClusterDns.Plugins.Forward;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.ForwardTestSupport;

namespace ClusterDns.Tests.Plugins.Forward;

public sealed class ForwardServerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Relays_the_upstream_answer_over_the_client_transport(bool tcp)
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.1");
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address}\n}}\n");
        var reply = await Query(server, "Example.ORG.", tcp: tcp);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        var a = Assert.IsType<ARecord>(Assert.Single(reply.Answers));
        Assert.Equal(IPAddress.Parse("192.0.2.1"), a.Address);
        Assert.True(reply.Header.RecursionAvailable);
        Assert.Equal(tcp ? 1 : 0, upstream.TcpQueries);
        Assert.Equal(tcp ? 0 : 1, upstream.UdpQueries);
        // The client's question and EDNS went upstream unchanged (new id).
        Assert.True(upstream.Received.TryPeek(out var sent));
        Assert.Equal("Example.ORG.", sent.Question!.Name.ToString());
        Assert.Equal(1232, sent.Opt!.UdpPayloadSize);
    }

    [Fact]
    public async Task Reuses_upstream_connections()
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.1");
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address}\n}}\n");
        for (var i = 0; i < 3; i++)
        {
            await Query(server, $"n{i}.example.org.");
            await Query(server, $"n{i}.example.org.", tcp: true);
        }
        var stats = (IUpstreamStatistics)Plugin<ForwardPlugin>(server).Upstreams[0];
        Assert.Equal(1, stats.ConnCacheMisses("udp"));
        Assert.Equal(2, stats.ConnCacheHits("udp"));
        Assert.Equal(1, stats.ConnCacheMisses("tcp"));
        Assert.Equal(2, stats.ConnCacheHits("tcp"));
        Assert.Equal(6, stats.Requests);
        Assert.Equal(6, stats.ResponsesByRcode(0));
    }

    [Fact]
    public async Task Dropping_upstream_times_out_then_the_next_one_answers()
    {
        await using var silent = FakeUpstream.Start((_, _) => new ValueTask<byte[]?>((byte[]?)null));
        await using var good = FakeUpstream.WithAddress("192.0.2.7");
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {silent.Address} {good.Address} {{\n        policy sequential\n    }}\n}}\n");
        var watch = Stopwatch.StartNew();
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Equal("192.0.2.7", ((ARecord)reply.Answers[0]).Address.ToString());
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(4));
        Assert.Equal(1, silent.Queries - HealthChecks(silent));
    }

    private static int HealthChecks(FakeUpstream upstream)
    {
        var count = 0;
        foreach (var query in upstream.Received)
        {
            if (query.Question!.Name.IsRoot && query.Question.Type == DnsType.NS)
            {
                count++;
            }
        }
        return count;
    }

    [Fact]
    public async Task Timeout_error_text_is_go_style()
    {
        await using var silent = FakeUpstream.Start((_, _) => new ValueTask<byte[]?>((byte[]?)null));
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {silent.Address} {{\n        max_connect_attempts 1\n    }}\n}}\n");
        var plugin = Plugin<ForwardPlugin>(server);
        var request = Request("example.org.", DnsType.A);
        var result = await plugin.ServeAsync(request, CancellationToken.None);
        Assert.Equal(DnsRcode.ServFail, result.Rcode);
        Assert.False(request.Response.Written);
        Assert.Matches(@"^read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: i/o timeout$", result.Error);
    }

    [Fact]
    public async Task Servfail_is_returned_as_is_and_failover_tries_the_next_upstream()
    {
        await using var failing = FakeUpstream.Answering(query => FakeUpstream.Reply(query, DnsRcode.ServFail, []));
        await using var good = FakeUpstream.WithAddress("192.0.2.9");
        await using (var plain = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {failing.Address} {good.Address} {{\n        policy sequential\n    }}\n}}\n"))
        {
            var reply = await Query(plain, "example.org.");
            Assert.Equal(DnsRcode.ServFail, reply.Rcode);
            Assert.Equal(0, good.Queries);
        }
        await using var failover = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {failing.Address} {good.Address} {{\n        policy sequential\n        failover SERVFAIL REFUSED\n    }}\n}}\n");
        var second = await Query(failover, "example.org.");
        Assert.Equal(DnsRcode.NoError, second.Rcode);
        Assert.Equal(1, good.Queries);
    }

    [Fact]
    public async Task Refused_port_moves_on_immediately_and_reports_connection_refused()
    {
        var closed = FakeUpstream.ClosedAddress();
        await using var good = FakeUpstream.WithAddress("192.0.2.3");
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {closed} {good.Address} {{\n        policy sequential\n    }}\n}}\n");
        var watch = Stopwatch.StartNew();
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), watch.Elapsed.ToString());

        await using var only = await TestDnsServer.StartAsync($".:0 {{\n    forward . {closed} {{\n        max_connect_attempts 1\n    }}\n}}\n");
        var result = await Plugin<ForwardPlugin>(only).ServeAsync(Request("example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(DnsRcode.ServFail, result.Rcode);
        Assert.EndsWith("connection refused", result.Error);
        var tcp = await Plugin<ForwardPlugin>(only).ServeAsync(Request("example.org.", DnsType.A, tcp: true), CancellationToken.None);
        Assert.Equal($"dial tcp {closed}: connect: connection refused", tcp.Error);
    }

    [Fact]
    public async Task Truncated_udp_answer_is_returned_truncated()
    {
        await using var upstream = FakeUpstream.Start((query, tcp) =>
        {
            var reply = FakeUpstream.Reply(query, DnsRcode.NoError, tcp ? [new ARecord(IPAddress.Parse("192.0.2.4")) { Name = query.Question!.Name, Ttl = 60 }] : []);
            reply.Header.Truncated = !tcp;
            return new ValueTask<byte[]?>(reply.ToArray());
        });
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address}\n}}\n");
        var udp = await Query(server, "example.org.");
        Assert.True(udp.Header.Truncated);
        Assert.Empty(udp.Answers);
        var tcpReply = await Query(server, "example.org.", tcp: true);
        Assert.False(tcpReply.Header.Truncated);
        Assert.Single(tcpReply.Answers);
    }

    [Fact]
    public async Task Prefer_udp_asks_over_udp_and_retries_tcp_when_truncated()
    {
        var truncate = true;
        await using var upstream = FakeUpstream.Start((query, tcp) =>
        {
            var reply = FakeUpstream.Reply(query, DnsRcode.NoError, [new ARecord(IPAddress.Parse("192.0.2.5")) { Name = query.Question!.Name, Ttl = 60 }]);
            if (!tcp && Volatile.Read(ref truncate))
            {
                reply.Answers.Clear();
                reply.Header.Truncated = true;
            }
            return new ValueTask<byte[]?>(reply.ToArray());
        });
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address} {{\n        prefer_udp\n    }}\n}}\n");
        var reply = await Query(server, "example.org.", tcp: true);
        Assert.False(reply.Header.Truncated);
        Assert.Single(reply.Answers);
        Assert.Equal(1, upstream.UdpQueries);
        Assert.Equal(1, upstream.TcpQueries);
        Volatile.Write(ref truncate, false);
        await Query(server, "example.net.", tcp: true);
        Assert.Equal(2, upstream.UdpQueries);
        Assert.Equal(1, upstream.TcpQueries);
    }

    [Fact]
    public async Task Force_tcp_uses_tcp_for_udp_clients()
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.6");
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address} {{\n        force_tcp\n        prefer_udp\n    }}\n}}\n");
        var reply = await Query(server, "example.org.");
        Assert.Single(reply.Answers);
        Assert.Equal(0, upstream.UdpQueries);
        Assert.Equal(1, upstream.TcpQueries);
    }

    [Fact]
    public async Task Max_concurrent_overflow_is_refused()
    {
        var release = new TaskCompletionSource();
        await using var upstream = FakeUpstream.Start(async (query, _) =>
        {
            await release.Task;
            return FakeUpstream.Reply(query, DnsRcode.NoError, []).ToArray();
        });
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address} {{\n        max_concurrent 2\n    }}\n}}\n");
        var first = Query(server, "a.example.org.");
        var second = Query(server, "b.example.org.");
        var deadline = DateTime.UtcNow.AddSeconds(3);
        while (upstream.Queries < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        var plugin = Plugin<ForwardPlugin>(server);
        var result = await plugin.ServeAsync(Request("c.example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(new DnsResult(DnsRcode.Refused, "concurrent queries exceeded maximum 2"), result);
        var third = await Query(server, "d.example.org.");
        Assert.Equal(DnsRcode.Refused, third.Rcode);
        release.SetResult();
        Assert.Equal(DnsRcode.NoError, (await first).Rcode);
        Assert.Equal(DnsRcode.NoError, (await second).Rcode);
        Assert.Equal(2, plugin.MaxConcurrentRejects);
    }

    [Fact]
    public async Task Policies_order_upstreams()
    {
        await using var a = FakeUpstream.WithAddress("192.0.2.10");
        await using var b = FakeUpstream.WithAddress("192.0.2.11");
        await using var c = FakeUpstream.WithAddress("192.0.2.12");
        await using (var sequential = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {a.Address} {b.Address} {c.Address} {{\n        policy sequential\n    }}\n}}\n"))
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal("192.0.2.10", ((ARecord)(await Query(sequential, $"s{i}.example.org.")).Answers[0]).Address.ToString());
            }
        }
        await using var roundRobin = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {a.Address} {b.Address} {c.Address} {{\n        policy round_robin\n    }}\n}}\n");
        var seen = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            seen.Add(((ARecord)(await Query(roundRobin, $"r{i}.example.org.")).Answers[0]).Address.ToString());
        }
        Assert.Equal(seen[0], seen[3]);
        Assert.Equal(seen[1], seen[4]);
        Assert.Equal(3, seen.Distinct().Count());
        Assert.Equal(["192.0.2.10", "192.0.2.11", "192.0.2.12"], seen.Take(3).Order());
    }

    [Fact]
    public async Task Except_and_from_decide_what_is_forwarded()
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.20");
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward example.org {upstream.Address} {{\n        except internal.example.org\n    }}\n    whoami\n}}\n");
        Assert.Single((await Query(server, "www.example.org.")).Answers);
        Assert.Single((await Query(server, "example.org.")).Answers);
        // Excepted names and names outside FROM go on to whoami (no answer records).
        Assert.Empty((await Query(server, "internal.example.org.")).Answers);
        Assert.Empty((await Query(server, "a.internal.example.org.")).Answers);
        Assert.Empty((await Query(server, "example.net.")).Answers);
        Assert.Equal(2, upstream.Queries);
    }

    [Fact]
    public async Task Resolv_conf_file_supplies_the_upstreams()
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.30");
        var port = upstream.EndPoint.Port;
        // resolv.conf has no ports: use the file form for setup, then check the parsed address list.
        var files = new Dictionary<string, string> { ["resolv.conf"] = "# comment\nsearch example.org\nnameserver 127.0.0.1\nnameserver ::1\noptions ndots:5\n" };
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . resolv.conf {upstream.Address}\n}}\n", files);
        var plugin = Plugin<ForwardPlugin>(server);
        Assert.Equal(["127.0.0.1:53", "[::1]:53", $"127.0.0.1:{port}"], plugin.Upstreams.Select(u => u.To));
    }

    [Fact]
    public async Task Health_check_marks_an_upstream_down_and_up_again()
    {
        var healthy = false;
        await using var upstream = FakeUpstream.Start((query, _) =>
            new ValueTask<byte[]?>(Volatile.Read(ref healthy) ? FakeUpstream.Reply(query, DnsRcode.Refused, []).ToArray() : null));
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {upstream.Address} {{\n        health_check 100ms\n        max_fails 2\n        max_connect_attempts 1\n        read_timeout 200ms\n    }}\n}}\n");
        var plugin = Plugin<ForwardPlugin>(server);
        var up = (IUpstreamStatistics)plugin.Upstreams[0];
        var result = await plugin.ServeAsync(Request("example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(DnsRcode.ServFail, result.Rcode);
        await WaitUntil(() => up.Fails > 2, TimeSpan.FromSeconds(8));
        Assert.True(up.HealthcheckFailures >= 3);
        // All down and failfast off: still tries (spray), counting healthcheck_broken.
        await plugin.ServeAsync(Request("example.org.", DnsType.A), CancellationToken.None);
        Assert.True(plugin.HealthcheckBroken >= 1);
        // The health check uses ". IN NS" with RD.
        var check = upstream.Received.First(q => q.Question!.Name.IsRoot);
        Assert.Equal(DnsType.NS, check.Question!.Type);
        Assert.True(check.Header.RecursionDesired);
        Volatile.Write(ref healthy, true);
        await WaitUntil(() => up.Fails == 0, TimeSpan.FromSeconds(8));
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.Refused, reply.Rcode);
    }

    [Fact]
    public async Task Failfast_answers_servfail_when_all_upstreams_are_down()
    {
        await using var upstream = FakeUpstream.Start((_, _) => new ValueTask<byte[]?>((byte[]?)null));
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {upstream.Address} {{\n        health_check 50ms\n        max_fails 1\n        max_connect_attempts 1\n        read_timeout 100ms\n        failfast_all_unhealthy_upstreams\n    }}\n}}\n");
        var plugin = Plugin<ForwardPlugin>(server);
        await plugin.ServeAsync(Request("example.org.", DnsType.A), CancellationToken.None);
        await WaitUntil(() => ((IUpstreamStatistics)plugin.Upstreams[0]).Fails > 1, TimeSpan.FromSeconds(8));
        var before = upstream.Queries;
        var result = await plugin.ServeAsync(Request("example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(new DnsResult(DnsRcode.ServFail, "no healthy proxies"), result);
        Assert.True(upstream.Queries - before <= 1); // at most a concurrent health check, no query
    }

    [Fact]
    public async Task Next_hands_matching_rcodes_to_the_following_forward()
    {
        await using var first = FakeUpstream.Answering(query => FakeUpstream.Reply(query, DnsRcode.NXDomain, []));
        await using var second = FakeUpstream.WithAddress("192.0.2.40");
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . {first.Address} {{\n        next NXDOMAIN\n    }}\n    forward . {second.Address}\n}}\n");
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Equal("192.0.2.40", ((ARecord)reply.Answers[0]).Address.ToString());
        Assert.Equal(1, first.Queries);
        Assert.Equal(1, second.Queries);
    }

    [Fact]
    public async Task Reply_for_another_question_becomes_formerr()
    {
        await using var upstream = FakeUpstream.Answering(query =>
        {
            var other = DnsMessage.CreateQuery("other.example.", DnsType.A, query.Header.Id);
            return FakeUpstream.Reply(other, DnsRcode.NoError, []);
        });
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address}\n}}\n");
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.FormErr, reply.Rcode);
        Assert.Equal("example.org.", reply.Question!.Name.ToString());
    }

    [Fact]
    public async Task Chaos_class_queries_are_forwarded()
    {
        await using var upstream = FakeUpstream.Answering(query => FakeUpstream.Reply(query, DnsRcode.NoError, []));
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    forward . {upstream.Address}\n}}\n");
        var query = DnsMessage.CreateQuery("version.bind.", DnsType.TXT, 77);
        query.Questions[0] = new DnsQuestion(query.Questions[0].Name, DnsType.TXT, DnsClass.CH);
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query.ToArray()))!);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Equal(1, upstream.Queries);
    }

    internal static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
