using System.Diagnostics;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Health;

public sealed class HealthPluginTests
{
    [Fact]
    public async Task Health_answers_200_OK()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    health 127.0.0.1:0\n    whoami\n}\n");
        var port = HttpPort(server, "127.0.0.1:0");
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(port, "/health"));
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(port, "/other")).Status);
        // health installs no query handler: the chain is whoami alone.
        Assert.Equal(["whoami"], server.App.Host.Current!.Blocks[0].Plugins.Select(p => p.Name));
    }

    [Fact]
    public async Task Lameduck_keeps_serving_for_the_duration_then_stops()
    {
        var server = await TestDnsServer.StartAsync(".:0 {\n    health 127.0.0.1:0 {\n        lameduck 1s\n    }\n    whoami\n}\n");
        var port = HttpPort(server, "127.0.0.1:0");
        var endpoint = server.Endpoint;
        var watch = Stopwatch.StartNew();
        var stopping = server.App.StopAsync();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted);
        var query = DnsMessage.CreateQuery("example.org.", DnsType.A, id: 9).ToArray();
        Assert.NotNull(await TestDnsServer.ExchangeUdpAsync(endpoint, query));
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(port, "/health"));
        await stopping;
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(950), $"stopped after {watch.Elapsed}");
        Assert.Null(await TestDnsServer.ExchangeUdpAsync(endpoint, query, TimeSpan.FromMilliseconds(300)));
        await server.DisposeAsync();
        var log = await WaitForLogAsync(server, l => l.Contains("lameduck", StringComparison.Ordinal));
        Assert.Contains("[INFO] plugin/health: Going into lameduck mode for 1s", Lines(log));
    }

    [Fact]
    public async Task No_lameduck_stops_at_once()
    {
        var server = await TestDnsServer.StartAsync(".:0 {\n    health 127.0.0.1:0\n    whoami\n}\n");
        var watch = Stopwatch.StartNew();
        await server.DisposeAsync();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1));
        Assert.DoesNotContain("lameduck", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_address_is_8080()
    {
        var config = Build(".:53 {\n    health\n    whoami\n}\n");
        Assert.True(config.HttpRoutes[":8080"].ContainsKey("/health"));
        config = Build(".:53 {\n    health :8091 {\n        lameduck 5s\n    }\n    whoami\n}\n");
        Assert.True(config.HttpRoutes[":8091"].ContainsKey("/health"));
        Assert.Single(config.ShutdownHooks);
    }

    [Theory]
    [InlineData("health a b", "plugin/health: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b'")]
    [InlineData("health foo", "plugin/health: address foo: missing port in address")]
    [InlineData("health a:b:c", "plugin/health: address a:b:c: too many colons in address")]
    [InlineData("health :8080 {\n        lameduck\n    }", "plugin/health: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'lameduck'")]
    [InlineData("health :8080 {\n        lameduck x\n    }", "plugin/health: unable to parse lameduck duration value: \"x\": time: invalid duration \"x\"")]
    [InlineData("health :8080 {\n        lameduck 5\n    }", "plugin/health: unable to parse lameduck duration value: \"5\": time: missing unit in duration \"5\"")]
    [InlineData("health {\n        foo\n    }", "plugin/health: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'foo'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Health");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Build(corefile);
        }
    }
}
