using ClusterDns.Corefile;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

/// <summary>The example Corefiles E1–E20, stored under Examples/.</summary>
public sealed class ExampleCorefileTests
{
    public static TheoryData<string, string> Shapes => new()
    {
        { "E01.Corefile", "dns://.:53 | errors,health,ready,kubernetes,prometheus,forward,cache,loop,reload,loadbalance" },
        { "E02.Corefile", "dns://.:54 | log,errors,kubernetes" },
        { "E03.Corefile", "" },
        { "E04.Corefile", "dns://example.org.:53 dns://org.:53 | whoami" },
        {
            "E05.Corefile",
            "dns://coredns.io.:5300 | file\n" +
            "dns://example.io.:53 | log,errors,file\n" +
            "dns://example.net.:53 | file\n" +
            "dns://.:53 | kubernetes,forward,log,errors,cache"
        },
        { "E06.Corefile", "dns://cluster.local.:53 | kubernetes\ndns://example.local.:53 | forward\ndns://.:53 | forward" },
        { "E07.Corefile", "dns://0.0.10.in-addr.arpa.:53 | whoami\ndns://0.10.in-addr.arpa.:1053 dns://1.10.in-addr.arpa.:1053 | whoami" },
        { "E08.Corefile", "tls://.:853 | tls,forward\nhttps://.:443 | tls,forward\ngrpc://example.org.:1443 | whoami" },
        { "E11.Corefile", "dns://.:1054 | bind,whoami\ndns://.:1054 | bind,whoami" },
        {
            "E12.Corefile",
            "dns://cluster.local.:53 | errors,cache,reload,loop,bind,forward,prometheus,health\n" +
            "dns://in-addr.arpa.:53 | errors,cache,reload,loop,bind,forward,prometheus\n" +
            "dns://.:53 | errors,cache,reload,loop,bind,forward,prometheus"
        },
        { "E13.Corefile", "dns://.:53 | errors,autopath,kubernetes,forward,cache" },
        { "E14.Corefile", "dns://.:53 | rewrite,kubernetes,forward" },
        { "E15.Corefile", "dns://.:53 | hosts,forward" },
        { "E16.Corefile", "dns://.:1053 | whoami,log" },
        { "E17.Corefile", "dns://.:53 | template,forward" },
        { "E18.Corefile", "dns://cluster.local.:53 | errors,kubernetes\ndns://.:53 | errors,forward,cache" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Example_parses_to_expected_blocks(string file, string expected)
    {
        var doc = Parse(ReadExample(file));
        Assert.Equal(expected, Shape(doc));
        Assert.Empty(doc.Warnings);
    }

    [Fact]
    public void E01_directive_tokens_include_blocks_and_braces()
    {
        var block = Assert.Single(Parse(ReadExample("E01.Corefile")).Blocks);
        Assert.Equal("kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure fallthrough in-addr.arpa ip6.arpa ttl 30 }",
            Texts(block.Find("kubernetes")!.Tokens));
        Assert.Equal("cache 30 { disable success cluster.local disable denial cluster.local }", Texts(block.Find("cache")!.Tokens));
        Assert.Equal("prometheus :9153", Texts(block.Find("prometheus")!.Tokens));
        Assert.Equal(("Corefile", 1), (block.File, block.Line));
        var key = Assert.Single(block.Keys);
        Assert.Equal(new ServerKey("dns", ".", 53, true, ".:53"), key);
        Assert.Equal(7, block.Find("kubernetes")!.Tokens[0].Line);
    }

    [Fact]
    public void E02_kubernetes_block_keeps_endpoint()
    {
        var block = Assert.Single(Parse(ReadExample("E02.Corefile")).Blocks);
        Assert.EndsWith("ttl 30 endpoint http://localhost:8001 }", Texts(block.Find("kubernetes")!.Tokens));
    }

    [Fact]
    public void E03_zero_blocks_means_builtin_default_is_used_by_caller()
    {
        Assert.Empty(Parse(ReadExample("E03.Corefile")).Blocks);
        Assert.Empty(Parse("").Blocks);
        // The built-in default itself, with -dns.port 1053.
        Assert.Equal("dns://.:1053 | whoami,log", Shape(Parse(". {\n    whoami\n    log\n}\n", defaultPort: 1053)));
    }

    [Fact]
    public void E04_two_blocks_form_is_equivalent_for_routing()
    {
        var doc = Parse("example.org {\n    whoami\n}\norg {\n    whoami\n}\n");
        Assert.Equal("dns://example.org.:53 | whoami\ndns://org.:53 | whoami", Shape(doc));
    }

    [Fact]
    public void E06_single_block_variant_groups_both_forwards_in_file_order()
    {
        var text = ". {\n    kubernetes cluster.local\n    forward example.local 10.100.0.10:53\n    forward . 8.8.8.8:53\n}\n";
        var block = Assert.Single(Parse(text).Blocks);
        Assert.Equal("kubernetes,forward", string.Join(",", block.Directives.Select(d => d.Name)));
        Assert.Equal("forward example.local 10.100.0.10:53 forward . 8.8.8.8:53", Texts(block.Find("forward")!.Tokens));
    }

    [Fact]
    public void E07_reverse_block_equals_in_addr_block()
    {
        var a = Parse(ReadExample("E07.Corefile")).Blocks[0].Keys.Single();
        var b = Parse("0.0.10.in-addr.arpa {\n    whoami\n}").Blocks[0].Keys.Single();
        Assert.Equal(b.Canonical, a.Canonical);
        Assert.Equal("10.0.0.0/24", a.Original);
    }

    [Fact]
    public void E08_schemes_in_one_key_list_share_the_block()
    {
        var doc = Parse("tls://example.org grpc://example.org {\n    whoami\n}\n");
        Assert.Equal("tls://example.org.:853 grpc://example.org.:443 | whoami", Shape(doc));
        var https = Parse(ReadExample("E08.Corefile")).Blocks[1].Keys.Single();
        Assert.False(https.ExplicitPort);
    }

    [Fact]
    public void E09_environment_variables()
    {
        var env = new Dictionary<string, string> { ["DNS_PORT"] = "1053", ["METRICS_PORT"] = "9253", ["UPSTREAM"] = "1.1.1.1" };
        var block = Assert.Single(Parse(ReadExample("E09.Corefile"), env).Blocks);
        Assert.Equal("dns://.:1053", block.Keys.Single().Canonical);
        Assert.Equal("prometheus localhost:9253", Texts(block.Find("prometheus")!.Tokens));
        Assert.Equal("forward . 1.1.1.1", Texts(block.Find("forward")!.Tokens));

        // Unset UPSTREAM: the argument is an empty token that the forward plugin will reject.
        env.Remove("UPSTREAM");
        var forward = Parse(ReadExample("E09.Corefile"), env).Blocks[0].Find("forward")!;
        Assert.Equal(["forward", ".", ""], forward.Tokens.Select(t => t.Text));

        // Windows-style form works too.
        Assert.Equal("dns://.:1053 | whoami", Shape(Parse(".:{%DNS_PORT%} {\n    whoami\n}", env)));

        // Unset DNS_PORT leaves ".:" which is a key error.
        var error = ParseError(ReadExample("E09.Corefile"));
        Assert.Equal("error inspecting server blocks: expecting data after last colon: \".:\"", error.Message);
    }

    [Fact]
    public void E10_snippets_and_top_level_glob_import()
    {
        var path = Path.Combine(ExamplesDir, "E10.Corefile");
        var doc = CorefileParser.ParseFile(path, Options());
        Assert.Equal("dns://cluster.local.:53 | errors,log,kubernetes\ndns://.:53 | errors,log,forward,cache", Shape(doc));
        Assert.Equal(["No files matching import glob pattern: zones/*.conf"], doc.Warnings);
        Assert.Equal("log . { class denial error }", Texts(doc.Blocks[0].Find("log")!.Tokens));
        Assert.Equal([path], doc.Files);

        using var dir = new TempDir();
        var main = dir.Write("Corefile", File.ReadAllText(path));
        var extra = dir.Write("zones/example.conf", "example.org {\n    import common\n    whoami\n}\n");
        var withZones = CorefileParser.ParseFile(main, Options());
        Assert.Equal("dns://example.org.:53 | errors,log,whoami", Shape(withZones).Split('\n')[2]);
        Assert.Equal([main, extra], withZones.Files);
        Assert.Empty(withZones.Warnings);
    }

    [Fact]
    public void E12_comment_after_brace_is_dropped_and_bind_keeps_both_addresses()
    {
        var blocks = Parse(ReadExample("E12.Corefile")).Blocks;
        Assert.Equal("forward . 10.96.0.42 { force_tcp }", Texts(blocks[0].Find("forward")!.Tokens));
        Assert.Equal("bind 169.254.20.10 10.96.0.10", Texts(blocks[0].Find("bind")!.Tokens));
        Assert.Equal("cache { success 9984 30 denial 9984 5 }", Texts(blocks[0].Find("cache")!.Tokens));
        Assert.Equal("health 169.254.20.10:8080", Texts(blocks[0].Find("health")!.Tokens));
    }

    [Fact]
    public void E15_hosts_inline_entries()
    {
        var hosts = Parse(ReadExample("E15.Corefile")).Blocks[0].Find("hosts")!;
        Assert.Equal("hosts /etc/coredns/customdomains.db example.org { 10.0.0.1 legacy.example.org ttl 60 fallthrough }", Texts(hosts.Tokens));
    }

    [Fact]
    public void E17_template_occurrences_grouped_and_quoted_text_kept()
    {
        var template = Parse(ReadExample("E17.Corefile")).Blocks[0].Find("template")!;
        Assert.Equal(2, template.Tokens.Count(t => t.Text == "template"));
        Assert.Contains(template.Tokens, t => t.Text == "invalid. 60 {{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)");
    }

    public static TheoryData<string, string> E19Errors => new()
    {
        { "health\n\n. {\n    whoami\n}\n", "Corefile:3 - Error during parsing: Unknown directive '.'" },
        { "example.org, {\n    whoami\n}\n", "Corefile:1 - Error during parsing: Expected another address but had '{' - check for extra comma" },
        { ". {\n    whoami\n", "Corefile:2 - Syntax error: Unexpected token 'whoami', expecting '}'" },
        { "(s) {\n    log\n}\n(s) {\n    errors\n}\n", "Corefile:4 - Error during parsing: redeclaration of previously declared snippet s" },
    };

    [Theory]
    [MemberData(nameof(E19Errors))]
    public void E19_errors_you_will_see(string text, string message)
    {
        Assert.Equal(message, ParseError(text).Message);
    }

    [Fact]
    public void E19_file_and_server_level_cases_parse()
    {
        Assert.Equal("Corefile:3 - Error during parsing: Unknown directive '.'", ParseError(ReadExample("E19.Corefile")).Message);
        // Duplicate blocks and double cache are rejected later by the server / the cache plugin, not the parser.
        Assert.Equal("dns://.:53 | \ndns://.:53 | ", Shape(Parse(". { }\n. { }\n")));
        var cache = Parse(". {\n    cache\n    cache\n}\n").Blocks[0].Find("cache")!;
        Assert.Equal("cache cache", Texts(cache.Tokens));
    }

    [Fact]
    public void E20_deployment_template()
    {
        var template = ReadExample("E20.Corefile");
        Assert.Equal("Corefile:18 - Error during parsing: Unknown directive '}STUBDOMAINS'", ParseError(template).Message);

        var filled = template.Replace("CLUSTER_DOMAIN", "cluster.local").Replace("REVERSE_CIDRS", "in-addr.arpa ip6.arpa")
            .Replace("UPSTREAMNAMESERVER", "/etc/resolv.conf");
        Assert.Equal("dns://.:53 | errors,health,ready,kubernetes,prometheus,forward,cache,loop,reload,loadbalance",
            Shape(Parse(filled.Replace("STUBDOMAINS", ""))));

        var withStub = filled.Replace("STUBDOMAINS", " example.local:53 {\n    forward . 10.100.0.10\n}");
        Assert.Equal("dns://example.local.:53 | forward", Shape(Parse(withStub)).Split('\n')[1]);
    }
}
