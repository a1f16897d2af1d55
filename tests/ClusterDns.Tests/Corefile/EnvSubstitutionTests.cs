using ClusterDns.Corefile;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

public sealed class EnvSubstitutionTests
{
    private static readonly Dictionary<string, string> Env = new() { ["A"] = "x", ["B"] = "y", ["PORT"] = "1053", ["LOOP"] = "{$LOOP}" };

    [Theory]
    [InlineData("{$A}", "x")]
    [InlineData("{%A%}", "x")]
    [InlineData("{$A}.{$B}", "x.y")]
    [InlineData("localhost:{$PORT}", "localhost:1053")]
    [InlineData("{$A}{$A}-{%B%}", "xx-y")]
    [InlineData("{$UNSET}", "")]
    [InlineData("pre{%UNSET%}post", "prepost")]
    [InlineData("{env.A}", "{env.A}")]
    [InlineData("{type}", "{type}")]
    [InlineData("{>id}", "{>id}")]
    [InlineData("{1}", "{1}")]
    [InlineData("{{$var}}", "{}")]
    [InlineData("{{ $var }}", "{{ $var }}")]
    [InlineData("{$}", "{$}")]
    [InlineData("{$A", "{$A")]
    [InlineData("{$LOOP}", "{$LOOP}")]
    public void Environment_placeholders_are_replaced(string input, string expected)
    {
        Assert.Equal(expected, EnvSubstitution.Replace(input, n => Env.TryGetValue(n, out var v) ? v : null));
    }

    [Fact]
    public void Applies_to_keys_directive_names_and_nested_tokens()
    {
        var env = new Dictionary<string, string> { ["ZONE"] = "Example.ORG", ["PLUGIN"] = "forward", ["UP"] = "9.9.9.9", ["MAX"] = "7" };
        var block = Assert.Single(Parse("{$ZONE}:{$PORT} {\n    {$PLUGIN} . {$UP} {\n        max_concurrent {%MAX%}\n    }\n}\n",
            new Dictionary<string, string>(env) { ["PORT"] = "5300" }).Blocks);
        Assert.Equal("dns://example.org.:5300", block.Keys.Single().Canonical);
        Assert.Equal("forward . 9.9.9.9 { max_concurrent 7 }", Texts(block.Find("forward")!.Tokens));
    }

    [Fact]
    public void Key_that_becomes_empty_is_dropped()
    {
        var doc = Parse("{$UNSET} {\n    whoami\n}\n. {$ALSO_UNSET} {\n    log\n}\n");
        Assert.Equal("dns://.:53 | log", Shape(doc));
    }

    [Fact]
    public void Snippet_body_is_substituted_when_expanded()
    {
        var env = new Dictionary<string, string> { ["UP"] = "1.1.1.1" };
        var doc = Parse("(fwd) {\n    forward . {$UP}\n}\n. {\n    import fwd\n}\n", env);
        Assert.Equal("forward . 1.1.1.1", Texts(doc.Blocks[0].Find("forward")!.Tokens));
    }
}
