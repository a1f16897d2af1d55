using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Debug;

public sealed class DebugPluginTests
{
    private static readonly Dictionary<string, string> Files = new() { ["hosts.txt"] = "10.0.0.1 a.example.org\n" };

    [Fact]
    public async Task Debug_enables_debug_lines()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    debug\n    hosts hosts.txt\n}\n", Files);
        var log = await WaitForLogAsync(server, l => l.Contains("[DEBUG]", StringComparison.Ordinal));
        Assert.Contains("[DEBUG] plugin/hosts: Parsed hosts file into 2 entries", Lines(log));
        Assert.Empty((await server.QueryAsync("a.example.org.", DnsType.MX)).Answers);
    }

    [Fact]
    public async Task Without_debug_there_are_no_debug_lines()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    hosts hosts.txt\n}\n", Files);
        await server.QueryAsync("a.example.org.", DnsType.A);
        await Task.Delay(200);
        Assert.DoesNotContain("[DEBUG]", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_without_debug_turns_debug_lines_off()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    debug\n    whoami\n}\n", Files);
        await File.WriteAllTextAsync(server.CorefilePath, ".:0 {\n    whoami\n}\n");
        Assert.True(await server.App.ReloadAsync());
        // The next configuration's hosts logs its parse at DEBUG during setup: no longer shown.
        await File.WriteAllTextAsync(server.CorefilePath, ".:0 {\n    hosts hosts.txt\n}\n");
        Assert.True(await server.App.ReloadAsync());
        Assert.Empty((await server.QueryAsync("a.example.org.", DnsType.MX)).Answers);
        await Task.Delay(200);
        Assert.DoesNotContain("[DEBUG]", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Debug_takes_no_arguments()
    {
        Assert.Equal("plugin/debug: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'foo'",
            await SetupErrorAsync(".:0 {\n    debug foo\n    whoami\n}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Debug");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Build(corefile);
        }
    }
}
