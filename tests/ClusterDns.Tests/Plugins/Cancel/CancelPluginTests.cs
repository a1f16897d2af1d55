using System.Diagnostics;
using ClusterDns.Plugins.Cancel;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Cancel;

public sealed class CancelPluginTests
{
    [Fact]
    public async Task A_black_hole_upstream_gets_SERVFAIL_at_the_cancel_deadline_not_forwards_timeout()
    {
        // The upstream swallows every query: without cancel, forward waits its 2 s read timeout per attempt (5 s overall).
        await using var upstream = FakeUpstream.Answering(_ => null);
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    cancel 300ms\n    forward . {upstream.Address}\n}}\n");
        var watch = Stopwatch.StartNew();
        var reply = await ForwardTestSupport.Query(server, "example.org.");
        watch.Stop();
        Assert.Equal(DnsRcode.ServFail, reply.Rcode);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(250), $"answered after {watch.Elapsed.TotalMilliseconds} ms, before the deadline");
        // Well under forward's 2 s read timeout even on a loaded machine.
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(1700), $"answered after {watch.Elapsed.TotalMilliseconds} ms");
        Assert.True(upstream.Queries >= 1);
    }

    [Fact]
    public async Task Answers_in_time_are_untouched_and_the_deadline_is_per_query()
    {
        await using var upstream = FakeUpstream.WithAddress("192.0.2.7");
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    cancel 2s\n    forward . {upstream.Address}\n}}\n");
        for (var i = 0; i < 20; i++)
        {
            var reply = await ForwardTestSupport.Query(server, $"n{i}.example.org.");
            Assert.Equal(DnsRcode.NoError, reply.Rcode);
            Assert.Equal("192.0.2.7", Assert.Single(reply.Answers).DataText());
        }
    }

    [Theory]
    [InlineData("cancel", 5001)]
    [InlineData("cancel 1s", 1000)]
    [InlineData("cancel 250ms", 250)]
    [InlineData("cancel 2s\n    cancel 3s", 3000)]
    public async Task Timeout_defaults_to_5001ms(string directive, int milliseconds)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directive}\n    whoami\n}}\n");
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), ForwardTestSupport.Plugin<CancelPlugin>(server).Timeout);
        Assert.Equal(DnsRcode.NoError, (await server.QueryAsync("a.test.", DnsType.A)).Rcode);
    }

    [Theory]
    [InlineData("cancel abc", "plugin/cancel: invalid duration: \"abc\"")]
    [InlineData("cancel -1s", "plugin/cancel: invalid negative duration: \"-1s\"")]
    [InlineData("cancel 0s", "plugin/cancel: invalid negative duration: \"0s\"")]
    [InlineData("cancel 1s 2s", "plugin/cancel: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '2s'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Cancel");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }
}
