using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Hosts;

public sealed class HostsPluginTests
{
    private const string HostsFile = "# comment line\n10.0.0.1 host.example.org alias.example.org # trailing comment\n::1 host.example.org\n10.0.0.2 v4only.example.org\nfe80::1%eth0 zoned.example.org\n::ffff:10.0.0.3 mapped.example.org\n10.0.0.4 outside.test\n01.2.3.4 leadingzero.example.org\nbogus notanip.example.org\n10.0.0.5\n";

    private static Dictionary<string, string> Files(string content = HostsFile) => new() { ["hosts.txt"] = content };

    private static Task<TestDnsServer> StartAsync(string block, string content = HostsFile) =>
        TestDnsServer.StartAsync($".:0 {{\n{block}\n    whoami\n}}\n", Files(content));

    private static string[] Answers(DnsMessage reply) => reply.Answers.Select(r => $"{r.Name} {r.Ttl} {r.Type} {r.DataText()}").ToArray();

    [Fact]
    public async Task Answers_A_and_AAAA_authoritatively_from_the_file()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org");
        var a = await server.QueryAsync("Host.Example.ORG.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, a.Rcode);
        Assert.True(a.Header.Authoritative);
        Assert.Equal(["Host.Example.ORG. 3600 A 10.0.0.1"], Answers(a));
        Assert.DoesNotContain(a.Additionals, r => r.Type != DnsType.OPT);
        var aaaa = await server.QueryAsync("host.example.org.", DnsType.AAAA, tcp: true);
        Assert.Equal(["host.example.org. 3600 AAAA ::1"], Answers(aaaa));
        Assert.Equal(["alias.example.org. 3600 A 10.0.0.1"], Answers(await server.QueryAsync("alias.example.org.", DnsType.A)));
        Assert.Equal(["zoned.example.org. 3600 AAAA fe80::1"], Answers(await server.QueryAsync("zoned.example.org.", DnsType.AAAA)));
        Assert.Equal(["mapped.example.org. 3600 A 10.0.0.3"], Answers(await server.QueryAsync("mapped.example.org.", DnsType.A)));
    }

