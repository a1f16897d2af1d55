using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Reload;

public sealed class ReloadTests
{
    private static readonly IReadOnlyDictionary<string, ClusterDns.Server.PluginDescriptor> Plugins =
        TestPlugins.With(TestPlugins.Answering("erratic", args => TestPlugins.Records($"@ 5 IN TXT \"{args[0]}\"")));

    private static string Corefile(string version) => $".:0 {{\n    reload 2s 1s\n    erratic {version}\n}}\n";

    private static async Task<string> AnswerAsync(TestDnsServer server) =>
        ((TxtRecord)(await server.QueryAsync("v.example.", DnsType.TXT)).Answers[0]).Strings[0];

    [Fact]
    public async Task Changed_corefile_is_picked_up_on_the_same_socket()
    {
        await using var server = await TestDnsServer.StartAsync(Corefile("v1"), plugins: Plugins);
        var port = server.Port;
        Assert.Equal("v1", await AnswerAsync(server));
        await File.WriteAllTextAsync(server.CorefilePath, Corefile("v2"));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await AnswerAsync(server) != "v2")
        {
            Assert.True(DateTime.UtcNow < deadline, "reload did not happen within 15 s");
            await Task.Delay(100);
        }
        Assert.Equal(port, server.Port);
        Assert.True(await server.LogContainsAsync("[INFO] plugin/reload: Running configuration SHA512 = "), server.Log);
    }

    [Fact]
    public async Task Broken_corefile_keeps_the_old_configuration()
    {
        await using var server = await TestDnsServer.StartAsync(Corefile("v1"), plugins: Plugins);
        var reloaded = new TaskCompletionSource<bool>();
        server.App.Reloaded += ok => reloaded.TrySetResult(ok);
        await File.WriteAllTextAsync(server.CorefilePath, ".:0 {\n    reload 2s 1s\n    nosuchplugin\n}\n");
        var completed = await Task.WhenAny(reloaded.Task, Task.Delay(TimeSpan.FromSeconds(15)));
        Assert.Same(reloaded.Task, completed);
        Assert.False(await reloaded.Task);
        Assert.Equal("v1", await AnswerAsync(server));
        Assert.True(await server.LogContainsAsync("[ERROR] plugin/reload: Corefile changed but reload failed: "), server.Log);
        Assert.Contains("Corefile:3 - Error during parsing: Unknown directive 'nosuchplugin'", server.Log);
    }

    [Theory]
    [InlineData("reload 1s", "invalid interval value: 1s; minimum is 2s")]
    [InlineData("reload 10s 500ms", "invalid jitter value: 500ms; minimum is 1s")]
    [InlineData("reload 10s 1s 1s", "Wrong argument count")]
    public async Task Bad_arguments_are_refused(string line, string error)
    {
        var exception = await Assert.ThrowsAsync<ClusterDns.Server.ConfigException>(
            () => TestDnsServer.StartAsync($".:0 {{\n    {line}\n    whoami\n}}\n"));
        Assert.StartsWith("plugin/reload: ", exception.Message);
        Assert.Contains(error, exception.Message);
    }
}
