using ClusterDns.Corefile;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

public sealed class DispenserTests
{
    private static Dispenser For(string body, string directive)
    {
        var block = Parse(". {\n" + body + "\n}\n").Blocks[0];
        return new Dispenser(block.Find(directive)!);
    }

    [Fact]
    public void Reads_args_and_flat_block()
    {
        var d = For("    forward . 1.1.1.1 8.8.8.8 {\n        max_concurrent 10\n        policy sequential\n    }", "forward");
        Assert.Equal(string.Empty, d.Val);
        Assert.Equal(0, d.Line);
        Assert.True(d.Next());
        Assert.Equal(("forward", 2, "Corefile"), (d.Val, d.Line, d.File));
        Assert.Equal([".", "1.1.1.1", "8.8.8.8"], d.RemainingArgs());
        var props = new List<string>();
        while (d.NextBlock())
        {
            Assert.Equal(1, d.Nesting);
            props.Add(d.Val + "=" + string.Join(",", d.RemainingArgs()));
        }
        Assert.Equal(["max_concurrent=10", "policy=sequential"], props);
        Assert.Equal("}", d.Val);
        Assert.Equal(0, d.Nesting);
        Assert.False(d.Next());
    }

    [Fact]
    public void Loops_over_each_occurrence()
    {
        var d = For("    log . {\n        class denial\n    }\n    log example.org", "log");
        var seen = new List<string>();
        while (d.Next())
        {
            var args = d.RemainingArgs();
            var classes = new List<string>();
            while (d.NextBlock())
            {
                classes.AddRange(d.RemainingArgs());
            }
            seen.Add(string.Join(",", args) + "/" + string.Join(",", classes));
        }
        Assert.Equal(["./denial", "example.org/"], seen);
    }

    [Fact]
    public void NextArg_and_NextLine()
    {
        var d = For("    hosts a b {\n        1.2.3.4 x\n    }", "hosts");
        Assert.True(d.NextArg()); // first call loads the first token regardless of lines
        Assert.Equal("hosts", d.Val);
        Assert.False(d.NextLine());
        Assert.True(d.NextArg());
        Assert.True(d.NextArg());
        Assert.True(d.NextArg());
        Assert.Equal("{", d.Val);
        Assert.False(d.NextArg());
        Assert.True(d.NextLine());
        Assert.Equal("1.2.3.4", d.Val);
        Assert.True(d.NextArg());
        Assert.True(d.NextLine());
        Assert.Equal("}", d.Val);
        Assert.False(d.NextLine());
        Assert.False(d.NextArg());
    }

    [Fact]
    public void Block_must_open_on_the_directive_line()
    {
        var d = For("    cache 30\n    {\n        success 10\n    }", "cache");
        d.Next();
        Assert.Equal(["30"], d.RemainingArgs());
        Assert.False(d.NextBlock());
        Assert.Equal("30", d.Val); // not advanced
    }

    [Fact]
    public void Empty_block_returns_false_at_once()
    {
        var d = For("    reload {\n    }", "reload");
        d.Next();
        Assert.False(d.NextBlock());
        Assert.Equal("}", d.Val);
        Assert.Equal(0, d.Nesting);
    }

    [Fact]
    public void NextBlock_tracks_nesting()
    {
        const string body = "    view v {\n        a {\n            b\n        }\n        c\n    }";
        var flat = For(body, "view");
        flat.Next();
        flat.RemainingArgs();
        var seen = new List<string>();
        while (flat.NextBlock())
        {
            seen.Add($"{flat.Val}@{flat.Nesting}");
        }
        Assert.Equal(["a@1", "{@2", "b@2", "}@1", "c@1"], seen);
        Assert.Equal(0, flat.Nesting);

        // A plugin that understands the nested block reads it with its own level.
        var nested = For(body, "view");
        nested.Next();
        nested.RemainingArgs();
        var outer = new List<string>();
        var inner = new List<string>();
        while (nested.NextBlock())
        {
            outer.Add(nested.Val);
            var level = nested.Nesting;
            while (nested.NextBlock(level))
            {
                inner.Add(nested.Val);
            }
        }
        Assert.Equal(["a", "c"], outer);
        Assert.Equal(["b"], inner);
    }

    [Fact]
    public void One_line_block_gives_the_brace_to_the_last_property()
    {
        // As in CoreDNS: "template IN AAAA { rcode NOERROR }" parses, but rcode then sees "NOERROR }".
        var d = For("    template IN AAAA { rcode NOERROR }", "template");
        d.Next();
        Assert.Equal(["IN", "AAAA"], d.RemainingArgs());
        Assert.True(d.NextBlock());
        Assert.Equal("rcode", d.Val);
        Assert.Equal(["NOERROR", "}"], d.RemainingArgs());
        Assert.False(d.NextBlock());
    }

    [Fact]
    public void Error_texts()
    {
        var d = For("    whoami\n    cache", "cache");
        d.Next();
        Assert.Equal("Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'cache'", d.ArgErr().Message);
        Assert.Equal("Corefile:3 - Error during parsing: this plugin can only be used once per Server Block", d.Err("this plugin can only be used once per Server Block").Message);
        Assert.Equal("Corefile:3 - Error during parsing: x", d.Errf("x").Message);
        Assert.Equal("Corefile:3 - Syntax error: Unexpected token 'cache', expecting '{'", d.SyntaxErr("{").Message);
        var e = d.ArgErr();
        Assert.Equal(("Corefile", 3), (e.File, e.Line));

        var brace = For("    forward {\n        force_tcp\n    }", "forward");
        brace.Next();
        brace.NextArg();
        Assert.Equal("Corefile:2 - Error during parsing: Unexpected token '{', expecting argument", brace.ArgErr().Message);
    }

    [Fact]
    public void Tokens_from_imported_files_are_never_on_the_same_line()
    {
        using var dir = new TempDir();
        dir.Write("more.conf", "extra\n");
        var doc = CorefileParser.Parse(". {\n    hosts {\n        import more.conf\n    }\n}\n", Path.Combine(dir.Path, "Corefile"), Options());
        var d = new Dispenser(doc.Blocks[0].Find("hosts")!);
        d.Next();
        Assert.True(d.NextBlock());
        Assert.Equal("extra", d.Val);
        Assert.EndsWith("more.conf", d.File);
        Assert.Equal(1, d.Line);
        Assert.False(d.NextArg());
    }
}
