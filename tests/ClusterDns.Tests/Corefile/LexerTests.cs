using ClusterDns.Corefile;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

public sealed class LexerTests
{
    public static TheoryData<string, string[]> Cases => new()
    {
        { "a b\tc\n d", ["a@1", "b@1", "c@1", "d@2"] },
        { "\uFEFF.:53 {\r\n  whoami\r\n}\r\n", [".:53@1", "{@1", "whoami@2", "}@3"] },
        { "a # comment { }\nb", ["a@1", "b@2"] },
        { "# whole line\n\n  x", ["x@3"] },
        // '#' mid-token: the token ends there; Go's comment flag only lives until the token is emitted.
        { "foo#bar\nnext", ["foo@1", "next@2"] },
        { "foo#bar baz", ["foo@1", "baz@1"] },
        { "example.org{", ["example.org{@1"] },
        { "{a} }b {", ["{a}@1", "}b@1", "{@1"] },
        { "\"a b\" \"x\\\"y\" \"\\d+\" \"a\\\\b\"", ["a b@1", "x\"y@1", "\\d+@1", "a\\\\b@1"] },
        { "ab\"c d\"", ["ab\"c@1", "d\"@1"] },
        { "\"\" x", ["@1", "x@1"] },
        { "\"a#b { }\" c", ["a#b { }@1", "c@1"] },
        { "dir \"foo\nbar\" baz\nnext", ["dir@1", "foo\nbar@1", "baz@2", "next@3"] },
        { "\"unterminated", ["unterminated@1"] },
        { "a\u00A0b\u2003c", ["a@1", "b@1", "c@1"] },
        { "\"keep\r\ncr\"", ["keep\r\ncr@1"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Text_splits_into_tokens_with_their_lines(string text, string[] expected)
    {
        var tokens = Lexer.Tokenize(text, "f");
        Assert.Equal(expected, tokens.Select(t => $"{t.Text}@{t.Line}"));
        Assert.All(tokens, t => Assert.Equal("f", t.File));
    }

    [Fact]
    public void Multi_line_quoted_token_ends_on_its_closing_line()
    {
        var block = Parse(". {\n    template ANY ANY {\n        answer \"a\nb\" c\n        rcode NOERROR\n    }\n}\n").Blocks[0];
        var d = new Dispenser(block.Find("template")!);
        Assert.True(d.Next());
        Assert.Equal(["ANY", "ANY"], d.RemainingArgs());
        Assert.True(d.NextBlock());
        Assert.Equal("answer", d.Val);
        Assert.Equal(["a\nb", "c"], d.RemainingArgs());
        Assert.True(d.NextBlock());
        Assert.Equal("rcode", d.Val);
    }

    [Fact]
    public void Brace_glued_to_a_word_is_not_a_block()
    {
        // coredns/coredns#7121: "example.com{" is one token, so the block body is parsed as directives.
        Assert.Equal("Corefile:3 - Error during parsing: Unknown directive 'ttl'",
            ParseError(". {\n    hosts coredns.hosts example.com{\n        ttl 30\n    }\n}\n").Message);
    }
}
