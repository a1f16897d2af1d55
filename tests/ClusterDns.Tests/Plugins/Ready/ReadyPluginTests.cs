using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Ready;

public sealed class ReadyPluginTests
{
    private static (IReadOnlyDictionary<string, PluginDescriptor> Plugins, List<ErraticTestPlugin> Created) Erratic()
    {
        var created = new List<ErraticTestPlugin>();
        var plugins = ErraticTestPlugin.With(_ => new DnsResult(DnsRcode.ServFail), p => created.Add(p));
        return (plugins, created);
    }

    [Fact]
    public async Task Ready_is_503_with_names_until_every_reporter_is_ready()
    {
        var (plugins, created) = Erratic();
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    ready 127.0.0.1:0\n    erratic\n}\n", plugins: plugins);
        var port = HttpPort(server, "127.0.0.1:0");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "erratic"), await GetAsync(port, "/ready"));
        var log = await WaitForLogAsync(server, l => l.Contains("not ready", StringComparison.Ordinal));
        Assert.Contains("[INFO] plugin/ready: Plugins not ready: \"erratic\"", Lines(log));
        created.Single().Ready = true;
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(port, "/ready"));
        // until-ready: once ready it is not asked again.
        created.Single().Ready = false;
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(port, "/ready"));
    }

    [Fact]
    public async Task Names_are_sorted_and_comma_separated()
    {
        var (plugins, created) = Erratic();
        await using var server = await TestDnsServer.StartAsync(
            "a.example:0 {\n    ready 127.0.0.1:0\n    erratic\n}\nb.example:0 {\n    erratic\n}\n", plugins: plugins);
        var port = HttpPort(server, "127.0.0.1:0");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "erratic,erratic"), await GetAsync(port, "/ready"));
        created[0].Ready = true;
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "erratic"), await GetAsync(port, "/ready"));
        created[1].Ready = true;
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(port, "/ready"));
    }

    [Fact]
    public async Task Monitor_continuously_asks_every_time()
    {
        var (plugins, created) = Erratic();
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    ready 127.0.0.1:0 {\n        monitor continuously\n    }\n    erratic\n}\n", plugins: plugins);
        var port = HttpPort(server, "127.0.0.1:0");
        created.Single().Ready = true;
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(port, "/ready")).Status);
        created.Single().Ready = false;
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "erratic"), await GetAsync(port, "/ready"));
    }

    [Fact]
    public async Task No_reporters_means_ready()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    ready 127.0.0.1:0\n    whoami\n}\n");
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(HttpPort(server, "127.0.0.1:0"), "/ready"));
    }

    [Fact]
    public async Task Shutting_down_during_lameduck()
    {
        var server = await TestDnsServer.StartAsync(".:0 {\n    ready 127.0.0.1:0\n    health 127.0.0.2:0 {\n        lameduck 1s\n    }\n    whoami\n}\n");
        var port = HttpPort(server, "127.0.0.1:0");
        Assert.Equal((HttpStatusCode.OK, "OK"), await GetAsync(port, "/ready"));
        var stopping = server.App.StopAsync();
        await Task.Delay(300);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Shutting down"), await GetAsync(port, "/ready"));
        await stopping;
        await server.DisposeAsync();
    }

    [Fact]
    public void Default_address_is_8181()
    {
        var config = Build(".:53 {\n    ready\n    whoami\n}\n");
        Assert.True(config.HttpRoutes[":8181"].ContainsKey("/ready"));
    }

    [Theory]
    [InlineData("ready a b", "plugin/ready: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b'")]
    [InlineData("ready foo", "plugin/ready: address foo: missing port in address")]
    [InlineData("ready :8181 {\n        monitor\n    }", "plugin/ready: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'monitor'")]
    [InlineData("ready :8181 {\n        monitor sometimes\n    }", "plugin/ready: Corefile:3 - Error during parsing: monitor type 'sometimes' not supported")]
    [InlineData("ready {\n        foo\n    }", "plugin/ready: Corefile:3 - Error during parsing: unknown property 'foo'")]
    [InlineData("ready\n    ready", "plugin/ready: this plugin can only be used once per Server Block")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Ready");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Build(corefile);
        }
    }
}