    [Fact]
    public async Task Synthesises_PTR_even_outside_its_zones()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org");
        var ptr = await server.QueryAsync("1.0.0.10.in-addr.arpa.", DnsType.PTR);
        Assert.True(ptr.Header.Authoritative);
        Assert.Equal(["1.0.0.10.in-addr.arpa. 3600 PTR host.example.org.", "1.0.0.10.in-addr.arpa. 3600 PTR alias.example.org."], Answers(ptr));
        var v6 = await server.QueryAsync("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", DnsType.PTR);
        Assert.Equal(["1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. 3600 PTR host.example.org."], Answers(v6));
        // Unknown address: passed on regardless of fallthrough (whoami answers).
        var unknown = await server.QueryAsync("9.9.9.9.in-addr.arpa.", DnsType.PTR);
        Assert.Empty(unknown.Answers);
        Assert.Contains(unknown.Additionals, r => r.Type == DnsType.SRV);
    }

    [Fact]
    public async Task Names_outside_zones_are_dropped_and_queries_outside_pass_on()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org");
        var outside = await server.QueryAsync("outside.test.", DnsType.A);
        Assert.Empty(outside.Answers);
        Assert.Contains(outside.Additionals, r => r.Type == DnsType.SRV); // whoami
        // Its address got no reverse entry either.
        var ptr = await server.QueryAsync("4.0.0.10.in-addr.arpa.", DnsType.PTR);
        Assert.Contains(ptr.Additionals, r => r.Type == DnsType.SRV);
    }

    public static TheoryData<DnsCase> Nodata() => new()
    {
        new DnsCase("host.example.org.", DnsType.MX) { Authoritative = true },
        new DnsCase("v4only.example.org.", DnsType.AAAA) { Authoritative = true },
        new DnsCase("host.example.org.", DnsType.TXT) { Authoritative = true },
    };

    [Theory]
    [MemberData(nameof(Nodata))]
    public async Task Known_names_with_other_types_get_NODATA(DnsCase c)
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org");
        c.AssertMatches(await server.QueryAsync(c.Name, c.Type));
    }

    public static TheoryData<DnsCase> Unknown() => new()
    {
        new DnsCase("unknown.example.org.", DnsType.A, DnsRcode.ServFail) { Authoritative = false },
        new DnsCase("leadingzero.example.org.", DnsType.A, DnsRcode.ServFail) { Authoritative = false },
        new DnsCase("notanip.example.org.", DnsType.A, DnsRcode.ServFail) { Authoritative = false },
    };

    [Theory]
    [MemberData(nameof(Unknown))]
    public async Task Unknown_names_get_SERVFAIL_without_fallthrough(DnsCase c)
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org");
        c.AssertMatches(await server.QueryAsync(c.Name, c.Type));
    }

    [Fact]
    public async Task Fallthrough_passes_unknown_names_to_the_next_plugin()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org {\n        fallthrough\n    }");
        var reply = await server.QueryAsync("unknown.example.org.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Contains(reply.Additionals, r => r.Type == DnsType.SRV);
        // NODATA does not fall through.
        var nodata = await server.QueryAsync("host.example.org.", DnsType.MX);
        Assert.DoesNotContain(nodata.Additionals, r => r.Type == DnsType.SRV);
    }

    [Fact]
    public async Task Fallthrough_with_zones_only_covers_those_zones()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org {\n        fallthrough sub.example.org\n    }");
        Assert.Contains((await server.QueryAsync("x.sub.example.org.", DnsType.A)).Additionals, r => r.Type == DnsType.SRV);
        Assert.Equal(DnsRcode.ServFail, (await server.QueryAsync("x.example.org.", DnsType.A)).Rcode);
    }

    [Fact]
    public async Task Ttl_and_no_reverse()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org {\n        ttl 60\n        no_reverse\n    }");
        Assert.Equal(["host.example.org. 60 A 10.0.0.1"], Answers(await server.QueryAsync("host.example.org.", DnsType.A)));
        var ptr = await server.QueryAsync("1.0.0.10.in-addr.arpa.", DnsType.PTR);
        Assert.Empty(ptr.Answers);
        Assert.Contains(ptr.Additionals, r => r.Type == DnsType.SRV);
    }

    [Fact]
    public async Task Inline_entries_add_to_the_file_after_its_entries()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org {\n        10.0.0.9 host.example.org\n        10.0.0.10 inline.example.org\n    }");
        Assert.Equal(["host.example.org. 3600 A 10.0.0.1", "host.example.org. 3600 A 10.0.0.9"], Answers(await server.QueryAsync("host.example.org.", DnsType.A)));
        Assert.Equal(["inline.example.org. 3600 A 10.0.0.10"], Answers(await server.QueryAsync("inline.example.org.", DnsType.A)));
        Assert.Equal(["10.0.0.10.in-addr.arpa. 3600 PTR inline.example.org."], Answers(await server.QueryAsync("10.0.0.10.in-addr.arpa.", DnsType.PTR)));
    }

    [Fact]
    public async Task Missing_file_is_tolerated_and_inline_entries_serve()
    {
        await using var server = await StartAsync("    hosts missing.txt {\n        10.0.0.5 a.example.org\n    }");
        Assert.Equal(["a.example.org. 3600 A 10.0.0.5"], Answers(await server.QueryAsync("a.example.org.", DnsType.A)));
        var log = await WaitForLogAsync(server, l => l.Contains("[WARNING]", StringComparison.Ordinal));
        Assert.Contains($"[WARNING] plugin/hosts: File does not exist: {Path.Combine(server.Directory, "missing.txt")}", Lines(log));
    }

    [Fact]
    public async Task File_edits_are_picked_up_on_reload()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org {\n        reload 100ms\n    }");
        Assert.Equal(["host.example.org. 3600 A 10.0.0.1"], Answers(await server.QueryAsync("host.example.org.", DnsType.A)));
        await File.WriteAllTextAsync(Path.Combine(server.Directory, "hosts.txt"), "10.1.1.1 host.example.org\n10.1.1.2 new.example.org\n");
        var deadline = Environment.TickCount64 + 5000;
        string[] answers;
        do
        {
            await Task.Delay(50);
            answers = Answers(await server.QueryAsync("host.example.org.", DnsType.A));
        }
        while (answers[0] != "host.example.org. 3600 A 10.1.1.1" && Environment.TickCount64 < deadline);
        Assert.Equal(["host.example.org. 3600 A 10.1.1.1"], answers);
        Assert.Equal(["new.example.org. 3600 A 10.1.1.2"], Answers(await server.QueryAsync("new.example.org.", DnsType.A)));
        // A deleted file keeps what was served.
        File.Delete(Path.Combine(server.Directory, "hosts.txt"));
        await Task.Delay(300);
        Assert.Equal(["new.example.org. 3600 A 10.1.1.2"], Answers(await server.QueryAsync("new.example.org.", DnsType.A)));
    }

    [Fact]
    public async Task Reload_zero_disables_rereading()
    {
        await using var server = await StartAsync("    hosts hosts.txt example.org {\n        reload 0\n    }");
        await File.WriteAllTextAsync(Path.Combine(server.Directory, "hosts.txt"), "10.1.1.1 host.example.org\n");
        await Task.Delay(300);
        Assert.Equal(["host.example.org. 3600 A 10.0.0.1"], Answers(await server.QueryAsync("host.example.org.", DnsType.A)));
    }

    [Fact]
    public async Task Block_zones_are_the_default_origins()
    {
        await using var server = await TestDnsServer.StartAsync("example.org:0 {\n    hosts hosts.txt\n}\n", Files());
        Assert.Equal(["host.example.org. 3600 A 10.0.0.1"], Answers(await server.QueryAsync("host.example.org.", DnsType.A)));
    }

    [Theory]
    [InlineData("hosts {\n        ttl\n    }", "plugin/hosts: Corefile:3 - Error during parsing: ttl needs a time in second")]
    [InlineData("hosts {\n        ttl abc\n    }", "plugin/hosts: Corefile:3 - Error during parsing: ttl needs a number of second")]
    [InlineData("hosts {\n        ttl 0\n    }", "plugin/hosts: Corefile:3 - Error during parsing: ttl provided is invalid")]
    [InlineData("hosts {\n        ttl 65536\n    }", "plugin/hosts: Corefile:3 - Error during parsing: ttl provided is invalid")]
    [InlineData("hosts {\n        reload\n    }", "plugin/hosts: Corefile:3 - Error during parsing: reload needs a duration (zero seconds to disable)")]
    [InlineData("hosts {\n        reload 1s 2s\n    }", "plugin/hosts: Corefile:3 - Error during parsing: reload needs a duration (zero seconds to disable)")]
    [InlineData("hosts {\n        reload abc\n    }", "plugin/hosts: Corefile:3 - Error during parsing: invalid duration for reload 'abc'")]
    [InlineData("hosts {\n        reload -1s\n    }", "plugin/hosts: Corefile:3 - Error during parsing: invalid negative duration for reload '-1s'")]
    [InlineData("hosts {\n        fallthrough\n        10.0.0.1 late.example.org\n    }", "plugin/hosts: Corefile:4 - Error during parsing: unknown property '10.0.0.1'")]
    [InlineData("hosts\n    hosts", "plugin/hosts: this plugin can only be used once per Server Block")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Hosts");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }
}
