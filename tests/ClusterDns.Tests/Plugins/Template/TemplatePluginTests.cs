using System.Buffers.Binary;
using System.Text;
using ClusterDns.Plugins.Template;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Template;

/// <summary>
/// The template plugin through the whole server over real sockets: CoreDNS's template_test.go cases and README
/// examples (query → rcode, AA, answer, authority, additional), an AKS-shaped Corefile, the AAAA-blocking recipe,
/// CNAME targets looked up through the server, metrics and setup errors with CoreDNS's texts.
/// </summary>
public sealed class TemplatePluginTests
{
    /// <summary>whoami follows every template: a reply carrying its SRV record means the query was passed on.</summary>
    private const string PassedOn = "passed on";

    private static Task<TestDnsServer> StartAsync(string templates, IReadOnlyDictionary<string, string>? files = null) =>
        TestDnsServer.StartAsync($".:0 {{\n    errors\n{templates}\n    whoami\n}}\n", files);

    private static string Text(DnsRecord r) => $"{r.Name} {r.Ttl} {r.Class.ToText()} {r.Type.ToText()} {r.DataText()}";

    private static string[] Section(IEnumerable<DnsRecord> records) => records.Where(r => r.Type != DnsType.OPT).Select(Text).ToArray();

    public sealed record Case(string Name, string Templates, string Query, DnsType Type, DnsRcode Rcode, string[] Answer,
        string[]? Authority = null, string[]? Additional = null, bool Authoritative = true)
    {
        public override string ToString() => Name;
    }

    private const string IpTemplate = """
            template ANY ANY {
                match "(^|[.])ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$"
                answer "{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                fallthrough
            }
        """;

