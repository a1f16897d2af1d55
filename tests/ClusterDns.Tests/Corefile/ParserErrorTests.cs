using ClusterDns.Corefile;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.CorefileTestSupport;

namespace ClusterDns.Tests.Corefile;

/// <summary>One row per parser error text, message compared exactly with CoreDNS's.</summary>
public sealed class ParserErrorTests
{
    public static TheoryData<string, string, int> Errors => new()
    {
        { ". {\n    whoami\n    nosuchplugin\n}\n", "Corefile:3 - Error during parsing: Unknown directive 'nosuchplugin'", 3 },
        { ". {\n    proxy . 8.8.8.8\n}\n", "Corefile:2 - Error during parsing: Unknown directive 'proxy'", 2 },
        { "hosts coredns.hosts example.com{\n    ttl 30\n}\n", "Corefile:2 - Error during parsing: Unknown directive 'ttl'", 2 },
        { ". { whoami }\n", "Corefile:1 - Error during parsing: Unexpected '}' because no matching opening brace", 1 },
        { ". {\n    whoami }\n", "Corefile:2 - Error during parsing: Unexpected '}' because no matching opening brace", 2 },
        { ". {\n    cache {\n        success 1\n", "Corefile:3 - Error during parsing: Unexpected EOF", 3 },
        { "example.org,", "Corefile:1 - Error during parsing: Unexpected EOF", 1 },
        { ". {\n    whoami\n", "Corefile:2 - Syntax error: Unexpected token 'whoami', expecting '}'", 2 },
        { "example.org, {\n}\n", "Corefile:1 - Error during parsing: Expected another address but had '{' - check for extra comma", 1 },
        { "(s) {\n    log\n}\n(s) {\n    log\n}\n", "Corefile:4 - Error during parsing: redeclaration of previously declared snippet s", 4 },
        { "(s)\nlog\n", "Corefile:2 - Syntax error: Unexpected token 'log', expecting '{'", 2 },
        { "(s) {\n    log\n", "Corefile:2 - Syntax error: Unexpected token 'log', expecting '}'", 2 },
        { "(s) {\n    import s\n}\n", "Corefile:3 - Error during parsing: maximum snippet import depth (10000) exceeded", 3 },
        { "(a) {\n    import b\n}\n(b) {\n    import a\n}\n. {\n    import a\n}\n", "Corefile:5 - Error during parsing: maximum snippet import depth (10000) exceeded", 5 },
        { ". {\n    import\n}\n", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'import'", 2 },
        { ". {\n    import a b\n}\n", "Corefile:2 - Error during parsing: Import takes only one argument (glob pattern or file)", 2 },
        { ". {\n    import \"\"\n}\n", "Corefile:2 - Error during parsing: Import requires a non-empty filepath", 2 },
        { ". {\n    import {$NOPE}\n}\n", "Corefile:2 - Error during parsing: Import requires a non-empty filepath", 2 },
        { "example..org {\n}\n", "error inspecting server blocks: zone is not a valid domain name: example..org", 1 },
        { ".: {\n}\n", "error inspecting server blocks: expecting data after last colon: \".:\"", 1 },
        { "dns://.: {\n}\n", "error inspecting server blocks: expecting data after last colon: \".:\"", 1 },
        { new string('a', 256) + " {\n}\n", "error inspecting server blocks: specified zone is too long: 256 > 255", 1 },
        { ". {\n}\n::/0 {\n}\n", "error inspecting server blocks: invalid CIDR ::/0", 3 },
        { "0::1/64 {\n}\n", "error inspecting server blocks: invalid CIDR 0::1/64", 1 },
        { "a.org b..org {\n}\n", "error inspecting server blocks: zone is not a valid domain name: b..org", 1 },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Error_text_is_exact(string text, string message, int line)
    {
        var error = ParseError(text);
        Assert.Equal(message, error.Message);
        Assert.Equal(line, error.Line);
    }

    [Fact]
    public void Parse_errors_win_over_key_errors_of_earlier_blocks()
    {
        // CoreDNS inspects keys only after the whole file parsed.
        Assert.Equal("Corefile:4 - Error during parsing: Unknown directive 'nope'",
            ParseError("a..b {\n}\n. {\n    nope\n}\n").Message);
    }

    [Fact]
    public void Import_file_errors_carry_the_absolute_paths()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "sub"));
        var main = Path.Combine(dir.Path, "Corefile");

        CorefileException Fail(string body) =>
            Assert.Throws<CorefileException>(() => CorefileParser.Parse(body, main, Options()));

        Assert.Equal($"{main}:2 - Error during parsing: File to import not found: missing.conf",
            Fail(". {\n    import missing.conf\n}\n").Message);
        Assert.Equal($"{main}:2 - Error during parsing: Glob pattern may only contain one wildcard (*), but has others: {dir.Path}/*/*.conf",
            Fail(". {\n    import */*.conf\n}\n").Message);
        Assert.Equal($"{main}:1 - Error during parsing: Glob pattern may only contain one wildcard (*), but has others: {dir.Path}/a?b?.conf",
            Fail("import a?b?.conf\n").Message);
        Assert.Equal($"{main}:2 - Error during parsing: Could not import {dir.Path}/sub: is a directory",
            Fail(". {\n    import sub\n}\n").Message);

        var imported = dir.Write("bad.conf", "# comment\nnosuch\n");
        var error = Fail(". {\n    import bad.conf\n}\n");
        Assert.Equal($"{imported}:2 - Error during parsing: Unknown directive 'nosuch'", error.Message);
        Assert.Equal((imported, 2), (error.File, error.Line));
    }

    [Fact]
    public void Missing_main_file_reports_like_coredns()
    {
        var error = Assert.Throws<CorefileException>(() => CorefileParser.ParseFile("/nonexistent/Corefile", Options()));
        Assert.Equal("loading Caddyfile via flag: open /nonexistent/Corefile: no such file or directory", error.Message);
    }
}
