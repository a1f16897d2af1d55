using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.View;

public sealed class ViewSetupTests
{
    private const string Fallback = ".:0 {\n    whoami\n}\n";

    public static TheoryData<string, string, string> ErrorCases() => new()
    {
        // case, Corefile, error as users read it
        { "no name", ".:0 {\n    view\n}\n", "plugin/view: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'view'" },
        { "two names", ".:0 {\n    view a b\n}\n", "plugin/view: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b'" },
        { "unknown property", ".:0 {\n    view a {\n        match x\n    }\n}\n", "plugin/view: Corefile:3 - Error during parsing: unknown property 'match'" },
        { "twice in a block", ".:0 {\n    view a\n    view b\n}\n", "plugin/view: this plugin can only be used once per Server Block" },
        { "unknown function", ".:0 {\n    view a {\n        expr foo()\n    }\n}\n", "plugin/view: unknown name foo (1:1)\n | foo()\n | ^" },
        { "empty expr", ".:0 {\n    view a {\n        expr\n    }\n}\n", "plugin/view: unexpected token EOF (1:1)\n | \n | ^" },
        { "type mismatch", ".:0 {\n    view a {\n        expr type() == 1\n    }\n}\n", "plugin/view: invalid operation: == (mismatched types string and int) (1:8)\n | type() == 1\n | .......^" },
        { "and on strings", ".:0 {\n    view a {\n        expr name() && true\n    }\n}\n", "plugin/view: invalid operation: && (mismatched types string and bool) (1:8)\n | name() && true\n | .......^" },
        { "not on a string", ".:0 {\n    view a {\n        expr !name()\n    }\n}\n", "plugin/view: invalid operation: ! (mismatched type string) (1:1)\n | !name()\n | ^" },
        { "arithmetic", ".:0 {\n    view a {\n        expr size() + 1 > 2\n    }\n}\n", "plugin/view: ClusterDns view expressions do not support \"+\" (1:8)\n | size() + 1 > 2\n | .......^" },
        { "function without call", ".:0 {\n    view a {\n        expr type == 'A'\n    }\n}\n", "plugin/view: type is a function: call it as type() (1:1)\n | type == 'A'\n | ^" },
        { "incidr arity", ".:0 {\n    view a {\n        expr incidr(client_ip())\n    }\n}\n", "plugin/view: not enough arguments to call incidr (1:1)\n | incidr(client_ip())\n | ^" },
        { "incidr argument type", ".:0 {\n    view a {\n        expr incidr(client_ip(), 8)\n    }\n}\n", "plugin/view: cannot use int as argument (type string) to call incidr (1:21)\n | incidr(client_ip(), 8)\n | ....................^" },
        { "arguments to a query function", ".:0 {\n    view a {\n        expr name('x') == 'y'\n    }\n}\n", "plugin/view: too many arguments to call name (1:1)\n | name('x') == 'y'\n | ^" },
        { "bad regexp", ".:0 {\n    view a {\n        expr name() matches '(('\n    }\n}\n", "plugin/view: error parsing regexp: " },
        { "unterminated string", ".:0 {\n    view a {\n        expr name() == 'x\n    }\n}\n", "plugin/view: literal not terminated (1:11)\n | name() == 'x\n | ..........^" },
        { "float", ".:0 {\n    view a {\n        expr size() > 1.5\n    }\n}\n", "plugin/view: ClusterDns view expressions support integers only, not 1.5 (1:10)\n | size() > 1.5\n | .........^" },
        { "metadata", ".:0 {\n    view a {\n        expr metadata('x') == ''\n    }\n}\n", "plugin/view: metadata() needs the metadata plugin, which ClusterDns does not implement yet (1:1)\n | metadata('x') == ''\n | ^" },
        { "builtin", ".:0 {\n    view a {\n        expr len(name()) > 3\n    }\n}\n", "plugin/view: the expr-lang builtin len() is not supported in ClusterDns view expressions (1:1)\n | len(name()) > 3\n | ^" },
        { "in a string", ".:0 {\n    view a {\n        expr 'A' in type()\n    }\n}\n", "plugin/view: ClusterDns supports 'in' only with an array literal on the right, e.g. type() in ['A', 'AAAA'] (1:8)\n | 'A' in type()\n | .......^" },
        { "trailing token", ".:0 {\n    view a {\n        expr do() do()\n    }\n}\n", "plugin/view: unexpected token Identifier(\"do\") (1:6)\n | do() do()\n | .....^" },
        { "view after the unfiltered block", Fallback + ".:0 {\n    view a\n    whoami\n}\n", "cannot serve dns://.:0 - it is already defined" },
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public async Task Bad_views_are_refused_with_coredns_errors(string name, string corefile, string expected)
    {
        var error = await SetupErrorAsync(corefile);
        Assert.True(error.StartsWith(expected, StringComparison.Ordinal), $"{name}: got\n{error}");
    }

    [Theory]
    [InlineData("views before the fallback", ".:0 {\n    view a\n    whoami\n}\n.:0 {\n    view b\n    whoami\n}\n" + Fallback)]
    [InlineData("views only", ".:0 {\n    view a\n    whoami\n}\n.:0 {\n    view b\n    whoami\n}\n")]
    [InlineData("view on a longer zone", "example.org:0 {\n    view a\n    whoami\n}\nexample.org:0 {\n    whoami\n}\n" + Fallback)]
    public void Blocks_with_views_may_share_zone_and_port(string name, string corefile)
    {
        var config = Build(corefile);
        Assert.True(config.Listeners.Count == 1, name);
        Assert.True(config.Listeners[0].Routes.HasViews, name);
    }

    [Fact]
    public void Listener_without_views_keeps_the_plain_routes()
    {
        var config = Build(Fallback);
        Assert.False(config.Listeners[0].Routes.HasViews);
    }

    [Fact]
    public void Readme_examples_build()
    {
        var corefiles = ReadmeCorefiles("View");
        Assert.NotEmpty(corefiles);
        foreach (var corefile in corefiles)
        {
            Assert.NotNull(Build(corefile));
        }
    }
}
