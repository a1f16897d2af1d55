using ClusterDns.Corefile;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

public sealed class SnippetImportTests
{
    [Fact]
    public void Snippet_expands_in_each_block_and_creates_no_server()
    {
        var doc = Parse("(common) {\n    errors\n    log\n}\na.org {\n    import common\n    whoami\n}\nb.org {\n    whoami\n    import common\n}\n");
        Assert.Equal("dns://a.org.:53 | errors,log,whoami\ndns://b.org.:53 | whoami,errors,log", Shape(doc));
        // Snippet tokens keep their own position (where the snippet was written).
        Assert.Equal(2, doc.Blocks[1].Find("errors")!.Tokens[0].Line);
    }

    [Fact]
    public void Snippet_can_hold_whole_blocks_and_be_imported_at_top_level()
    {
        var doc = Parse("(blocks) {\n    a.org {\n        whoami\n    }\n}\nimport blocks\n. {\n    log\n}\n");
        Assert.Equal("dns://a.org.:53 | whoami\ndns://.:53 | log", Shape(doc));
    }

    [Fact]
    public void Snippet_inside_a_directive_block()
    {
        var doc = Parse("(opts) {\n    max_concurrent 10\n}\n. {\n    forward . 1.1.1.1 {\n        import opts\n        force_tcp\n    }\n}\n");
        Assert.Equal("forward . 1.1.1.1 { max_concurrent 10 force_tcp }", Texts(doc.Blocks[0].Find("forward")!.Tokens));
    }

    [Fact]
    public void Nested_snippets()
    {
        var doc = Parse("(a) {\n    errors\n}\n(b) {\n    import a\n    log\n}\n. {\n    import b\n}\n");
        Assert.Equal("dns://.:53 | errors,log", Shape(doc));
    }

    [Fact]
    public void File_imports_are_relative_to_the_importing_file()
    {
        using var dir = new TempDir();
        var main = dir.Write("Corefile", ". {\n    import conf/a.conf\n}\n");
        var a = dir.Write("conf/a.conf", "log\nimport b.conf\n");
        var b = dir.Write("conf/b.conf", "whoami\n");
        var cwd = Directory.GetCurrentDirectory();
        var doc = CorefileParser.ParseFile(main, Options());
        Assert.Equal(cwd, Directory.GetCurrentDirectory());
        Assert.Equal("dns://.:53 | log,whoami", Shape(doc));
        Assert.Equal([main, a, b], doc.Files);
        var whoami = doc.Blocks[0].Find("whoami")!.Tokens[0];
        Assert.Equal((b, 1), (whoami.File, whoami.Line));
    }

    [Fact]
    public void Glob_import_splices_matches_in_name_order()
    {
        using var dir = new TempDir();
        var main = dir.Write("Corefile", ". {\n    whoami\n}\nimport zones/*.conf\n");
        var b = dir.Write("zones/b.conf", "b.org {\n    log\n}\n");
        var a = dir.Write("zones/a.conf", "a.org {\n    errors\n}\n");
        dir.Write("zones/c.txt", "not imported {\n}\n");
        var doc = CorefileParser.ParseFile(main, Options());
        Assert.Equal("dns://.:53 | whoami\ndns://a.org.:53 | errors\ndns://b.org.:53 | log", Shape(doc));
        Assert.Equal([main, a, b], doc.Files);
        Assert.Empty(doc.Warnings);
    }

    [Fact]
    public void Absolute_import_path_and_env_in_pattern()
    {
        using var dir = new TempDir();
        var inc = dir.Write("inc/forward.conf", "forward . 8.8.8.8\n");
        var env = new Dictionary<string, string> { ["INC"] = Path.Combine(dir.Path, "inc") };
        var doc = CorefileParser.Parse(". {\n    import {$INC}/forward.conf\n}\n", "/elsewhere/Corefile", Options(env));
        Assert.Equal("forward . 8.8.8.8", Texts(doc.Blocks[0].Find("forward")!.Tokens));
        Assert.Equal(["/elsewhere/Corefile", inc], doc.Files);
    }

    [Fact]
    public void Glob_without_matches_only_warns()
    {
        using var dir = new TempDir();
        var doc = CorefileParser.Parse(". {\n    import none/*.conf\n    whoami\n}\n", Path.Combine(dir.Path, "Corefile"), Options());
        Assert.Equal("dns://.:53 | whoami", Shape(doc));
        Assert.Equal(["No files matching import glob pattern: none/*.conf"], doc.Warnings);
    }

    [Fact]
    public void Import_in_key_position_must_start_a_line()
    {
        // Not the first token of its line, so "import" is just another key.
        var doc = Parse("a.org import {\n    whoami\n}\n");
        Assert.Equal("dns://a.org.:53 dns://import.:53 | whoami", Shape(doc));
    }

    [Fact]
    public void Self_importing_file_hits_the_file_expansion_cap()
    {
        using var dir = new TempDir();
        var self = dir.Write("self.conf", "import self.conf\n");
        var error = Assert.Throws<CorefileException>(() => CorefileParser.Parse("import self.conf\n", Path.Combine(dir.Path, "Corefile"), Options()));
        Assert.Equal($"{self}:1 - Error during parsing: maximum file import depth (100000) exceeded", error.Message);
    }
}
