using ClusterDns.Plugins.Forward;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.ForwardTestSupport;

namespace ClusterDns.Tests.Plugins.Forward;

public sealed class ForwardSetupTests
{
    private static async Task<string> Error(string block, IReadOnlyDictionary<string, string>? files = null)
    {
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => TestDnsServer.StartAsync($".:0 {{\n    {block}\n}}\n", files));
        return exception.Message;
    }

    [Fact]
    public async Task Counts_past_int_range_mean_unbounded_not_negative()
    {
        await using var server = await TestDnsServer.StartAsync(
            ".:0 {\n    forward . 10.0.0.1 {\n        max_fails 3000000000\n        max_connect_attempts 4294967295\n    }\n}\n");
        var options = Plugin<ForwardPlugin>(server).Options;
        Assert.Equal(int.MaxValue, options.MaxFails);
        Assert.Equal(int.MaxValue, options.MaxConnectAttempts);
    }

    [Theory]
    [InlineData("forward . abc", "plugin/forward: not an IP address or file: \"abc\"")]
    [InlineData("forward . 8.8", "plugin/forward: not an IP address or file: \"8.8\"")] // Go's ParseIP, not .NET's 8.0.0.8
    [InlineData("forward . 010.0.0.1:53", "plugin/forward: not an IP address or file: \"010.0.0.1:53\"")]
    [InlineData("forward .", "Wrong argument count or unexpected line ending after '.'")]
    [InlineData("forward", "Wrong argument count or unexpected line ending after 'forward'")]
    [InlineData("forward . https://1.1.1.1", "'https' is not supported as a destination protocol in forward: https://1.1.1.1")]
    [InlineData("forward . 127.0.0.1 {\n        bogus\n    }", "unknown property 'bogus'")]
    [InlineData("forward . 127.0.0.1 {\n        policy fastest\n    }", "unknown policy 'fastest'")]
    [InlineData("forward . 127.0.0.1 {\n        max_fails x\n    }", "strconv.ParseUint: parsing \"x\": invalid syntax")]
    [InlineData("forward . 127.0.0.1 {\n        max_concurrent -1\n    }", "max_concurrent can't be negative: -1")]
    [InlineData("forward . 127.0.0.1 {\n        next FOO\n    }", "FOO is not a valid rcode")]
    [InlineData("forward . 127.0.0.1 {\n        failover NOERROR\n    }", "NoError cannot be used in failover")]
    [InlineData("forward . 127.0.0.1 {\n        health_check -1s\n    }", "health_check can't be negative")]
    [InlineData("forward . 127.0.0.1 {\n        health_check 1s bogus\n    }", "health_check: unknown option bogus")]
    [InlineData("forward . 127.0.0.1 {\n        expire 5x\n    }", "time: unknown unit \"x\" in duration \"5x\"")]
    [InlineData("forward . 127.0.0.1 {\n        force_tcp yes\n    }", "Wrong argument count or unexpected line ending after 'yes'")]
    public async Task Reports_coredns_errors(string block, string expected)
    {
        Assert.Contains(expected, await Error(block));
    }

    [Fact]
    public async Task Limits_tos_to_fifteen()
    {
        var tos = string.Join(' ', Enumerable.Range(1, 16).Select(i => $"127.0.0.{i}"));
        Assert.Contains("plugin/forward: more than 15 TOs configured: 16", await Error($"forward . {tos}"));
    }

    [Fact]
    public async Task Empty_resolv_conf_has_no_upstreams()
    {
        var files = new Dictionary<string, string> { ["empty.conf"] = "search example.org\n" };
        Assert.Contains("no valid upstream addresses found", await Error("forward . empty.conf", files));
    }

    [Fact]
    public async Task Parses_addresses_and_options()
    {
        await using var server = await TestDnsServer.StartAsync(
            ".:0 {\n    forward example.org 10.0.0.1 10.0.0.2:5353 [2001:db8::1]:53 dns://10.0.0.3 tls://10.0.0.4 tls://10.0.0.5%dns.example {\n" +
            "        except a.example.org b.example.org\n        expire 20s\n        max_fails 3\n        policy round_robin\n" +
            "        health_check 5s no_rec domain example.com\n        max_concurrent 1000\n        next NXDOMAIN SERVFAIL\n" +
            "        failover REFUSED\n        tls_servername dns.example.net\n        max_idle_conns 4\n    }\n" +
            "    forward . 10.0.0.9\n}\n");
        var first = Plugin<ForwardPlugin>(server);
        Assert.Equal(["10.0.0.1:53", "10.0.0.2:5353", "[2001:db8::1]:53", "10.0.0.3:53", "10.0.0.4:853", "10.0.0.5:853"],
            first.Upstreams.Select(u => u.To));
        var options = first.Options;
        Assert.Equal("example.org.", options.From);
        Assert.Equal(["a.example.org.", "b.example.org."], options.Except);
        Assert.Equal(TimeSpan.FromSeconds(20), options.Expire);
        Assert.Equal(3, options.MaxFails);
        Assert.Equal(ForwardPolicy.RoundRobin, options.Policy);
        Assert.Equal(TimeSpan.FromSeconds(5), options.HealthCheckInterval);
        Assert.False(options.HealthCheckRecursionDesired);
        Assert.Equal("example.com.", options.HealthCheckDomain);
        Assert.Equal(1000, options.MaxConcurrent);
        Assert.Equal([DnsRcode.NXDomain, DnsRcode.ServFail], options.NextRcodes);
        Assert.Equal([DnsRcode.Refused], options.FailoverRcodes);
        Assert.Equal("dns.example.net", first.UpstreamList[4].Tls!.ServerName);
        Assert.Equal("dns.example", first.UpstreamList[5].Tls!.ServerName);
        Assert.Null(first.UpstreamList[0].Tls);
        // A second forward line is a second instance, chained after the first.
        var second = Plugin<ForwardPlugin>(server, 1);
        Assert.Same(second, first.Next);
        Assert.Equal(ForwardPolicy.Random, second.Options.Policy);
    }

    [Fact]
    public async Task Kubeadm_forward_line_runs_unchanged()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n}\n");
        Assert.NotEmpty(Plugin<ForwardPlugin>(server).Upstreams);
    }
}
