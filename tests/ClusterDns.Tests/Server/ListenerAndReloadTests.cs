using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>Listeners from server blocks (ports, bind, duplicates) and reloads that swap or keep configurations.</summary>
public sealed class ListenerAndReloadTests
{
    private static readonly IReadOnlyDictionary<string, PluginDescriptor> TxtPlugins = TestPlugins.With(TxtPlugin.Descriptor("template"));

    [Fact]
    public async Task Blocks_on_two_ports_are_two_listeners_each_with_its_own_chain()
    {
        var (first, second) = (ServerTestKit.FreePort(), ServerTestKit.FreePort());
        await using var server = await TestDnsServer.StartAsync(
            $".:{first} {{\n    template one\n}}\n.:{second} {{\n    template two\n}}\nexample.org:{second} {{\n    template three\n}}\n",
            plugins: TxtPlugins);
        Assert.Equal(new[] { $"dns://:{first}", $"dns://:{second}" }.Order(StringComparer.Ordinal), server.Endpoints.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("one", await TxtAsync(first, "example.org."));
        Assert.Equal("two", await TxtAsync(second, "example.com."));
        Assert.Equal("three", await TxtAsync(second, "www.example.org."));
        Assert.Equal("one", await TxtAsync(first, "www.example.org.", tcp: true));
        Assert.Equal("three", await TxtAsync(second, "www.example.org.", tcp: true));
    }

    [Fact]
    public async Task Bound_block_listens_on_that_address_only()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    bind 127.0.0.1\n    template bound\n}\n", plugins: TxtPlugins);
        var (address, endpoint) = Assert.Single(server.Endpoints);
        Assert.Equal("dns://127.0.0.1:0", address);
        Assert.Equal(IPAddress.Loopback, endpoint.Address);
        Assert.Equal("bound", await TxtAsync(endpoint.Port, "example.org."));
        Assert.Equal("bound", await TxtAsync(endpoint.Port, "example.org.", tcp: true));
        // Not on ::1: TCP is refused there (UDP would just time out).
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await v6.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, endpoint.Port)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task Block_bound_to_two_addresses_answers_on_both()
    {
        var port = ServerTestKit.FreePort();
        await using var server = await TestDnsServer.StartAsync($".:{port} {{\n    bind 127.0.0.1 ::1\n    template both\n}}\n", plugins: TxtPlugins);
        Assert.Equal(new[] { $"dns://127.0.0.1:{port}", $"dns://[::1]:{port}" }.Order(StringComparer.Ordinal), server.Endpoints.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("both", await TxtAsync(port, "example.org."));
        var output = await ServerTestKit.RunAsync("dig", ["@::1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+tries=1", "+time=3", "example.org.", "TXT"]);
        Assert.Contains("\"both\"", output.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(".:{0} {{\n    template\n}}\n.:{0} {{\n    template\n}}\n", "cannot serve dns://.:{0} - it is already defined")]
    [InlineData("example.org:{0} {{\n    template\n}}\nexample.org:{0} {{\n}}\n", "cannot serve dns://example.org.:{0} - it is already defined")]
    [InlineData("example.org:{0} Example.Org.:{0} {{\n    template\n}}\n", "cannot serve dns://example.org.:{0} - it is already defined")]
    [InlineData(".:{0} {{\n    bind 127.0.0.1\n    template\n}}\n.:{0} {{\n    template\n}}\n", "cannot serve dns://.:{0} - zone overlap listener capacity with dns://:{0}")]
    public async Task Duplicate_blocks_are_rejected_with_coredns_text(string corefile, string message)
    {
        var port = ServerTestKit.FreePort();
        var error = await Assert.ThrowsAsync<ConfigException>(() => TestDnsServer.StartAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, corefile, port), plugins: TxtPlugins));
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, port), error.Message);
    }

    [Theory]
    [InlineData(".:{0} {{\n    template a\n}}\n.:{1} {{\n    template b\n}}\n")] // same zone, other port
    [InlineData(".:{0} {{\n    bind 127.0.0.1\n    template a\n}}\n.:{0} {{\n    bind ::1\n    template b\n}}\n")] // same zone and port, other address
    public async Task Same_zone_on_distinct_listeners_is_fine(string corefile)
    {
        var (first, second) = (ServerTestKit.FreePort(), ServerTestKit.FreePort());
        await using var server = await TestDnsServer.StartAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, corefile, first, second), plugins: TxtPlugins);
        Assert.Equal(2, server.Endpoints.Count);
        Assert.Equal("a", await TxtAsync(first, "example.org."));
    }

    [Fact]
    public async Task Listen_failure_is_a_config_error()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var error = await Assert.ThrowsAsync<ConfigException>(() => TestDnsServer.StartAsync($".:{port} {{\n    bind 127.0.0.1\n    template\n}}\n", plugins: TxtPlugins));
        Assert.Equal($"listen udp 127.0.0.1:{port}: bind: address already in use", error.Message);
    }

    [Fact]
    public async Task Reload_swaps_answers_on_the_same_port_without_losing_queries()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    template v1\n}\n", plugins: TxtPlugins);
        var port = server.Port;
        var answers = new ConcurrentQueue<string>();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        async Task QueryLoopAsync(bool tcp)
        {
            ushort id = 1;
            while (!stop.IsCancellationRequested)
            {
                var query = DnsMessage.CreateQuery("example.org.", DnsType.TXT, id: id++).ToArray();
                var reply = tcp
                    ? await TestDnsServer.ExchangeTcpAsync(new IPEndPoint(IPAddress.Loopback, port), query)
                    : await TestDnsServer.ExchangeUdpAsync(new IPEndPoint(IPAddress.Loopback, port), query, TimeSpan.FromSeconds(3));
                if (reply is null)
                {
                    failures.Enqueue($"no reply (tcp={tcp})");
                    continue;
                }
                var message = DnsMessage.Parse(reply);
                if (message.Rcode != DnsRcode.NoError || message.Answers.Count != 1)
                {
                    failures.Enqueue($"{message.Rcode} (tcp={tcp})");
                    continue;
                }
                answers.Enqueue(((TxtRecord)message.Answers[0]).Strings[0]);
            }
        }
        var loops = new[] { Task.Run(() => QueryLoopAsync(false)), Task.Run(() => QueryLoopAsync(false)), Task.Run(() => QueryLoopAsync(true)) };
        Assert.True(await Eventually.Holds(() => answers.Count >= 20), "no answers before the reload");
        await File.WriteAllTextAsync(server.CorefilePath, ".:0 {\n    template v2\n}\n");
        Assert.True(await server.App.ReloadAsync());
        var atReload = answers.Count;
        Assert.True(await Eventually.Holds(() => answers.Count >= atReload + 50), "too few answers after the reload");
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        Assert.Empty(failures);
        Assert.Contains("v1", answers);
        Assert.Equal("v2", answers.Last());
        Assert.All(answers, answer => Assert.True(answer is "v1" or "v2", answer));
        Assert.Equal(port, server.Port); // same listener, same sockets
        Assert.True(await Eventually.Holds(() => server.Log.Contains("[INFO] Reloading complete", StringComparison.Ordinal)), server.Log);
    }

    [Theory]
    [InlineData(".:0 {\n    nosuchplugin\n}\n", "Unknown directive 'nosuchplugin'")]
    [InlineData(".:0 {\n    template v2\n", "Syntax error")]
    [InlineData(".:0 {\n    template v2\n}\n.:0 {\n    template v3\n}\n", "it is already defined")]
    public async Task Broken_corefile_on_reload_keeps_the_old_configuration(string corefile, string reason)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    template v1\n}\n", plugins: TxtPlugins);
        var before = server.App.Host.Current;
        await File.WriteAllTextAsync(server.CorefilePath, corefile);
        Assert.False(await server.App.ReloadAsync());
        Assert.Same(before, server.App.Host.Current);
        Assert.Equal("v1", await TxtAsync(server.Port, "example.org."));
        Assert.Equal("v1", await TxtAsync(server.Port, "example.org.", tcp: true));
        Assert.True(await Eventually.Holds(() => server.Log.Contains("[ERROR] plugin/reload: Corefile changed but reload failed: ", StringComparison.Ordinal)), server.Log);
        Assert.Contains(reason, server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_that_cannot_listen_keeps_the_old_configuration_and_a_later_reload_still_works()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    template v1\n}\n", plugins: TxtPlugins);
        var extra = ServerTestKit.FreePort();
        using (var taken = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true })
        {
            taken.Bind(new IPEndPoint(IPAddress.IPv6Any, extra));
            taken.Listen();
            await File.WriteAllTextAsync(server.CorefilePath, $".:0 {{\n    template v2\n}}\n.:{extra} {{\n    template extra\n}}\n");
            Assert.False(await server.App.ReloadAsync());
            Assert.Equal("v1", await TxtAsync(server.Port, "example.org."));
            Assert.Single(server.Endpoints);
            Assert.Contains($"[ERROR] plugin/reload: Corefile changed but reload failed: listen tcp :{extra}: bind: address already in use", server.Log, StringComparison.Ordinal);
        }
        // The port is free now: the same Corefile loads, proving the failed attempt released what it had opened.
        Assert.True(await server.App.ReloadAsync());
        Assert.Equal("v2", await TxtAsync(server.Port, "example.org."));
        Assert.Equal("extra", await TxtAsync(extra, "example.org."));
        // And a reload dropping the block closes its listener.
        await File.WriteAllTextAsync(server.CorefilePath, ".:0 {\n    template v3\n}\n");
        Assert.True(await server.App.ReloadAsync());
        Assert.Equal("v3", await TxtAsync(server.Port, "example.org."));
        Assert.Single(server.Endpoints);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, extra)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task Reload_whose_plugin_fails_to_start_keeps_the_old_configuration()
    {
        var plugins = TestPlugins.With(
            TxtPlugin.Descriptor("template"),
            TestPlugins.Plugin("file", (context, _) =>
            {
                context.AddLifecycle(new FailingLifecycle());
                return new PassPlugin("file");
            }));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    template v1\n}\n", plugins: plugins);
        var extra = ServerTestKit.FreePort();
        await File.WriteAllTextAsync(server.CorefilePath, $".:0 {{\n    template v2\n    file\n}}\n.:{extra} {{\n    template extra\n}}\n");
        Assert.False(await server.App.ReloadAsync());
        Assert.Equal("v1", await TxtAsync(server.Port, "example.org."));
        Assert.Single(server.Endpoints);
        Assert.True(await Eventually.Holds(() => server.Log.Contains("Corefile changed but reload failed", StringComparison.Ordinal)), server.Log);
        // The listener the failed attempt opened was closed again.
        await File.WriteAllTextAsync(server.CorefilePath, $".:0 {{\n    template v2\n}}\n.:{extra} {{\n    template extra\n}}\n");
        Assert.True(await server.App.ReloadAsync());
        Assert.Equal("extra", await TxtAsync(extra, "example.org."));
    }

    private sealed class FailingLifecycle : IPluginLifecycle
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.FromException(new InvalidOperationException("cannot start"));

        public Task StopAsync() => Task.CompletedTask;
    }

    private static async Task<string> TxtAsync(int port, string name, bool tcp = false)
    {
        var output = await ServerTestKit.DigAsync(port, name, "TXT", tcp ? "+tcp" : "+notcp");
        Assert.Equal("NOERROR", output.Status);
        var answer = Assert.Single(output.Answers);
        var quote = answer.IndexOf('"', StringComparison.Ordinal);
        return answer[(quote + 1)..^1];
    }
}
