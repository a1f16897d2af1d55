using ClusterDns.Plugins.Local;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Local;

public sealed class LocalTests
{
    private const string LocalSoa = "604800 IN SOA localhost. root.localhost. 1 0 0 0 604800";

    public static TheoryData<string, string, DnsType, DnsRcode, string, string> Cases() => new()
    {
        // local's block, question, type, rcode, answer ("" = none), authority ("" = none). From CoreDNS's local_test.go
        // and local.go (names under .localhost. now get loopback answers).
        { "local", "localhost.", DnsType.A, DnsRcode.NoError, "localhost. 604800 IN A 127.0.0.1", "" },
        { "local", "localHOst.", DnsType.A, DnsRcode.NoError, "localHOst. 604800 IN A 127.0.0.1", "" },
        { "local", "localhost.", DnsType.AAAA, DnsRcode.NoError, "localhost. 604800 IN AAAA ::1", "" },
        { "local", "localhost.", DnsType.NS, DnsRcode.NoError, "localhost. 604800 IN NS localhost.", "" },
        { "local", "localhost.", DnsType.SOA, DnsRcode.NoError, "localhost. " + LocalSoa, "" },
        { "local", "127.in-addr.arpa.", DnsType.A, DnsRcode.NoError, "", "127.in-addr.arpa. " + LocalSoa },
        { "local", "0.in-addr.arpa.", DnsType.SOA, DnsRcode.NoError, "0.in-addr.arpa. " + LocalSoa, "" },
        { "local", "255.in-addr.arpa.", DnsType.NS, DnsRcode.NoError, "255.in-addr.arpa. 604800 IN NS localhost.", "" },
        { "local", "localhost.", DnsType.MX, DnsRcode.NoError, "", "localhost. " + LocalSoa },
        { "local", "a.localhost.", DnsType.A, DnsRcode.NoError, "a.localhost. 604800 IN A 127.0.0.1", "" },
        { "local", "a.localhost.", DnsType.AAAA, DnsRcode.NoError, "a.localhost. 604800 IN AAAA ::1", "" },
        { "local", "a.localhost.", DnsType.MX, DnsRcode.NoError, "", "a.localhost. " + LocalSoa },
        { "local", "1.0.0.127.in-addr.arpa.", DnsType.PTR, DnsRcode.NoError, "1.0.0.127.in-addr.arpa. 604800 IN PTR localhost.", "" },
        { "local", "1.0.0.127.in-addr.arpa.", DnsType.MX, DnsRcode.NoError, "", "127.in-addr.arpa. " + LocalSoa },
        { "local", "2.0.0.127.in-addr.arpa.", DnsType.PTR, DnsRcode.NXDomain, "", "127.in-addr.arpa. " + LocalSoa },
        { "local", "5.255.IN-ADDR.arpa.", DnsType.PTR, DnsRcode.NXDomain, "", "255.IN-ADDR.arpa. " + LocalSoa },
        { "local", "localhost.example.net.", DnsType.A, DnsRcode.NoError, "localhost.example.net. 604800 IN A 127.0.0.1", "" },
        { "local", "localhost.example.net.", DnsType.AAAA, DnsRcode.NoError, "localhost.example.net. 604800 IN AAAA ::1", "" },
        { "local", "localhost.example.net.", DnsType.SOA, DnsRcode.NoError, "", "localhost.example.net. " + LocalSoa },
        // Not local: whoami answers (empty answer section).
        { "local", "example.org.", DnsType.A, DnsRcode.NoError, "", "" },
        { "local", "1.0.0.10.in-addr.arpa.", DnsType.PTR, DnsRcode.NoError, "", "" },
        { "local", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", DnsType.PTR, DnsRcode.NoError, "", "" },
        { "local {\n        localhost_prefix off\n    }", "localhost.example.net.", DnsType.A, DnsRcode.NoError, "", "" },
        { "local {\n        localhost_prefix off\n    }", "a.localhost.", DnsType.A, DnsRcode.NoError, "a.localhost. 604800 IN A 127.0.0.1", "" },
        { "local {\n        localhost_prefix on\n    }", "localhost.example.net.", DnsType.A, DnsRcode.NoError, "localhost.example.net. 604800 IN A 127.0.0.1", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Answers_local_names_like_CoreDNS(string directive, string name, DnsType type, DnsRcode rcode, string answer, string authority)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directive}\n    whoami\n}}\n");
        foreach (var tcp in new[] { false, true })
        {
            var reply = await server.QueryAsync(name, type, tcp);
            var label = $"{directive.Replace('\n', ' ')} / {name} {type} tcp={tcp}";
            Assert.True(rcode == reply.Rcode, $"{label}: rcode {reply.Rcode}");
            Assert.True(Same(answer, reply.Answers), $"{label}: answer {string.Join(" | ", reply.Answers)}");
            Assert.True(Same(authority, reply.Authorities), $"{label}: authority {string.Join(" | ", reply.Authorities)}");
            Assert.False(reply.Header.Authoritative && (answer.Length > 0 || authority.Length > 0), $"{label}: AA set");
        }
    }

    /// <summary>Equal records, owner names compared with their case (CoreDNS answers with the question's spelling).</summary>
    private static bool Same(string expected, List<DnsRecord> actual)
    {
        if (expected.Length == 0)
        {
            return actual.Count == 0;
        }
        var record = ZoneText.ParseRecord(expected);
        return actual.Count == 1 && actual[0] == record && actual[0].Name.ToString() == record.Name.ToString();
    }

    [Fact]
    public async Task Intercepted_names_are_counted_localhost_itself_is_not()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    local\n    whoami\n}\n");
        var before = LocalMetrics.LocalhostRequests.Value;
        await server.QueryAsync("localhost.", DnsType.A);
        Assert.Equal(before, LocalMetrics.LocalhostRequests.Value);
        await server.QueryAsync("web.localhost.", DnsType.A);
        await server.QueryAsync("localhost.svc.cluster.local.", DnsType.A);
        Assert.True(LocalMetrics.LocalhostRequests.Value >= before + 2);
        var scrape = new MemoryStream();
        await ClusterDns.Metrics.MetricsRegistry.WriteTextAsync(scrape, CancellationToken.None);
        Assert.Contains("\ncoredns_local_localhost_requests_total ", System.Text.Encoding.UTF8.GetString(scrape.ToArray()));
    }

    [Theory]
    [InlineData("local foo", "plugin/local: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'foo'")]
    [InlineData("local {\n        foo\n    }", "plugin/local: Corefile:3 - Error during parsing: unknown property 'foo'")]
    [InlineData("local {\n        localhost_prefix\n    }", "plugin/local: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'localhost_prefix'")]
    [InlineData("local {\n        localhost_prefix maybe\n    }", "plugin/local: Corefile:3 - Error during parsing: localhost_prefix expects 'on' or 'off', got \"maybe\"")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }
}
