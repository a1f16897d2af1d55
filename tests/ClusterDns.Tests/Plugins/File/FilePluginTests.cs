using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.ZoneFiles;

public sealed class FilePluginTests
{
    // CoreDNS's plugin/file lookup_test.go zone.
    private const string MiekNl = """
        $TTL    30M
        $ORIGIN miek.nl.
        @       IN      SOA     linode.atoom.net. miek.miek.nl. (
                                     1282630057 ; Serial
                                     4H         ; Refresh
                                     1H         ; Retry
                                     7D         ; Expire
                                     4H )       ; Negative Cache TTL
                        IN      NS      linode.atoom.net.
                        IN      NS      ns-ext.nlnetlabs.nl.
                        IN      NS      omval.tednet.nl.
                        IN      NS      ext.ns.whyscream.net.

                        IN      MX      1  aspmx.l.google.com.
                        IN      MX      5  alt1.aspmx.l.google.com.
                        IN      MX      5  alt2.aspmx.l.google.com.
                        IN      MX      10 aspmx2.googlemail.com.
                        IN      MX      10 aspmx3.googlemail.com.

                        IN      A       139.162.196.78
                        IN      AAAA    2a01:7e00::f03c:91ff:fef1:6735

        a               IN      A       139.162.196.78
                        IN      AAAA    2a01:7e00::f03c:91ff:fef1:6735
        www             IN      CNAME   a
        archive         IN      CNAME   a

        srv             IN      SRV     10 10 8080 a.miek.nl.
        mx              IN      MX      10 a.miek.nl.
        txt             IN      TXT     "v=spf1 -all" "second string" ; a comment
        ext             IN      CNAME   outside.test.
        """;

    private static readonly string[] MiekNs =
    [
        "miek.nl. 1800 IN NS linode.atoom.net.",
        "miek.nl. 1800 IN NS ns-ext.nlnetlabs.nl.",
        "miek.nl. 1800 IN NS omval.tednet.nl.",
        "miek.nl. 1800 IN NS ext.ns.whyscream.net.",
    ];

    private const string MiekSoa = "miek.nl. 1800 IN SOA linode.atoom.net. miek.miek.nl. 1282630057 14400 3600 604800 14400";

    public static TheoryData<DnsCase> MiekCases() => new()
    {
        new DnsCase("www.miek.nl.", DnsType.A) { Answer = ["www.miek.nl. 1800 IN CNAME a.miek.nl.", "a.miek.nl. 1800 IN A 139.162.196.78"], Authority = MiekNs, Authoritative = true },
        new DnsCase("www.miek.nl.", DnsType.AAAA) { Answer = ["www.miek.nl. 1800 IN CNAME a.miek.nl.", "a.miek.nl. 1800 IN AAAA 2a01:7e00::f03c:91ff:fef1:6735"], Authority = MiekNs },
        new DnsCase("www.miek.nl.", DnsType.CNAME) { Answer = ["www.miek.nl. 1800 IN CNAME a.miek.nl."], Authority = MiekNs },
        new DnsCase("miek.nl.", DnsType.SOA) { Answer = [MiekSoa], Authority = MiekNs, Authoritative = true },
        new DnsCase("miek.nl.", DnsType.NS) { Answer = MiekNs },
        new DnsCase("miek.nl.", DnsType.MX)
        {
            Answer =
            [
                "miek.nl. 1800 IN MX 1 aspmx.l.google.com.", "miek.nl. 1800 IN MX 5 alt1.aspmx.l.google.com.",
                "miek.nl. 1800 IN MX 5 alt2.aspmx.l.google.com.", "miek.nl. 1800 IN MX 10 aspmx2.googlemail.com.",
                "miek.nl. 1800 IN MX 10 aspmx3.googlemail.com.",
            ],
            Authority = MiekNs,
        },
        new DnsCase("miek.nl.", DnsType.A) { Answer = ["miek.nl. 1800 IN A 139.162.196.78"], Authority = MiekNs },
        new DnsCase("a.miek.nl.", DnsType.SRV) { Authority = [MiekSoa], Authoritative = true },
        new DnsCase("b.miek.nl.", DnsType.A, DnsRcode.NXDomain) { Authority = [MiekSoa], Authoritative = true },
        new DnsCase("srv.miek.nl.", DnsType.SRV)
        {
            Answer = ["srv.miek.nl. 1800 IN SRV 10 10 8080 a.miek.nl."], Authority = MiekNs,
            Additional = ["a.miek.nl. 1800 IN A 139.162.196.78", "a.miek.nl. 1800 IN AAAA 2a01:7e00::f03c:91ff:fef1:6735"],
        },
        new DnsCase("mx.miek.nl.", DnsType.MX)
        {
            Answer = ["mx.miek.nl. 1800 IN MX 10 a.miek.nl."], Authority = MiekNs,
            Additional = ["a.miek.nl. 1800 IN A 139.162.196.78", "a.miek.nl. 1800 IN AAAA 2a01:7e00::f03c:91ff:fef1:6735"],
        },
        new DnsCase("txt.miek.nl.", DnsType.TXT) { Answer = ["txt.miek.nl. 1800 IN TXT \"v=spf1 -all\" \"second string\""], Authority = MiekNs },
        // The CNAME target outside the zone is resolved through the server (template stands in for the internet).
        new DnsCase("ext.miek.nl.", DnsType.A) { Answer = ["ext.miek.nl. 1800 IN CNAME outside.test.", "outside.test. 60 IN A 192.0.2.99"], Authority = MiekNs },
    };

