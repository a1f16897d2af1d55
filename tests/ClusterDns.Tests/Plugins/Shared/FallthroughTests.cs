using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.Plugins.Shared;

/// <summary>CoreDNS's fall.F: which names a <c>fallthrough [ZONES...]</c> option passes on.</summary>
public sealed class FallthroughTests
{
    /// <summary>Option arguments (null = no option), queried name, whether it falls through.</summary>
    public static TheoryData<string, string[]?, string, bool> Cases => new()
    {
        { "no option", null, "example.org.", false },
        { "bare option: every name", [], "example.org.", true },
        { "bare option: root", [], ".", true },
        { "zone apex", ["example.org"], "example.org.", true },
        { "below zone", ["example.org"], "a.b.example.org.", true },
        { "outside zone", ["example.org"], "example.com.", false },
        { "label boundary", ["example.org"], "badexample.org.", false },
        { "case ignored", ["Example.ORG."], "A.EXAMPLE.org.", true },
        { "CIDR becomes reverse zones", ["10.0.0.0/8"], "4.3.2.10.in-addr.arpa.", true },
        { "CIDR other network", ["10.0.0.0/8"], "4.3.2.11.in-addr.arpa.", false },
        { "second zone", ["a.org", "b.org"], "x.b.org.", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Names_fall_through_only_under_the_zones(string @case, string[]? args, string name, bool through)
    {
        var fall = args is null ? Fallthrough.None : Fallthrough.FromArgs(args);
        var qname = DnsName.Parse(name);
        Assert.True(fall.IsEnabled == (args is not null), $"{@case}: IsEnabled");
        Assert.True(fall.Through(qname.ToLowerInvariant().Wire) == through, $"{@case}: Through(wire)");
        Assert.True(fall.Through(qname) == through, $"{@case}: Through(name)");
    }

    [Fact]
    public void Zones_are_normalised_and_a_bare_option_is_the_root()
    {
        Assert.Equal(["."], Fallthrough.FromArgs([]).Zones);
        Assert.Equal(["example.org.", "10.in-addr.arpa."], Fallthrough.FromArgs(["Example.Org", "10.0.0.0/8"]).Zones);
        Assert.Empty(Fallthrough.None.Zones);
        Assert.Equal("zone is not a valid domain name: a..b", Assert.Throws<FormatException>(() => Fallthrough.FromArgs(["a..b"])).Message);
    }

    [Fact]
    public void Parse_reads_the_option_line_and_reports_a_bad_zone_at_it()
    {
        var d = Dispenser(". {\n    hosts {\n        fallthrough a.org 10.0.0.0/8\n    }\n}\n");
        Assert.Equal(["a.org.", "10.in-addr.arpa."], Fallthrough.Parse(d).Zones);

        var bad = Assert.Throws<CorefileException>(() => Fallthrough.Parse(Dispenser(". {\n    hosts {\n        fallthrough a..org\n    }\n}\n")));
        Assert.Equal("zone is not a valid domain name: a..org", bad.Message);
        Assert.Equal(3, bad.Line);
    }

    /// <summary>A dispenser on the <c>fallthrough</c> line of the block's hosts directive.</summary>
    private static Dispenser Dispenser(string corefile)
    {
        var document = CorefileParser.Parse(corefile, "Corefile", new CorefileParserOptions { IsDirective = PluginOrder.Default.Contains });
        var d = new Dispenser(document.Blocks[0].Find("hosts")!);
        Assert.True(d.Next());
        Assert.True(d.NextBlock());
        Assert.Equal("fallthrough", d.Val);
        return d;
    }
}
