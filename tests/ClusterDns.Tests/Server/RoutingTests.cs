using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using DnsClient;

namespace ClusterDns.Tests.Server;

/// <summary>Zone routing across server blocks on one listener, and the replies the server writes itself.</summary>
public sealed class RoutingTests
{
    /// <summary>Every block answers a TXT with its own first zone (the <c>template</c> test plugin).</summary>
    private static readonly IReadOnlyDictionary<string, PluginDescriptor> ZonePlugins = TestPlugins.With(TxtPlugin.Descriptor("template"), ChaosLikePlugin.Descriptor);

    private const string SeveralBlocks = """
        example.org:0 {
            template
        }
        sub.example.org:0 {
            template
        }
        deep.sub.example.org:0 {
            template
        }
        other.net:0 {
        }
        .:0 {
            template
        }
        """;

    [Theory]
    [InlineData("example.org.", "TXT", "NOERROR", "example.org.")]
    [InlineData("www.Example.ORG.", "A", "NOERROR", "example.org.")]
    [InlineData("sub.example.org.", "TXT", "NOERROR", "sub.example.org.")]
    [InlineData("a.b.sub.example.org.", "TXT", "NOERROR", "sub.example.org.")]
    [InlineData("x.deep.sub.example.org.", "TXT", "NOERROR", "deep.sub.example.org.")]
    [InlineData("notexample.org.", "TXT", "NOERROR", ".")] // label boundary: not under example.org
    [InlineData("example.com.", "TXT", "NOERROR", ".")]
    [InlineData(".", "NS", "NOERROR", ".")]
    [InlineData("other.net.", "A", "REFUSED", null)] // the zone's block has no plugins
    [InlineData("www.other.net.", "A", "REFUSED", null)]
    [InlineData("deep.sub.example.org.", "DS", "NOERROR", "example.org.")] // DS goes to the parent-most block
    [InlineData("sub.example.org.", "DS", "NOERROR", "example.org.")]
    [InlineData("example.org.", "DS", "NOERROR", "example.org.")] // only the zone itself matches
    [InlineData("x.sub.example.org.", "DS", "NOERROR", "example.org.")]
    [InlineData("example.com.", "DS", "NOERROR", ".")]
    public async Task Longest_zone_wins_with_ds_to_the_parent_and_root_last(string name, string type, string status, string? zone)
    {
        await using var server = await TestDnsServer.StartAsync(SeveralBlocks, plugins: ZonePlugins);
        var output = await ServerTestKit.DigAsync(server.Port, name, type);
        Assert.Equal(status, output.Status);
        if (zone is null)
        {
            Assert.Empty(output.Answers);
        }
        else
        {
            var answer = Assert.Single(output.Answers);
            Assert.EndsWith($"TXT\t\"{zone}\"", answer, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("example.org:0 {\n    template\n}\n", "other.net.", "REFUSED")] // no block matches, no root block
    [InlineData("example.org:0 {\n    template\n}\n", "org.", "REFUSED")] // parent of the zone is not in it
    [InlineData("example.org:0 {\n    template\n}\n", "www.example.org.", "NOERROR")]
    [InlineData(".:0 {\n}\n", "example.org.", "REFUSED")] // empty root block
    [InlineData("example.org:0 {\n}\n.:0 {\n    template\n}\n", "www.example.org.", "REFUSED")] // empty block is chosen, not skipped
    public async Task Refused_when_nothing_or_an_empty_block_matches(string corefile, string name, string status)
    {
        await using var server = await TestDnsServer.StartAsync(corefile, plugins: ZonePlugins);
        var dig = await ServerTestKit.DigAsync(server.Port, name, "A");
        Assert.Equal(status, dig.Status);
        var client = ServerTestKit.Lookup(server.Port);
        var response = await client.QueryAsync(name, QueryType.A);
        Assert.Equal(status == "REFUSED" ? DnsHeaderResponseCode.Refused : DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
    }

    [Fact]
    public async Task Refused_reply_echoes_id_question_and_opt()
    {
        await using var server = await TestDnsServer.StartAsync("example.org:0 {\n    template\n}\n", plugins: ZonePlugins);
        var query = DnsMessage.CreateQuery("Other.NET.", DnsType.MX, id: 777, ednsSize: 1400, dnssecOk: true).ToArray();
        var reply = DnsMessage.Parse((await server.ExchangeUdpAsync(query))!);
        Assert.Equal(DnsRcode.Refused, reply.Rcode);
        Assert.Equal(777, reply.Header.Id);
        Assert.True(reply.Header.IsResponse);
        Assert.True(reply.Header.RecursionDesired);
        var question = Assert.Single(reply.Questions);
        Assert.Equal("Other.NET.", question.Name.ToString());
        Assert.Equal(DnsType.MX, question.Type);
        Assert.NotNull(reply.Opt);
        Assert.True(reply.Opt.DnssecOk);
    }

    [Theory]
    [InlineData(false, "CH", "REFUSED")]
    [InlineData(false, "HS", "REFUSED")]
    [InlineData(false, "IN", "NOERROR")]
    [InlineData(true, "CH", "NOERROR")]
    [InlineData(true, "HS", "NOERROR")]
    public async Task Non_in_class_is_refused_unless_a_block_on_the_listener_allows_it(bool chaosBlock, string @class, string status)
    {
        // The chaos block is a different zone than the one asked: the class check is per listener, not per block.
        var corefile = ".:0 {\n    template\n}\n" + (chaosBlock ? "bind.:0 {\n    chaos\n}\n" : "");
        await using var server = await TestDnsServer.StartAsync(corefile, plugins: ZonePlugins);
        var output = await ServerTestKit.DigAsync(server.Port, "version.server.", "TXT", "-c", @class);
        Assert.Equal(status, output.Status);
        Assert.Equal(status == "NOERROR" ? 1 : 0, output.Answers.Count);
    }

    [Fact]
    public async Task Chain_that_runs_out_of_plugins_is_servfail_with_no_next_plugin_found()
    {
        var recorder = new ResultRecorder();
        var plugins = TestPlugins.With(
            new PluginDescriptor("errors", _ => [recorder]),
            new PluginDescriptor("template", _ => [new PassPlugin("template")]));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    errors\n    template\n}\n", plugins: plugins);
        var output = await ServerTestKit.DigAsync(server.Port, "example.org.", "A");
        Assert.Equal("SERVFAIL", output.Status);
        Assert.Empty(output.Answers);
        Assert.True(recorder.Results.TryDequeue(out var result));
        Assert.Equal(DnsRcode.ServFail, result.Rcode);
        Assert.Equal("plugin/template: no next plugin found", result.Error);
    }

    [Theory]
    [InlineData("boom.example.")]
    [InlineData("boom-async.example.")]
    public async Task Throwing_plugin_gives_servfail_counts_a_panic_and_the_server_keeps_answering(string name)
    {
        var plugins = TestPlugins.With(
            new PluginDescriptor("template", _ => [new ThrowingPlugin()]),
            TxtPlugin.Descriptor("file"));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    template\n    file ok\n}\n", plugins: plugins);
        var panicsBefore = ServerCounters.Panics;
        foreach (var tcp in new[] { "+notcp", "+tcp" })
        {
            var boom = await ServerTestKit.DigAsync(server.Port, name, "A", tcp);
            Assert.Equal("SERVFAIL", boom.Status);
            var fine = await ServerTestKit.DigAsync(server.Port, "fine.example.", "TXT", tcp);
            Assert.Equal("NOERROR", fine.Status);
            Assert.Single(fine.Answers);
        }
        Assert.True(ServerCounters.Panics >= panicsBefore + 2, $"panics {panicsBefore} -> {ServerCounters.Panics}");
        Assert.True(await Eventually.Holds(() => server.Log.Contains("[ERROR] Recovered from panic in server: \"dns://:0\"", StringComparison.Ordinal)), server.Log);
        Assert.DoesNotContain(" at ", server.Log, StringComparison.Ordinal); // the message only, without `errors { stacktrace }`
    }

    [Theory]
    [InlineData("errors {\n        stacktrace\n    }", true)]
    [InlineData("errors", false)]
    public async Task Errors_stacktrace_adds_the_frames_to_the_panic_log_for_the_whole_listener(string errors, bool frames)
    {
        var plugins = TestPlugins.With(
            new PluginDescriptor("template", _ => [new ThrowingPlugin()]),
            TxtPlugin.Descriptor("file"));
        // The stacktrace block is another zone on the same listener: the panic happens in the other block.
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    template\n}}\nquiet.example:0 {{\n    {errors}\n    file ok\n}}\n", plugins: plugins);
        Assert.Equal("SERVFAIL", (await ServerTestKit.DigAsync(server.Port, "boom.example.", "A", "+notcp")).Status);
        Assert.True(await Eventually.Holds(() => server.Log.Contains("Recovered from panic in server", StringComparison.Ordinal)), server.Log);
        Assert.Equal(frames, server.Log.Contains($" at {typeof(ThrowingPlugin).FullName}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Internal_resolver_queries_the_listeners_own_routes_and_follows_reloads()
    {
        var plugins = TestPlugins.With(
            TestPlugins.Plugin("template", (context, _) => new ResolvingPlugin(context.Resolver)),
            TxtPlugin.Descriptor("file"));
        await using var server = await TestDnsServer.StartAsync(
            "alias.example:0 {\n    template\n}\ntarget.example:0 {\n    file first\n}\n", plugins: plugins);
        var output = await ServerTestKit.DigAsync(server.Port, "alias.example.", "A");
        Assert.Equal("NOERROR", output.Status);
        Assert.EndsWith("\"first\"", Assert.Single(output.Answers), StringComparison.Ordinal);
        Assert.StartsWith("target.example.", Assert.Single(output.Answers), StringComparison.Ordinal);
        await File.WriteAllTextAsync(server.CorefilePath, "alias.example:0 {\n    template\n}\ntarget.example:0 {\n    file second\n}\n");
        Assert.True(await server.App.ReloadAsync());
        output = await ServerTestKit.DigAsync(server.Port, "alias.example.", "A", "+tcp");
        Assert.EndsWith("\"second\"", Assert.Single(output.Answers), StringComparison.Ordinal);
    }
}
