using ClusterDns.Plugins.Chaos;
using ClusterDns.Protocol;
using ClusterDns.Tests.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Chaos;

public sealed class ChaosTests
{
    private static string Host => System.Net.Dns.GetHostName();

    public static TheoryData<string, string, DnsType, string, string[]> Cases() => new()
    {
        // directive, question, type, rcode, TXT answers (in order unless several)
        { "chaos CoreDNS-001 \"Miek Gieben\"", "version.bind.", DnsType.TXT, "NOERROR", ["CoreDNS-001"] },
        { "chaos CoreDNS-001 \"Miek Gieben\"", "version.server.", DnsType.TXT, "NOERROR", ["CoreDNS-001"] },
        { "chaos CoreDNS-001 \"Miek Gieben\"", "VERSION.Bind.", DnsType.TXT, "NOERROR", ["CoreDNS-001"] },
        { "chaos CoreDNS-001 \"Miek Gieben\"", "authors.bind.", DnsType.TXT, "NOERROR", ["Miek Gieben"] },
        { "chaos v3 b a b", "authors.bind.", DnsType.TXT, "NOERROR", ["a", "b"] },
        { "chaos v2", "authors.bind.", DnsType.TXT, "NOERROR", ["ClusterDns maintainers"] },
        { "chaos v2", "version.bind.", DnsType.TXT, "NOERROR", ["v2"] },
        { "chaos", "version.bind.", DnsType.TXT, "NOERROR", [ChaosSetup.DefaultVersion] },
        { "chaos", "hostname.bind.", DnsType.TXT, "NOERROR", ["<host>"] },
        { "chaos", "id.server.", DnsType.TXT, "NOERROR", ["<host>"] },
        // Not ours: the next plugin (whoami) answers with an empty answer section.
        { "chaos", "authors.bind.", DnsType.SRV, "NOERROR", [] },
        { "chaos", "other.bind.", DnsType.TXT, "NOERROR", [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Answers_CH_TXT_like_CoreDNS(string directive, string name, DnsType type, string rcode, string[] answers)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directive}\n    whoami\n}}\n");
        var dig = await ServerTestKit.DigAsync(server.Port, "+norecurse", "-c", "CH", "-t", type.ToText(), name);
        var label = $"{directive} / {name} {type}";
        Assert.True(rcode == dig.Status, $"{label}: {dig.Text}");
        var expected = answers.Select(a => a == "<host>" ? Host : a).ToArray();
        var txt = dig.Answers.Select(line => line.Split('\t', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.True(expected.Length == txt.Count, $"{label}: {dig.Text}");
        Assert.All(txt, fields =>
        {
            Assert.Equal(name, fields[0]);
            Assert.Equal(["0", "CH", "TXT"], fields[1..4]);
        });
        var texts = txt.Select(fields => fields[4].Trim('"')).ToArray();
        Assert.Equal(expected.Order(StringComparer.Ordinal), texts.Order(StringComparer.Ordinal));
        if (expected.Length > 0)
        {
            Assert.False(dig.Flags.Contains("aa"), $"{label}: AA set");
        }
    }

    [Fact]
    public async Task Openshift_hostname_block_answers_and_IN_is_unaffected()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\nhostname.bind:0 {\n    chaos\n}\n");
        var dig = await ServerTestKit.DigAsync(server.Port, "-c", "CH", "-t", "TXT", "hostname.bind");
        Assert.Equal("NOERROR", dig.Status);
        Assert.Equal($"\"{Host}\"", dig.Answers.Single().Split('\t', StringSplitOptions.RemoveEmptyEntries)[4]);
    }

    [Fact]
    public async Task Without_chaos_class_CH_is_refused()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\n");
        var dig = await ServerTestKit.DigAsync(server.Port, "-c", "CH", "-t", "TXT", "version.bind");
        Assert.NotEqual("NOERROR", dig.Status);
    }

    [Fact]
    public void Long_authors_and_versions_are_cut_as_CoreDNS_cuts_them()
    {
        var long300 = new string('a', 300);
        Assert.Equal(255, ChaosSetup.Trim(long300).Length);
        Assert.Equal("short", ChaosSetup.Trim("short"));
    }

    [Theory]
    [InlineData("chaos v2 {\n        unknown\n    }", "plugin/chaos: Corefile:3 - Error during parsing: unknown property 'unknown'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }
}
