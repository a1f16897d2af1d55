using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Errors;

public sealed class ErrorsPluginTests
{
    [Theory]
    [InlineData("errors")]
    [InlineData("errors stdout")]
    [InlineData("errors {\n        stacktrace\n    }")]
    [InlineData("errors {\n        panicRecoveryStacktrace\n        consolidate 1m ^exact$\n    }")]
    [InlineData("errors {\n        consolidate 1m error\n    }")]
    [InlineData("errors {\n        consolidate 1m \"format error\" warning\n    }")]
    [InlineData("errors {\n        consolidate 1m error1 info show_first\n        consolidate 5s error2 debug\n    }")]
    [InlineData("errors {\n        consolidate 1m30s error show_first\n    }")]
    public async Task Valid_options_are_accepted(string directive)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directive}\n    whoami\n}}\n");
        Assert.Equal(DnsRcode.NoError, (await server.QueryAsync("example.org.", DnsType.A)).Rcode);
    }

    [Theory]
    [InlineData("errors errors.txt", "plugin/errors: Corefile:2 - Error during parsing: invalid log file: errors.txt")]
    [InlineData("errors a b", "plugin/errors: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b'")]
    [InlineData("errors {\n        log visible\n    }", "plugin/errors: Corefile:3 - Syntax error: Unexpected token 'log', expecting 'Unknown field log'")]
    [InlineData("errors {\n        consolidate\n    }", "plugin/errors: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'consolidate'")]
    [InlineData("errors {\n        consolidate 1m\n    }", "plugin/errors: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '1m'")]
    [InlineData("errors {\n        consolidate 1m .* error show_first extra\n    }", "plugin/errors: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'extra'")]
    [InlineData("errors {\n        consolidate abc .*\n    }", "plugin/errors: Corefile:3 - Error during parsing: time: invalid duration \"abc\"")]
    [InlineData("errors {\n        consolidate 1 .*\n    }", "plugin/errors: Corefile:3 - Error during parsing: time: missing unit in duration \"1\"")]
    [InlineData("errors {\n        consolidate 1x .*\n    }", "plugin/errors: Corefile:3 - Error during parsing: time: unknown unit \"x\" in duration \"1x\"")]
    [InlineData("errors {\n        consolidate 1m .* extra\n    }", "plugin/errors: Corefile:3 - Error during parsing: unknown log level argument in consolidate: extra")]
    [InlineData("errors {\n        consolidate 1m .* info warning\n    }", "plugin/errors: Corefile:3 - Error during parsing: multiple log levels specified in consolidate")]
    [InlineData("errors\n    errors", "plugin/errors: this plugin can only be used once per Server Block")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public async Task Bad_regexp_is_a_parse_error()
    {
        var message = await SetupErrorAsync(".:0 {\n    errors {\n        consolidate 1m ())\n    }\n}\n");
        Assert.StartsWith("plugin/errors: Corefile:3 - Error during parsing: error parsing regexp: ", message);
    }

    [Fact]
    public async Task Logs_the_returned_error_with_rcode_lower_case_name_and_type()
    {
        // errors is the end of the chain here, so CoreDNS's "no next plugin found" is what it sees.
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    errors\n}\n");
        var reply = await server.QueryAsync("Example.ORG.", DnsType.AAAA);
        Assert.Equal(DnsRcode.ServFail, reply.Rcode);
        var log = await WaitForLogAsync(server, l => l.Contains("[ERROR]", StringComparison.Ordinal));
        Assert.Contains("[ERROR] plugin/errors: 2 example.org. AAAA: plugin/errors: no next plugin found", Lines(log));
    }

    [Fact]
    public async Task Errors_from_inner_plugins_are_logged_and_reply_untouched()
    {
        var plugins = ErraticTestPlugin.With(request =>
        {
            request.Response.Write(request.CreateReply(DnsRcode.NXDomain), "erratic");
            return new ClusterDns.Server.DnsResult(DnsRcode.NXDomain, "read udp 10.0.0.1:53->8.8.8.8:53: i/o timeout");
        });
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    errors\n    erratic\n}\n", plugins: plugins);
        var reply = await server.QueryAsync("a.example.org.", DnsType.MX);
        Assert.Equal(DnsRcode.NXDomain, reply.Rcode);
        var log = await WaitForLogAsync(server, l => l.Contains("[ERROR]", StringComparison.Ordinal));
        Assert.Contains("[ERROR] plugin/errors: 3 a.example.org. MX: read udp 10.0.0.1:53->8.8.8.8:53: i/o timeout", Lines(log));
    }

    [Fact]
    public async Task No_error_no_line()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    errors\n    whoami\n}\n");
        await server.QueryAsync("example.org.", DnsType.A);
        await Task.Delay(100);
        Assert.DoesNotContain("plugin/errors", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "[ERROR]")]
    [InlineData(" warning", "[WARNING]")]
    [InlineData(" info", "[INFO]")]
    public async Task Consolidate_counts_and_prints_one_summary_per_period(string level, string prefix)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    errors {{\n        consolidate 300ms \"no next plugin\"{level}\n    }}\n}}\n");
        for (var i = 0; i < 3; i++)
        {
            await server.QueryAsync("example.org.", DnsType.A);
        }
        var log = await WaitForLogAsync(server, l => l.Contains("errors like", StringComparison.Ordinal));
        Assert.Contains($"{prefix} plugin/errors: 3 errors like 'no next plugin' occurred in last 300ms", Lines(log));
        Assert.DoesNotContain("no next plugin found", log, StringComparison.Ordinal);
        // A new period starts with the next error.
        await server.QueryAsync("example.org.", DnsType.A);
        log = await WaitForLogAsync(server, l => l.Contains("1 errors like", StringComparison.Ordinal));
        Assert.Contains($"{prefix} plugin/errors: 1 errors like 'no next plugin' occurred in last 300ms", Lines(log));
    }

    [Fact]
    public async Task Consolidate_first_matching_rule_wins_and_others_log_normally()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    errors {\n        consolidate 300ms ^plugin/errors\n        consolidate 300ms next\n    }\n}\n");
        await server.QueryAsync("example.org.", DnsType.A);
        var log = await WaitForLogAsync(server, l => l.Contains("errors like", StringComparison.Ordinal));
        Assert.Contains("[ERROR] plugin/errors: 1 errors like '^plugin/errors' occurred in last 300ms", Lines(log));
        Assert.DoesNotContain("errors like 'next'", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_first_logs_the_first_error_then_a_summary_only_when_more_followed()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    errors {\n        consolidate 300ms \"no next\" show_first\n    }\n}\n");
        await server.QueryAsync("example.org.", DnsType.A);
        await server.QueryAsync("example.net.", DnsType.A);
        var log = await WaitForLogAsync(server, l => l.Contains("errors like", StringComparison.Ordinal));
        var lines = Lines(log);
        Assert.Contains("[ERROR] plugin/errors: 2 example.org. A: plugin/errors: no next plugin found", lines);
        Assert.DoesNotContain("[ERROR] plugin/errors: 2 example.net. A: plugin/errors: no next plugin found", lines);
        Assert.Contains("[ERROR] plugin/errors: 2 errors like 'no next' occurred in last 300ms", lines);
        // A lone error: shown, and no summary.
        await server.QueryAsync("example.com.", DnsType.A);
        await Task.Delay(600);
        Assert.Contains("[ERROR] plugin/errors: 2 example.com. A: plugin/errors: no next plugin found", Lines(server.Log));
        Assert.DoesNotContain("1 errors like", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pending_summaries_are_flushed_on_shutdown()
    {
        var server = await TestDnsServer.StartAsync(".:0 {\n    errors {\n        consolidate 1h \"no next\"\n    }\n}\n");
        await server.QueryAsync("example.org.", DnsType.A);
        await server.QueryAsync("example.org.", DnsType.A);
        await server.DisposeAsync();
        var log = await WaitForLogAsync(server, l => l.Contains("errors like", StringComparison.Ordinal));
        Assert.Contains("[ERROR] plugin/errors: 2 errors like 'no next' occurred in last 1h0m0s", Lines(log));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Errors");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }
}
