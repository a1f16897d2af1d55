using System.Net;
using ClusterDns.Plugins.Dns64;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Dns64;

/// <summary>
/// dns64 through the real server over real sockets: CoreDNS's dns64_test.go cases (the next handler's AAAA reply, the A
/// reply the lookup through the server gets, the reply the client must see) and the client-family rules.
/// </summary>
[Collection("Prometheus")]
public sealed class Dns64Tests
{
    /// <param name="Directive">The dns64 line(s) of the server block.</param>
    /// <param name="Expected">The client's answers, zone-file lines ("@" = the name); empty = none.</param>
    /// <param name="AQuestions">How many A lookups dns64 must make through the server.</param>
    public sealed record Case(string Label, string Directive, BackendReply? Aaaa, BackendReply? A, DnsRcode Rcode, string[] Expected,
        int Authority = 0, bool Truncated = false, int AQuestions = 1)
    {
        public string Name => Label + ".dns64.test.";

        public override string ToString() => Label;
    }

    private static readonly string[] TwoA = ["@ 60 IN A 192.0.2.42", "@ 5000 IN A 192.0.2.43"];

    public static TheoryData<Case> Cases() => new()
    {
        // dns64_test.go TestDNS64: "standard flow" — no AAAA, A records: synthesized, TTL capped by the SOA's 70.
        new Case("standard-flow", "dns64", new(DnsRcode.NoError, [], SoaTtl: 70), new(DnsRcode.NoError, TwoA),
            DnsRcode.NoError, ["@ 60 IN AAAA 64:ff9b::192.0.2.42", "@ 70 IN AAAA 64:ff9b::192.0.2.43"]),
        // "a empty": neither AAAA nor A: NOERROR, no answers, the A reply's SOA in the authority section.
        new Case("a-empty", "dns64", new(DnsRcode.NoError, [], SoaTtl: 3600), new(DnsRcode.NoError, [], SoaTtl: 3600),
            DnsRcode.NoError, [], Authority: 1),
        // "non-nxdomain error": REFUSED counts as empty; no SOA, so the TTL cap is 600.
        new Case("non-nxdomain-error", "dns64", new(DnsRcode.Refused, []), new(DnsRcode.NoError, TwoA),
            DnsRcode.NoError, ["@ 60 IN AAAA 64:ff9b::192.0.2.42", "@ 600 IN AAAA 64:ff9b::192.0.2.43"]),
        // "nxdomain": returned as it is, no A lookup.
        new Case("nxdomain", "dns64", new(DnsRcode.NXDomain, [], SoaTtl: 3600), new(DnsRcode.NoError, TwoA),
            DnsRcode.NXDomain, [], Authority: 1, AQuestions: 0),
        // "AAAA record": returned as it is, no A lookup.
        new Case("aaaa-record", "dns64", new(DnsRcode.NoError, ["@ 60 IN AAAA ::1", "@ 5000 IN AAAA ::2"]), new(DnsRcode.NoError, TwoA),
            DnsRcode.NoError, ["@ 60 IN AAAA ::1", "@ 5000 IN AAAA ::2"], AQuestions: 0),
        // "truncated A response": the TC bit of the A reply is kept.
        new Case("truncated-a-response", "dns64", new(DnsRcode.NoError, [], SoaTtl: 70), new(DnsRcode.NoError, TwoA, Truncated: true),
            DnsRcode.NoError, ["@ 60 IN AAAA 64:ff9b::192.0.2.42", "@ 70 IN AAAA 64:ff9b::192.0.2.43"], Truncated: true),
        // TestResponseShould with translate_all: an AAAA answer is replaced by the synthesized ones.
        new Case("translate-all", "dns64 {\n        translate_all\n    }", new(DnsRcode.NoError, ["@ 60 IN AAAA ::1"]), new(DnsRcode.NoError, TwoA),
            DnsRcode.NoError, ["@ 60 IN AAAA 64:ff9b::192.0.2.42", "@ 600 IN AAAA 64:ff9b::192.0.2.43"]),
        // translate_all never translates a NameError.
        new Case("translate-all-nxdomain", "dns64 {\n        translate_all\n    }", new(DnsRcode.NXDomain, [], SoaTtl: 30), new(DnsRcode.NoError, TwoA),
            DnsRcode.NXDomain, [], Authority: 1, AQuestions: 0),
        // response.Typify calls NXDOMAIN without an SOA "OtherError", not NameError: CoreDNS translates it.
        new Case("nxdomain-without-soa", "dns64", new(DnsRcode.NXDomain, []), new(DnsRcode.NoError, ["@ 60 IN A 192.0.2.42"]),
            DnsRcode.NoError, ["@ 60 IN AAAA 64:ff9b::192.0.2.42"]),
        // Other answers of the A reply (a CNAME chain) are kept as they are (RFC 6147 5.3.3).
        new Case("cname", "dns64", new(DnsRcode.NoError, [], SoaTtl: 300),
            new(DnsRcode.NoError, ["@ 300 IN CNAME target.dns64.test.", "target.dns64.test. 20 IN A 198.51.100.7"]),
            DnsRcode.NoError, ["@ 300 IN CNAME target.dns64.test.", "target.dns64.test. 20 IN AAAA 64:ff9b::198.51.100.7"]),
        // The reply's rcode is NOERROR whatever the A reply's (CoreDNS builds it with SetReply).
        new Case("a-nxdomain", "dns64", new(DnsRcode.NoError, []), new(DnsRcode.NXDomain, [], SoaTtl: 60),
            DnsRcode.NoError, [], Authority: 1),
        // Nothing written by the next plugin: its SERVFAIL stands, no A lookup.
        new Case("nothing-written", "dns64", null, new(DnsRcode.NoError, TwoA), DnsRcode.ServFail, [], AQuestions: 0),
        // A custom prefix (dns64 [PREFIX] and the block's prefix).
        new Case("custom-prefix", "dns64 64:1337::/96", new(DnsRcode.NoError, []), new(DnsRcode.NoError, ["@ 60 IN A 192.0.2.42"]),
            DnsRcode.NoError, ["@ 60 IN AAAA 64:1337::c000:22a"]),
        new Case("block-prefix", "dns64 {\n        prefix 2001:db8:64::/48\n    }", new(DnsRcode.NoError, []),
            new(DnsRcode.NoError, ["@ 60 IN A 192.0.2.42"]), DnsRcode.NoError, ["@ 60 IN AAAA 2001:db8:64:c000:2:2a00::"]),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Aaaa_over_ipv6_is_answered_as_CoreDNS_does(Case @case)
    {
        Dns64Backend.Set(@case.Name, @case.Aaaa, @case.A);
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {@case.Directive}\n    erratic\n}}\n", plugins: Dns64Backend.Plugins);
        var before = Dns64Backend.AQuestionsFor(@case.Name);
        foreach (var tcp in new[] { false, true })
        {
            var reply = await Dns64Backend.AskAsync(IPAddress.IPv6Loopback, server.Port, @case.Name, DnsType.AAAA, tcp);
            var label = $"{@case} over {(tcp ? "TCP" : "UDP")}/::1: {reply}";
            Assert.True(@case.Rcode == reply.Rcode, label);
            Assert.True(SameAnswers(@case, reply), label);
            Assert.True(@case.Authority == reply.Authorities.Count, label);
            Assert.True(@case.Truncated == reply.Header.Truncated, label);
            Assert.True(reply.Questions.Count == 1 && reply.Questions[0].Type == DnsType.AAAA, label);
        }
        Assert.Equal(2 * @case.AQuestions, Dns64Backend.AQuestionsFor(@case.Name) - before);
    }

    private static bool SameAnswers(Case @case, DnsMessage reply)
    {
        if (@case.Expected.Length != reply.Answers.Count)
        {
            return false;
        }
        for (var i = 0; i < @case.Expected.Length; i++)
        {
            var expected = ZoneText.ParseRecord(@case.Expected[i].Replace("@", @case.Name, StringComparison.Ordinal));
            if (expected != reply.Answers[i] || expected.Ttl != reply.Answers[i].Ttl)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>dns64_test.go TestRequestShouldIntercept: IPv4 clients only with allow_ipv4; other types never. On the
    /// wildcard listener an IPv4 client arrives IPv4-mapped; with <c>bind 127.0.0.1</c> on a plain IPv4 socket.</summary>
    [Theory]
    [InlineData("ipv6-client", "dns64", "::1", DnsType.AAAA, true)]
    [InlineData("ipv6-client-allow-ipv4", "dns64 {\n        allow_ipv4\n    }", "::1", DnsType.AAAA, true)]
    [InlineData("ipv4-client", "dns64", "127.0.0.1", DnsType.AAAA, false)]
    [InlineData("ipv4-client-allow-ipv4", "dns64 {\n        allow_ipv4\n    }", "127.0.0.1", DnsType.AAAA, true)]
    [InlineData("ipv4-client-bound", "bind 127.0.0.1\n    dns64", "127.0.0.1", DnsType.AAAA, false)]
    [InlineData("ipv4-client-bound-allow-ipv4", "bind 127.0.0.1\n    dns64 {\n        allow_ipv4\n    }", "127.0.0.1", DnsType.AAAA, true)]
    [InlineData("ipv6-client-a-query", "dns64 {\n        allow_ipv4\n    }", "::1", DnsType.A, false)]
    public async Task Only_ipv6_clients_are_translated_unless_allow_ipv4(string label, string directives, string client, DnsType type, bool translated)
    {
        var name = label + ".family.dns64.test.";
        Dns64Backend.Set(name, new(DnsRcode.NoError, [], SoaTtl: 30), new(DnsRcode.NoError, ["@ 60 IN A 192.0.2.42"]));
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {directives}\n    erratic\n}}\n", plugins: Dns64Backend.Plugins);
        var reply = await Dns64Backend.AskAsync(IPAddress.Parse(client), server.Port, name, type);
        var expected = type == DnsType.A
            ? "A 192.0.2.42"
            : translated ? "AAAA 64:ff9b::c000:22a" : "none";
        var seen = reply.Answers.Count == 0 ? "none" : string.Join(", ", reply.Answers.Select(a => $"{a.Type.ToText()} {a.DataText()}"));
        Assert.True(expected == seen, $"{label}: expected {expected}, got {seen}");
    }

    /// <summary>dns64_test.go TestTo6 and the other RFC 6052 lengths, through the server.</summary>
    [Theory]
    [InlineData("64:ff9b::/96", "64.64.64.64", "64:ff9b::4040:4040")]
    [InlineData("64:ff9b::/64", "64.64.64.64", "64:ff9b::40:4040:4000:0")]
    [InlineData("64:ff9b::/56", "64.64.64.64", "64:ff9b:0:40:40:4040::")]
    [InlineData("64::/32", "64.64.64.64", "64:0:4040:4040::")]
    [InlineData("2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::")]
    [InlineData("2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::")]
    [InlineData("2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::")]
    [InlineData("2001:db8:122:344::/64", "192.0.2.33", "2001:db8:122:344:c0:2:2100:0")]
    [InlineData("2001:db8:122:344::/96", "192.0.2.33", "2001:db8:122:344::192.0.2.33")]
    public async Task The_prefix_embeds_the_address_as_RFC_6052(string prefix, string ipv4, string expected)
    {
        var name = $"to6-{prefix.Replace(':', '-').Replace('/', '-')}.dns64.test.";
        Dns64Backend.Set(name, new(DnsRcode.NoError, []), new(DnsRcode.NoError, [$"@ 60 IN A {ipv4}"]));
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    dns64 {prefix}\n    erratic\n}}\n", plugins: Dns64Backend.Plugins);
        var reply = await Dns64Backend.AskAsync(IPAddress.IPv6Loopback, server.Port, name, DnsType.AAAA);
        var answer = Assert.IsType<AaaaRecord>(Assert.Single(reply.Answers));
        Assert.Equal(IPAddress.Parse(expected), answer.Address);
    }

    [Fact]
    public async Task Translations_are_counted_per_server()
    {
        var port = ServerTestKit.FreePort();
        const string name = "counted.dns64.test.";
        Dns64Backend.Set(name, new(DnsRcode.NoError, [], SoaTtl: 30), new(DnsRcode.NoError, ["@ 60 IN A 192.0.2.42"]));
        const string kept = "counted-aaaa.dns64.test.";
        Dns64Backend.Set(kept, new(DnsRcode.NoError, ["@ 60 IN AAAA 2001:db8::1"]), null);
        await using var server = await TestDnsServer.StartAsync($".:{port} {{\n    dns64\n    erratic\n}}\n", plugins: Dns64Backend.Plugins);
        await Dns64Backend.AskAsync(IPAddress.IPv6Loopback, port, name, DnsType.AAAA);
        await Dns64Backend.AskAsync(IPAddress.IPv6Loopback, port, name, DnsType.AAAA, tcp: true);
        await Dns64Backend.AskAsync(IPAddress.IPv6Loopback, port, kept, DnsType.AAAA);
        await Dns64Backend.AskAsync(IPAddress.Loopback, port, name, DnsType.AAAA);
        Assert.Equal(2, Dns64Metrics.RequestsTranslated.WithLabels($"dns://:{port}").Value);
        var scrape = new MemoryStream();
        await ClusterDns.Metrics.MetricsRegistry.WriteTextAsync(scrape, CancellationToken.None);
        Assert.Contains($"\ncoredns_dns64_requests_translated_total{{server=\"dns://:{port}\"}} 2\n",
            System.Text.Encoding.UTF8.GetString(scrape.ToArray()));
    }
}
