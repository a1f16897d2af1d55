using ClusterDns.Corefile;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

public sealed class ServerKeyTests
{
    [Theory]
    [InlineData(".", "dns://.:53", false)]
    [InlineData(".:53", "dns://.:53", true)]
    [InlineData("EXAMPLE.org", "dns://example.org.:53", false)]
    [InlineData("example.org.:1053", "dns://example.org.:1053", true)]
    [InlineData("dns://example.org:5353", "dns://example.org.:5353", true)]
    [InlineData("tls://.", "tls://.:853", false)]
    [InlineData("quic://example.org", "quic://example.org.:853", false)]
    [InlineData("grpc://.", "grpc://.:443", false)]
    [InlineData("https://.", "https://.:443", false)]
    [InlineData("https3://.", "https3://.:443", false)]
    [InlineData("https://.:8443", "https://.:8443", true)]
    [InlineData("10.0.0.0/24", "dns://0.0.10.in-addr.arpa.:53", false)]
    [InlineData("10.0.0.0/8:1053", "dns://10.in-addr.arpa.:1053", true)]
    [InlineData("2001:db8::/32:53", "dns://8.b.d.0.1.0.0.2.ip6.arpa.:53", true)]
    [InlineData("tls://10.0.0.0/15", "tls://0.10.in-addr.arpa.:853 tls://1.10.in-addr.arpa.:853", false)]
    [InlineData("in-addr.arpa", "dns://in-addr.arpa.:53", false)]
    [InlineData("10.0.0.1", "dns://10.0.0.1.:53", false)]
    public void Key_normalisation(string key, string canonical, bool explicitPort)
    {
        var block = Assert.Single(Parse(key + " {\n}\n").Blocks);
        Assert.Equal(canonical, string.Join(" ", block.Keys.Select(k => k.Canonical)));
        Assert.All(block.Keys, k => Assert.Equal(explicitPort, k.ExplicitPort));
        Assert.All(block.Keys, k => Assert.Equal(key, k.Original));
    }

    [Fact]
    public void Default_port_only_applies_to_dns_keys_without_a_port()
    {
        var doc = Parse(". tls://. example.org:53 {\n}\n", defaultPort: 1053);
        Assert.Equal("dns://.:1053 tls://.:853 dns://example.org.:53 | ", Shape(doc));
    }

    [Theory]
    [InlineData("example.org, example.net {\n}\n")]
    [InlineData("example.org,\n    example.net {\n}\n")]
    [InlineData("example.org,\nexample.net\n{\n}\n")]
    [InlineData("example.org example.net\n")]
    public void Key_lists(string text)
    {
        Assert.Equal("dns://example.org.:53 dns://example.net.:53 | ", Shape(Parse(text)));
    }

    [Fact]
    public void Close_and_open_on_one_line()
    {
        var doc = Parse("a.org {\n    whoami\n} b.org {\n    log\n}\n");
        Assert.Equal("dns://a.org.:53 | whoami\ndns://b.org.:53 | log", Shape(doc));
        Assert.Equal(3, doc.Blocks[1].Line);
    }

    [Fact]
    public void Braceless_single_block()
    {
        Assert.Equal("dns://.:1053 | whoami,log", Shape(Parse(".:1053\nwhoami\nlog\n")));
        Assert.Equal("dns://example.org.:53 | ", Shape(Parse("example.org")));
    }

    [Fact]
    public void Surplus_closing_brace_is_accepted_with_a_warning()
    {
        var doc = Parse(". {\n    whoami\n}\n}\n");
        Assert.Equal("dns://.:53 | whoami", Shape(doc));
        Assert.Equal(["Corefile:4 - Unexpected '}' ignored: no matching opening brace"], doc.Warnings);
    }

    [Fact]
    public void Empty_block_and_empty_string_key()
    {
        Assert.Equal("dns://.:53 | ", Shape(Parse(". { }")));
        Assert.Equal("dns://.:53 | whoami", Shape(Parse("\"\" . {\n    whoami\n}")));
    }

    [Fact]
    public void Brace_on_next_line_is_swallowed_into_the_directive()
    {
        var cache = Parse(". {\n    cache 30\n    {\n        success 10\n    }\n}\n").Blocks[0].Find("cache")!;
        Assert.Equal("cache 30 { success 10 }", Texts(cache.Tokens));
    }

    [Fact]
    public void Deep_nesting_in_a_directive()
    {
        var rewrite = Parse(". {\n    rewrite stop {\n        name regex (.*)\\.a {1}.b\n        answer name (.*)\\.b {1}.a\n    }\n    view v {\n        expr {\n            inner {\n            }\n        }\n    }\n}\n").Blocks[0];
        Assert.Equal("rewrite stop { name regex (.*)\\.a {1}.b answer name (.*)\\.b {1}.a }", Texts(rewrite.Find("rewrite")!.Tokens));
        Assert.Equal("view v { expr { inner { } } }", Texts(rewrite.Find("view")!.Tokens));
    }
}