    public static TheoryData<Case> Cases() =>
    [
        // CoreDNS template_test.go TestHandler.
        new("ExampleDomainMatch", IpTemplate, "ip-10-95-12-8.example.", DnsType.A, DnsRcode.NoError, ["ip-10-95-12-8.example. 60 IN A 10.95.12.8"]),
        new("ExampleDomainNameMismatch", IpTemplate, "test.invalid.", DnsType.A, DnsRcode.NoError, [PassedOn]),
        new("ExampleDomainANSMatch", """
                template ANY ANY {
                    match "(^|[.])ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$"
                    answer "{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                    additional "ns0.example. IN A 203.0.113.8"
                    authority "example. IN NS ns0.example.com."
                    fallthrough
                }
            """, "ip-10-95-12-8.example.", DnsType.A, DnsRcode.NoError, ["ip-10-95-12-8.example. 60 IN A 10.95.12.8"],
            ["example. 3600 IN NS ns0.example.com."], ["ns0.example. 3600 IN A 203.0.113.8"]),
        new("ExampleDomainMXMatch", """
                template ANY ANY {
                    match "(^|[.])ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$"
                    answer "{{ .Name }} 60 MX 10 {{ .Name }}"
                    additional "{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                    fallthrough
                }
            """, "ip-10-95-12-8.example.", DnsType.MX, DnsRcode.NoError, ["ip-10-95-12-8.example. 60 IN MX 10 ip-10-95-12-8.example."],
            [], ["ip-10-95-12-8.example. 60 IN A 10.95.12.8"]),
        new("ExampleInvalidNXDOMAIN", """
                template ANY ANY {
                    match "[.]invalid[.]$"
                    rcode NXDOMAIN
                    answer "invalid. 60 {{ .Class }} SOA a.invalid. b.invalid. (1 60 60 60 60)"
                    fallthrough
                }
            """, "test.invalid.", DnsType.MX, DnsRcode.NXDomain, ["invalid. 60 IN SOA a.invalid. b.invalid. 1 60 60 60 60"]),
        new("RcodeServFail", "    template ANY ANY {\n        rcode SERVFAIL\n    }", "test.invalid.", DnsType.A, DnsRcode.ServFail, [],
            Authoritative: false),
        new("BrokenTemplate", "    template ANY ANY {\n        match [.]example[.]$\n        answer \"{{ .Name }} 60 IN TXT \\\"{{ index .Match 2 }}\\\"\"\n        fallthrough\n    }",
            "test.example.", DnsType.ANY, DnsRcode.ServFail, [], Authoritative: false),
        new("NonRRTemplate", "    template ANY ANY {\n        match [.]example[.]$\n        answer \"{{ .Name }}\"\n        fallthrough\n    }",
            "test.example.", DnsType.ANY, DnsRcode.ServFail, [], Authoritative: false),
        new("NonRRAuthorityTemplate", "    template ANY ANY {\n        match [.]example[.]$\n        authority \"{{ .Name }}\"\n        fallthrough\n    }",
            "test.example.", DnsType.ANY, DnsRcode.ServFail, [], Authoritative: false),
        new("NoRegexMatchWithoutFallthrough", "    template IN A example {\n        match ^ip-.*$\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n    }",
            "other.example.", DnsType.A, DnsRcode.ServFail, [], Authoritative: false),
        // RE2 runs in linear time; here a pathological pattern hits the per-match limit instead of hanging the server.
        new("PathologicalRegexTimesOut", "    template IN A example {\n        match \"^(a+)+$\"\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n    }",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.", DnsType.A, DnsRcode.ServFail, [], Authoritative: false),
        new("OutsideTheZonePassesOn", "    template IN A example {\n        match ^ip-.*$\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n    }",
            "other.test.", DnsType.A, DnsRcode.NoError, [PassedOn]),
        new("OtherTypePassesOn", "    template IN A example {\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n    }",
            "x.example.", DnsType.MX, DnsRcode.NoError, [PassedOn]),
        new("AnyQueryMatchesTypedTemplate", "    template IN A example {\n        answer \"{{ .Name }} 60 IN TXT \\\"{{ .Type }} {{ .Class }} {{ .Zone }}\\\"\"\n    }",
            "x.example.", DnsType.ANY, DnsRcode.NoError, ["x.example. 60 IN TXT \"A IN example.\""]),
        new("FallthroughZonesLimitIt", "    template IN A example {\n        match ^ip-.*$\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n        fallthrough sub.example\n    }",
            "x.example.", DnsType.A, DnsRcode.ServFail, [], Authoritative: false),
        new("FallthroughZonesPassOn", "    template IN A example {\n        match ^ip-.*$\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n        fallthrough sub.example\n    }",
            "x.sub.example.", DnsType.A, DnsRcode.NoError, [PassedOn]),
        // TestMultiSection: REFUSED is written by the template (AA), not by the server.
        new("RcodeRefusedIsWritten", "    template IN A {\n        rcode REFUSED\n    }", "some.test.", DnsType.A, DnsRcode.Refused, []),
        new("NextTemplateAfterFallthrough", """
                template IN ANY . {
                    match ^nowana[.](.*)$
                    answer "{{ .Name }} 60 IN A 1.2.3.4"
                    fallthrough
                }
                template IN ANY . {
                    match ^(www[.])?cnamewitha[.](.*)$
                    answer "{{ .Name }} 60 IN CNAME nowana.com."
                    fallthrough
                }
            """, "www.cnamewitha.com.", DnsType.A, DnsRcode.NoError,
            ["www.cnamewitha.com. 60 IN CNAME nowana.com.", "nowana.com. 60 IN A 1.2.3.4"]),
        // README examples.
        new("ReadmeEverythingNxdomain", "    template ANY ANY {\n        rcode NXDOMAIN\n    }", "anything.at.all.", DnsType.TXT, DnsRcode.NXDomain, []),
        new("ReadmeSearchDomainZone", """
                template IN ANY example.com.dc1.example.com {
                    rcode NXDOMAIN
                    authority "{{ .Zone }} 60 IN SOA ns.example.com hostmaster.example.com (1 60 60 60 60)"
                }
            """, "something.example.com.dc1.example.com.", DnsType.A, DnsRcode.NXDomain, [],
            ["example.com.dc1.example.com. 60 IN SOA ns.example.com. hostmaster.example.com. 1 60 60 60 60"]),
        new("ReadmeSearchDomainRegex", """
                template IN ANY example.com {
                    match "example\.com\.(dc1\.example\.com\.)$"
                    rcode NXDOMAIN
                    authority "{{ index .Match 1 }} 60 IN SOA ns.{{ index .Match 1 }} hostmaster.{{ index .Match 1 }} (1 60 60 60 60)"
                    fallthrough
                }
            """, "something.example.com.dc1.example.com.", DnsType.A, DnsRcode.NXDomain, [],
            ["dc1.example.com. 60 IN SOA ns.dc1.example.com. hostmaster.dc1.example.com. 1 60 60 60 60"]),
        new("ReadmePtr", """
                template IN PTR in-addr.arpa {
                    match ^(?P<d>[0-9]*)[.](?P<c>[0-9]*)[.](?P<b>[0-9]*)[.](?P<a>[0-9]*)[.]in-addr[.]arpa[.]$
                    answer "{{ .Name }} 60 IN PTR ip-{{ .Group.a }}-{{ .Group.b }}-{{ .Group.c }}-{{ .Group.d }}.example."
                }
            """, "4.3.2.1.in-addr.arpa.", DnsType.PTR, DnsRcode.NoError, ["4.3.2.1.in-addr.arpa. 60 IN PTR ip-1-2-3-4.example."]),
        new("ReadmeWildcardA", """
                template IN A example {
                    match (^|[.])ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$
                    answer "{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                    fallthrough
                }
            """, "www.ip-192-0-2-7.example.", DnsType.A, DnsRcode.NoError, ["www.ip-192-0-2-7.example. 60 IN A 192.0.2.7"]),
        new("ReadmeParseIntHex", """
                template IN A example {
                    match "^ip0a(?P<b>[a-f0-9]{2})(?P<c>[a-f0-9]{2})(?P<d>[a-f0-9]{2})[.]example[.]$"
                    answer "{{ .Name }} 60 IN A 10.{{ parseInt .Group.b 16 8 }}.{{ parseInt .Group.c 16 8 }}.{{ parseInt .Group.d 16 8 }}"
                    fallthrough
                }
            """, "ip0a7b7b7b.example.", DnsType.A, DnsRcode.NoError, ["ip0a7b7b7b.example. 60 IN A 10.123.123.123"]),
        new("ReadmeMultiplePatterns", """
                template IN A example {
                    match "^ip-(?P<a>10)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]dc[.]example[.]$"
                    match "^(?P<a>[0-9]*)[.](?P<b>[0-9]*)[.](?P<c>[0-9]*)[.](?P<d>[0-9]*)[.]ext[.]example[.]$"
                    answer "{{ .Name }} 60 IN A {{ .Group.a}}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                    fallthrough
                }
            """, "198.51.100.9.ext.example.", DnsType.A, DnsRcode.NoError, ["198.51.100.9.ext.example. 60 IN A 198.51.100.9"]),
        new("ReadmeAuthoritativeNameservers", """
                template IN MX example {
                    match ^ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$
                    answer "{{ .Name }} 60 IN MX 10 {{ .Name }}"
                    additional "{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"
                    authority  "example. 60 IN NS ns0.example."
                    authority  "example. 60 IN NS ns1.example."
                    additional "ns0.example. 60 IN A 203.0.113.8"
                    additional "ns1.example. 60 IN A 198.51.100.8"
                    fallthrough
                }
            """, "ip-10-1-2-3.example.", DnsType.MX, DnsRcode.NoError, ["ip-10-1-2-3.example. 60 IN MX 10 ip-10-1-2-3.example."],
            ["example. 60 IN NS ns0.example.", "example. 60 IN NS ns1.example."],
            ["ip-10-1-2-3.example. 60 IN A 10.1.2.3", "ns0.example. 60 IN A 203.0.113.8", "ns1.example. 60 IN A 198.51.100.8"]),
        // Fabricated CNAME: its target is looked up through the server (here another template answers it).
        new("ReadmeCnameFollowed", """
                template IN ANY foogle.com {
                    match "^foogle\.com\.$"
                    answer "foogle.com 60 IN CNAME google.com"
                }
                template IN A google.com {
                    answer "google.com. 30 IN A 192.0.2.80"
                }
            """, "foogle.com.", DnsType.A, DnsRcode.NoError, ["foogle.com. 60 IN CNAME google.com.", "google.com. 30 IN A 192.0.2.80"]),
        new("CnameNotFollowedForOtherTypes", """
                template IN ANY foogle.com {
                    answer "foogle.com 60 IN CNAME google.com"
                }
            """, "foogle.com.", DnsType.TXT, DnsRcode.NoError, ["foogle.com. 60 IN CNAME google.com."]),
        // The AAAA-blocking recipe: NODATA for every AAAA, everything else passed on.
        new("BlockAaaa", "    template ANY AAAA {\n        rcode NOERROR\n    }", "www.example.org.", DnsType.AAAA, DnsRcode.NoError, []),
        new("BlockAaaaLeavesA", "    template ANY AAAA {\n        rcode NOERROR\n    }", "www.example.org.", DnsType.A, DnsRcode.NoError, [PassedOn]),
        // Interpreter forms beyond CoreDNS's tests.
        new("DataAndFunctions", """
                template IN TXT example {
                    match "^(?P<host>[a-z]+)-(?P<n>[0-9]+)[.]example[.]$"
                    answer "{{ .Name }} 60 IN TXT \"{{ .Remote }}\" \"{{ printf \"%s/%03d\" .Group.host (parseInt .Group.n 10 16) }}\" \"{{ if eq .Group.host \"web\" }}web{{ else }}other{{ end }}\" \"[{{ .Meta \"kubernetes/client-namespace\" }}]\" \"{{ len .Match }} {{ .Question.Qtype }} {{ .Group.missing }}\""
                }
            """, "web-7.example.", DnsType.TXT, DnsRcode.NoError,
            ["web-7.example. 60 IN TXT \"127.0.0.1\" \"web/007\" \"web\" \"[]\" \"3 16 <no value>\""]),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Answers_like_CoreDNS(Case @case)
    {
        await using var server = await StartAsync(@case.Templates);
        var reply = await server.QueryAsync(@case.Query, @case.Type);
        Assert.True(@case.Rcode == reply.Rcode, $"{@case.Name}: rcode {reply.Rcode}");
        if (@case.Answer is [PassedOn])
        {
            Assert.True(reply.Additionals.Any(r => r.Type == DnsType.SRV), $"{@case.Name}: not passed on to whoami");
            return;
        }
        Assert.True(@case.Authoritative == reply.Header.Authoritative, $"{@case.Name}: AA {reply.Header.Authoritative}");
        Assert.Equal(@case.Answer, Section(reply.Answers));
        Assert.Equal(@case.Authority ?? [], Section(reply.Authorities));
        Assert.Equal(@case.Additional ?? [], Section(reply.Additionals));
        Assert.False(reply.Header.RecursionAvailable, @case.Name);
        // Over TCP the same reply.
        var tcp = await server.QueryAsync(@case.Query, @case.Type, tcp: true);
        Assert.Equal(Section(reply.Answers), Section(tcp.Answers));
        Assert.Equal(reply.Rcode, tcp.Rcode);
    }

    [Fact]
    public async Task Failures_reach_the_errors_plugin_with_Go_texts_and_metrics()
    {
        await using var server = await StartAsync("    template ANY ANY broken.test {\n        authority \"{{ .Name }}\"\n    }\n    template ANY ANY {\n        match [.]example[.]$\n        answer \"{{ .Name }} 60 IN TXT \\\"{{ index .Match 2 }}\\\"\"\n    }");
        var listener = server.Endpoints.Keys.Single();
        var failures = TemplateMetrics.TemplateFailures.WithLabels(listener, ".", "", "IN", "TXT", "answer", "{{.Name}} 60 IN TXT \"{{index .Match 2}}\"");
        var before = failures.Value;
        Assert.Equal(DnsRcode.ServFail, (await server.QueryAsync("test.example.", DnsType.TXT)).Rcode);
        Assert.True(await server.LogContainsAsync(
            "[ERROR] plugin/errors: 2 test.example. TXT: template: answer:1:26: executing \"answer\" at <index .Match 2>: error calling index: index out of range: 2"),
            server.Log);
        Assert.Equal(before + 1, failures.Value);
        var rrFailures = TemplateMetrics.RRFailures.WithLabels(listener, "broken.test.", "", "IN", "A", "authority", "{{.Name}}");
        var rrBefore = rrFailures.Value;
        Assert.Equal(DnsRcode.ServFail, (await server.QueryAsync("x.broken.test.", DnsType.A)).Rcode);
        Assert.Equal(rrBefore + 1, rrFailures.Value);
    }

    [Fact]
    public async Task Matches_are_counted_with_the_query_class_and_type()
    {
        await using var server = await StartAsync("    template IN A counted.test {\n        answer \"{{ .Name }} 5 IN A 192.0.2.1\"\n    }\n    template ANY AAAA {\n        rcode NOERROR\n    }");
        var listener = server.Endpoints.Keys.Single();
        var aaaa = TemplateMetrics.Matches.WithLabels(listener, ".", "", "IN", "AAAA");
        var any = TemplateMetrics.Matches.WithLabels(listener, "counted.test.", "", "IN", "A");
        var (aaaaBefore, anyBefore) = (aaaa.Value, any.Value);
        await server.QueryAsync("one.example.", DnsType.AAAA);
        await server.QueryAsync("two.example.", DnsType.AAAA, tcp: true);
        await server.QueryAsync("x.counted.test.", DnsType.ANY);
        Assert.Equal(aaaaBefore + 2, aaaa.Value);
        Assert.Equal(anyBefore + 1, any.Value);
    }

    [Fact]
    public async Task Ederror_adds_the_extended_error_like_CoreDNS()
    {
        await using var server = await StartAsync("""
                template ANY ANY invalid {
                    rcode NXDOMAIN
                    authority "invalid. 60 {{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)"
                    ederror 21 "Blocked according to RFC2606"
                }
                template ANY ANY static.invalid.test {
                    rcode NXDOMAIN
                    ederror 15
                }
            """);
        var reply = await server.QueryAsync("test.invalid.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, reply.Rcode);
        Assert.Equal(["invalid. 60 IN SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60"], Section(reply.Authorities));
        var option = Assert.Single(reply.Opt!.Options);
        Assert.Equal(15, option.Code);
        Assert.Equal(21, BinaryPrimitives.ReadUInt16BigEndian(option.Data));
        Assert.Equal("Blocked according to RFC2606", Encoding.UTF8.GetString(option.Data, 2, option.Data.Length - 2));
        Assert.Equal(1232, reply.Opt.UdpPayloadSize);
        // CoreDNS's SetEdns0(4096, true) stays in replies to clients without EDNS; the precompiled path agrees.
        var plain = await server.QueryAsync("x.static.invalid.test.", DnsType.A, ednsSize: null);
        Assert.Equal(DnsRcode.NXDomain, plain.Rcode);
        Assert.Equal(4096, plain.Opt!.UdpPayloadSize);
        Assert.True(plain.Opt.DnssecOk);
        var plainOption = Assert.Single(plain.Opt.Options);
        Assert.Equal(15, plainOption.Code);
        Assert.Equal(2, plainOption.Data.Length);
    }

    [Fact]
    public async Task Aks_shaped_corefile_blocks_search_path_noise_and_keeps_cluster_names()
    {
        const string corefile = """
            .:0 {
                errors
                kubernetes cluster.local in-addr.arpa ip6.arpa {
                    snapshot cluster.yaml
                    pods insecure
                    fallthrough in-addr.arpa ip6.arpa
                }
                template ANY ANY internal.cloudapp.net {
                    match "^(?:[^.]+\.){4,}internal\.cloudapp\.net\.$"
                    rcode NXDOMAIN
                    fallthrough
                }
                template ANY ANY reddog.microsoft.com {
                    rcode NXDOMAIN
                }
                template ANY AAAA {
                    rcode NOERROR
                }
                template IN A alias.test {
                    answer "alias.test. 60 IN CNAME web.default.svc.cluster.local."
                }
                whoami
            }
            """;
        await using var server = await TestDnsServer.StartAsync(corefile, new Dictionary<string, string> { ["cluster.yaml"] = Fixtures.Read("snapshot-list.yaml") });
        // A pod's search path glued onto the node's domain: four or more labels before internal.cloudapp.net.
        var noise = await server.QueryAsync("web.default.svc.cluster.local.abc123.internal.cloudapp.net.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, noise.Rcode);
        Assert.True(noise.Header.Authoritative);
        Assert.Empty(noise.Answers);
        Assert.Empty(noise.Authorities);
        // A VM's own name has fewer labels: passed on (whoami stands in for the upstream forward).
        var vm = await server.QueryAsync("vm1.abc123.internal.cloudapp.net.", DnsType.A);
        Assert.Contains(vm.Additionals, r => r.Type == DnsType.SRV);
        Assert.Equal(DnsRcode.NXDomain, (await server.QueryAsync("x.y.reddog.microsoft.com.", DnsType.A)).Rcode);
        // Cluster names still come from kubernetes (it runs after template, for everything template passes on).
        var web = await server.QueryAsync("web.default.svc.cluster.local.", DnsType.A);
        Assert.Equal(["web.default.svc.cluster.local. 5 IN A 10.96.100.20"], Section(web.Answers));
        // ... except AAAA, which the recipe blocks before kubernetes sees it.
        var webAaaa = await server.QueryAsync("web.default.svc.cluster.local.", DnsType.AAAA);
        Assert.Equal(DnsRcode.NoError, webAaaa.Rcode);
        Assert.Empty(webAaaa.Answers);
        // A template CNAME into the cluster is completed through the whole server.
        var alias = await server.QueryAsync("alias.test.", DnsType.A);
        Assert.Equal(["alias.test. 60 IN CNAME web.default.svc.cluster.local.", "web.default.svc.cluster.local. 5 IN A 10.96.100.20"],
            Section(alias.Answers));
    }

    public static TheoryData<string, string> SetupErrors() => new()
    {
        { "template", "plugin/template: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'template'" },
        { "template X", "plugin/template: Corefile:2 - Error during parsing: invalid query class X" },
        { "template ANY", "plugin/template: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'ANY'" },
        { "template ANY X", "plugin/template: Corefile:2 - Error during parsing: invalid RR class X" },
        { "template in a", "plugin/template: Corefile:2 - Error during parsing: invalid query class in" },
        { "template ANY ANY {\n        notavailable\n    }", "plugin/template: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'notavailable'" },
        { "template ANY ANY {\n        answer\n    }", "plugin/template: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'answer'" },
        { "template ANY ANY {\n        match\n    }", "plugin/template: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'match'" },
        { "template ANY ANY {\n        rcode\n    }", "plugin/template: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'rcode'" },
        { "template ANY ANY {\n        rcode UNDEFINED\n    }", "plugin/template: Corefile:3 - Error during parsing: unknown rcode UNDEFINED" },
        { "template ANY ANY {\n        answer \"{{\"\n    }", "plugin/template: Corefile:3 - Error during parsing: could not compile template: {{, template: answer:1: unclosed action" },
        { "template ANY ANY {\n        additional \"{{ foo }}\"\n    }", "plugin/template: Corefile:3 - Error during parsing: could not compile template: {{ foo }}, template: additional:1: function \"foo\" not defined" },
        { "template ANY ANY {\n        authority \"{{ $x }}\"\n    }", "plugin/template: Corefile:3 - Error during parsing: could not compile template: {{ $x }}, template: authority:1: undefined variable \"$x\"" },
        { "template ANY ANY {\n        answer \"{{ if .Name }}x\"\n    }", "plugin/template: Corefile:3 - Error during parsing: could not compile template: {{ if .Name }}x, template: answer:1: unexpected EOF" },
        { "template ANY ANY {\n        ederror x\n    }", "plugin/template: Corefile:3 - Error during parsing: error parsing extended DNS error code x, strconv.ParseUint: parsing \"x\": invalid syntax" },
        { "template ANY ANY {\n        ederror 1 2 3\n    }", "plugin/template: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '3'" },
    };

    [Theory]
    [MemberData(nameof(SetupErrors))]
    public async Task Setup_errors_have_CoreDNS_texts(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public async Task A_bad_regex_is_refused_at_setup()
    {
        var message = await SetupErrorAsync(".:0 {\n    template ANY ANY {\n        match (?P<x>\n    }\n    whoami\n}\n");
        Assert.StartsWith("plugin/template: Corefile:3 - Error during parsing: could not parse regex: (?P<x>, ", message);
        var lookbehind = await SetupErrorAsync(".:0 {\n    template ANY ANY {\n        match (?<=a)b\n    }\n    whoami\n}\n");
        Assert.StartsWith("plugin/template: Corefile:3 - Error during parsing: could not parse regex: (?<=a)b, ", lookbehind);
    }

    [Fact]
    public async Task Upstream_and_several_zones_are_accepted()
    {
        await using var server = await StartAsync("    template ANY ANY a.example b.example {\n        answer \"{{ .Zone }} 5 IN TXT \\\"{{ .Zone }}\\\"\"\n        upstream\n    }");
        Assert.Equal(["b.example. 5 IN TXT \"b.example.\""], Section((await server.QueryAsync("x.b.example.", DnsType.TXT)).Answers));
        Assert.Contains((await server.QueryAsync("x.c.example.", DnsType.TXT)).Additionals, r => r.Type == DnsType.SRV);
    }
}