    [Theory]
    [MemberData(nameof(MiekCases))]
    public async Task Answers_like_CoreDNS_file_lookup_tests(DnsCase c)
    {
        await using var server = await StartAsync(".:0 {\n    file db.miek.nl miek.nl\n    template IN A outside.test {\n        answer \"{{ .Name }} 60 IN A 192.0.2.99\"\n    }\n}\n",
            ("db.miek.nl", MiekNl));
        c.AssertMatches(await server.QueryAsync(c.Name, c.Type));
    }

    private const string ExampleOrg = """
        $ORIGIN example.org.
        @       3600 IN SOA ns1.example.org. admin.example.org. ( 2 3600 600 86400 300 )
                3600 IN NS  ns1
        ns1     3600 IN A   192.0.2.53
        sub     3600 IN NS  ns.sub
        ns.sub  3600 IN A   192.0.2.54
        *.wild  3600 IN A   192.0.2.10
        x.y.ent 3600 IN A   192.0.2.11
        alias   3600 IN CNAME hop1
        hop1    3600 IN CNAME ns1
        """;

    private const string ExampleSoa = "example.org. 3600 IN SOA ns1.example.org. admin.example.org. 2 3600 600 86400 300";

    public static TheoryData<DnsCase> ExampleCases() => new()
    {
        new DnsCase("a.sub.example.org.", DnsType.A) { Authority = ["sub.example.org. 3600 IN NS ns.sub.example.org."], Additional = ["ns.sub.example.org. 3600 IN A 192.0.2.54"], Authoritative = false },
        new DnsCase("sub.example.org.", DnsType.A) { Authority = ["sub.example.org. 3600 IN NS ns.sub.example.org."], Additional = ["ns.sub.example.org. 3600 IN A 192.0.2.54"], Authoritative = false },
        new DnsCase("host.wild.example.org.", DnsType.A) { Answer = ["host.wild.example.org. 3600 IN A 192.0.2.10"], Authority = ["example.org. 3600 IN NS ns1.example.org."], Authoritative = true },
        new DnsCase("host.wild.example.org.", DnsType.MX) { Authority = [ExampleSoa], Authoritative = true },
        new DnsCase("y.ent.example.org.", DnsType.A) { Authority = [ExampleSoa], Authoritative = true },
        new DnsCase("ent.example.org.", DnsType.A) { Authority = [ExampleSoa] },
        new DnsCase("nope.example.org.", DnsType.A, DnsRcode.NXDomain) { Authority = [ExampleSoa] },
        new DnsCase("alias.example.org.", DnsType.A) { Answer = ["alias.example.org. 3600 IN CNAME hop1.example.org.", "hop1.example.org. 3600 IN CNAME ns1.example.org.", "ns1.example.org. 3600 IN A 192.0.2.53"], Authority = ["example.org. 3600 IN NS ns1.example.org."] },
        new DnsCase("example.org.", DnsType.NS) { Answer = ["example.org. 3600 IN NS ns1.example.org."], Additional = ["ns1.example.org. 3600 IN A 192.0.2.53"] },
    };

    [Theory]
    [MemberData(nameof(ExampleCases))]
    public async Task Delegations_wildcards_and_empty_non_terminals(DnsCase c)
    {
        await using var server = await StartAsync("example.org:0 {\n    file db.example.org\n}\n", ("db.example.org", ExampleOrg));
        c.AssertMatches(await server.QueryAsync(c.Name, c.Type));
    }

