using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Loop;

public sealed class LoopTests
{
    [Fact]
    public async Task A_forwarding_loop_is_fatal_with_coredns_message()
    {
        var fatal = new TaskCompletionSource<string>();
        TestDnsServer? self = null;
        var plugins = TestPlugins.With(TestPlugins.Relay("forward", () => self?.Endpoint));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    loop\n    forward\n}\n", plugins: plugins,
            configure: services => services.Fatal = message => fatal.TrySetResult(message));
        self = server;
        var completed = await Task.WhenAny(fatal.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.Same(fatal.Task, completed);
        Assert.Matches(@"^plugin/loop: Loop \(127\.0\.0\.1:\d+ -> :\d+\) detected for zone ""\."", see https://coredns\.io/plugins/loop#troubleshooting\. Query: ""HINFO \d+\.\d+\.""$", await fatal.Task);
    }

    [Fact]
    public async Task No_loop_no_fatal_and_queries_pass()
    {
        var fatal = false;
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    loop\n    whoami\n}\n",
            configure: services => services.Fatal = _ => fatal = true);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(DnsRcode.NoError, (await server.QueryAsync("a.example.", DnsType.HINFO)).Rcode);
            await Task.Delay(100);
        }
        Assert.False(fatal);
    }
}