    [Fact]
    public async Task Names_outside_the_zones_pass_on_and_transfers_need_the_transfer_plugin()
    {
        await using var server = await StartAsync(".:0 {\n    file db.example.org example.org\n    whoami\n}\n", ("db.example.org", ExampleOrg));
        var outside = await server.QueryAsync("other.test.", DnsType.A);
        Assert.Contains(outside.Additionals, r => r.Type == DnsType.SRV);
        Assert.Equal(DnsRcode.Refused, (await server.QueryAsync("example.org.", DnsType.AXFR, tcp: true)).Rcode);
    }

    [Fact]
    public async Task Transfer_streams_the_zone()
    {
        await using var server = await StartAsync("example.org:0 {\n    file db.example.org\n    transfer {\n        to *\n    }\n}\n", ("db.example.org", ExampleOrg));
        var messages = await DnsProbe.TransferAsync(server.Endpoint, DnsMessage.CreateQuery("example.org.", DnsType.AXFR, id: 9));
        var records = messages.SelectMany(m => m.Answers).ToList();
        Assert.IsType<SoaRecord>(records[0]);
        Assert.IsType<SoaRecord>(records[^1]);
        Assert.Equal(10, records.Count); // SOA, 8 other records, SOA
        Assert.Contains(records, r => r.Name.ToString() == "*.wild.example.org." && r.Type == DnsType.A);
    }

    [Fact]
    public async Task Reloads_when_the_SOA_serial_changes()
    {
        static string Zone(uint serial, string address) =>
            $"example.org. 300 IN SOA ns1.example.org. admin.example.org. {serial} 3600 600 86400 300\nexample.org. 300 IN NS ns1.example.org.\na.example.org. 300 IN A {address}\n";
        await using var server = await StartAsync("example.org:0 {\n    file db.example.org {\n        reload 200ms\n    }\n}\n", ("db.example.org", Zone(1, "192.0.2.1")));
        var path = Path.Combine(server.Directory, "db.example.org");
        Assert.Equal("192.0.2.1", Single(await server.QueryAsync("a.example.org.", DnsType.A)));
        // Same serial: the edit is ignored, as CoreDNS does.
        await System.IO.File.WriteAllTextAsync(path, Zone(1, "192.0.2.2"));
        await Task.Delay(1000);
        Assert.Equal("192.0.2.1", Single(await server.QueryAsync("a.example.org.", DnsType.A)));
        // Serial bumped: the new data is served within a few reload intervals.
        await System.IO.File.WriteAllTextAsync(path, Zone(2, "192.0.2.3"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string? address;
        do
        {
            await Task.Delay(100);
            address = Single(await server.QueryAsync("a.example.org.", DnsType.A));
        }
        while (address != "192.0.2.3" && DateTime.UtcNow < deadline);
        Assert.Equal("192.0.2.3", address);
        Assert.True(await server.LogContainsAsync("Successfully reloaded zone \"example.org.\""));
    }

    [Theory]
    [InlineData("file", "plugin/file: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'file'")]
    [InlineData("file db.example.org {\n        bogus\n    }", "plugin/file: Corefile:3 - Error during parsing: unknown property 'bogus'")]
    [InlineData("file missing.db {\n        reload 0\n    }", "plugin/file: open Corefile-dir/missing.db: no such file or directory")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        var exception = await Assert.ThrowsAsync<ClusterDns.Server.ConfigException>(() =>
            StartAsync($"example.org:0 {{\n    {directive}\n}}\n", ("db.example.org", ExampleOrg)));
        var message = System.Text.RegularExpressions.Regex.Replace(exception.Message, @"/\S*?/clusterdns-test-[0-9a-f]+/Corefile", "Corefile");
        message = System.Text.RegularExpressions.Regex.Replace(message, @"/\S*?/clusterdns-test-[0-9a-f]+/", "Corefile-dir/");
        Assert.Equal(expected, message);
    }

    [Fact]
    public async Task A_zone_without_SOA_is_refused()
    {
        var exception = await Assert.ThrowsAsync<ClusterDns.Server.ConfigException>(() =>
            StartAsync("example.org:0 {\n    file db.example.org\n}\n", ("db.example.org", "a.example.org. 300 IN A 192.0.2.1\n")));
        Assert.Contains("has no SOA record for origin example.org.", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("File");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }

    private static string? Single(DnsMessage reply) => reply.Answers.Count == 1 ? reply.Answers[0].DataText() : null;

    private static Task<TestDnsServer> StartAsync(string corefile, params (string Name, string Content)[] files) =>
        TestDnsServer.StartAsync(corefile, files.ToDictionary(f => f.Name, f => f.Content));
}
