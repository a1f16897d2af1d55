using ClusterDns.Protocol;

namespace ClusterDns.Protocol.Tests;

public class NameTests
{
    private static string Label(int length, char c = 'a') => new(c, length);

    [Theory]
    [InlineData(".", "00", ".")]
    [InlineData("example.org.", "076578616d706c65036f726700", "example.org.")]
    [InlineData("example.org", "076578616d706c65036f726700", "example.org.")] // no trailing dot: fully qualified
    [InlineData("Web.NS1.svc.", "03576562034e53310373766300", "Web.NS1.svc.")]
    [InlineData(@"a\.b.c.", "03612e62016300", @"a\.b.c.")]
    [InlineData(@"a\032b.", "0361206200", @"a\032b.")]
    [InlineData(@"a\ b.", "0361206200", @"a\032b.")]
    [InlineData(@"a\\b.", "03615c6200", @"a\\b.")]
    [InlineData(@"\000\255.", "0200ff00", @"\000\255.")]
    [InlineData(@"\065.", "014100", "A.")]
    [InlineData(@"a\;b\(\)\""\@\$.", "08613b62282922402400", @"a\;b\(\)\""\@\$.")]
    [InlineData("*.example.", "012a076578616d706c6500", "*.example.")]
    [InlineData("_http._tcp.", "055f68747470045f74637000", "_http._tcp.")]
    public void Parses_and_prints(string text, string wireHex, string printed)
    {
        Assert.True(DnsName.TryParse(text, out var name));
        Assert.Equal(wireHex, Convert.ToHexStringLower(name.Wire));
        Assert.Equal(printed, name.ToString());
        Assert.True(DnsName.TryParse(printed, out var again));
        Assert.True(name.Wire.SequenceEqual(again.Wire));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData(".a.")]
    [InlineData("a..b.")]
    [InlineData(@"a\")]
    [InlineData(@"a\25.")]
    [InlineData(@"a\256.")]
    [InlineData(@"a\2x5.")]
    [InlineData("a b.")]
    [InlineData("caf\u00e9.")]
    [InlineData("a\tb.")]
    public void Rejects_bad_text(string text)
    {
        Assert.False(DnsName.TryParse(text, out var name));
        Assert.Null(name);
    }

    [Fact]
    public void Label_of_63_is_fine_64_is_not()
    {
        Assert.True(DnsName.TryParse(Label(63) + ".", out var ok));
        Assert.Equal(65, ok.WireLength);
        Assert.False(DnsName.TryParse(Label(64) + ".", out _));
        Assert.False(DnsName.TryParse(Label(64), out _));
        Assert.False(DnsName.TryParse(Label(64) + ".com.", out _));
        var wire = new byte[66];
        wire[0] = 64;
        Assert.False(DnsName.TryFromWire(wire, out _));
        // Escapes count as one octet.
        Assert.True(DnsName.TryParse(string.Concat(Enumerable.Repeat(@"\046", 63)) + ".", out var escaped));
        Assert.Equal(65, escaped.WireLength);
        Assert.False(DnsName.TryParse(string.Concat(Enumerable.Repeat(@"\046", 64)) + ".", out _));
    }

    public static TheoryData<string, int> LongNames => new()
    {
        // 3 x 63 + 61 = 4 labels, wire 64*3 + 62 + 1 = 255
        { $"{Label(63)}.{Label(63)}.{Label(63)}.{Label(61)}.", 255 },
        { $"{Label(63)}.{Label(63)}.{Label(63)}.{Label(61)}", 255 },
        { $"{Label(63)}.{Label(63)}.{Label(63)}.{Label(62)}.", 256 },
        { $"{Label(63)}.{Label(63)}.{Label(63)}.{Label(62)}", 256 },
        { $"{Label(63)}.{Label(63)}.{Label(63)}.{Label(63)}.", 257 },
        { string.Concat(Enumerable.Repeat("a.", 127)), 255 },
        { string.Concat(Enumerable.Repeat("a.", 128)), 257 },
        { string.Concat(Enumerable.Repeat("a.", 127)) + "b", 257 },
    };

    [Theory]
    [MemberData(nameof(LongNames))]
    public void Name_of_255_is_fine_256_is_not(string text, int wireLength)
    {
        Assert.Equal(wireLength <= 255, DnsName.TryParse(text, out var name));
        if (name is not null)
        {
            Assert.Equal(wireLength, name.WireLength);
            Assert.True(DnsName.TryFromWire(name.Wire, out _));
        }
        Assert.Equal(wireLength <= 255, DnsName.TryFromWire(BuildWire(text.TrimEnd('.').Split('.')), out _));
    }

    private static byte[] BuildWire(string[] labels)
    {
        var wire = new List<byte>();
        foreach (var label in labels)
        {
            wire.Add((byte)label.Length);
            wire.AddRange(label.Select(c => (byte)c));
        }
        wire.Add(0);
        return wire.ToArray();
    }

    [Theory]
    [InlineData("example.org.", "EXAMPLE.ORG.", true)]
    [InlineData("Web.Ns1.Svc.", "wEB.nS1.sVC.", true)]
    [InlineData("example.org.", "example.com.", false)]
    [InlineData("a.example.org.", "example.org.", false)]
    [InlineData(@"\065.", "a.", true)]
    [InlineData(@"\091.", @"\123.", false)] // '[' and '{' differ by 0x20 but are not letters
    [InlineData(@"\192.", @"\224.", false)] // Latin-1 letters are not folded (RFC 4343: ASCII only)
    public void Equality_ignores_ascii_case_only(string a, string b, bool equal)
    {
        var x = DnsName.Parse(a);
        var y = DnsName.Parse(b);
        Assert.Equal(equal, x.Equals(y));
        Assert.Equal(equal, x == y);
        Assert.Equal(!equal, x != y);
        if (equal)
        {
            Assert.Equal(x.GetHashCode(), y.GetHashCode());
        }
    }

    [Fact]
    public void HashSet_and_Dictionary_ignore_case()
    {
        var set = new HashSet<DnsName> { DnsName.Parse("Kubernetes.Default.svc.cluster.local.") };
        Assert.Contains(DnsName.Parse("kubernetes.default.SVC.cluster.local."), set);
        Assert.Equal("Kubernetes.Default.svc.cluster.local.", set.Single().ToString());
    }

    [Theory]
    [InlineData("a.b.example.org.", "example.org.", true)]
    [InlineData("example.org.", "example.org.", true)]
    [InlineData("EXAMPLE.org.", "example.ORG.", true)]
    [InlineData("example.org.", ".", true)]
    [InlineData(".", ".", true)]
    [InlineData("badexample.org.", "example.org.", false)]
    [InlineData("example.org.", "a.example.org.", false)]
    [InlineData("org.", "example.org.", false)]
    [InlineData(@"a\.example.org.", "example.org.", false)] // "a.example" is one label
    [InlineData(@"a\.example.org.", "org.", true)]
    [InlineData(@"a\.example.org.", @"\.example.org.", false)]
    [InlineData(@"x.a\.example.org.", @"a\.example.org.", true)]
    public void Subdomain_test_follows_label_boundaries(string name, string zone, bool expected)
    {
        Assert.Equal(expected, DnsName.Parse(name).IsSubdomainOf(DnsName.Parse(zone)));
        Assert.Equal(expected, DnsNameSpan.IsSubdomainOf(DnsName.Parse(name).Wire, DnsName.Parse(zone).Wire));
    }

    [Fact]
    public void IsSubdomainOf_span_does_not_throw_on_garbage()
    {
        Assert.False(DnsNameSpan.IsSubdomainOf([0xC0, 0x0C, 0x03, 0x66, 0x6f, 0x6f, 0x00], [0x00, 0x00]));
        Assert.False(DnsNameSpan.IsSubdomainOf([0x3F, 0x00, 0x00], [0x00]));
    }

    [Theory]
    [InlineData("a.b.example.org.", 1, "b.example.org.")]
    [InlineData("a.b.example.org.", 2, "example.org.")]
    [InlineData("a.b.example.org.", 4, ".")]
    [InlineData("a.b.example.org.", 9, ".")]
    [InlineData("a.b.example.org.", 0, "a.b.example.org.")]
    [InlineData(".", 1, ".")]
    [InlineData(@"a\.b.c.", 1, "c.")]
    public void Parent_drops_leading_labels(string name, int labels, string expected)
    {
        var parent = DnsName.Parse(name).Parent(labels);
        Assert.Equal(expected, parent.ToString());
        Assert.True(DnsName.Parse(name).IsSubdomainOf(parent));
    }

    [Fact]
    public void Labels_and_counts()
    {
        var name = DnsName.Parse(@"Web.a\.b.svc.");
        Assert.Equal(3, name.LabelCount);
        Assert.Equal(3, DnsNameSpan.CountLabels(name.Wire));
        Assert.Equal("Web", name.GetLabel(0));
        Assert.Equal("a.b", name.GetLabel(1));
        Assert.Equal(0, DnsName.Root.LabelCount);
        Assert.True(DnsName.Root.IsRoot);
        Assert.Equal("web.a\\.b.svc.", name.ToLowerInvariant().ToString());
        var lower = DnsName.Parse("x.y.");
        Assert.Same(lower, lower.ToLowerInvariant());
    }

    [Fact]
    public void Concat_and_prepend()
    {
        var zone = DnsName.Parse("cluster.local.");
        Assert.Equal("svc.cluster.local.", DnsName.Concat(DnsName.Parse("svc."), zone).ToString());
        Assert.Equal("cluster.local.", DnsName.Concat(DnsName.Root, zone).ToString());
        Assert.Equal("svc.", DnsName.Concat(DnsName.Parse("svc."), DnsName.Root).ToString());
        Assert.Equal("web.ns1.svc.cluster.local.", zone.Prepend("web.ns1.svc").ToString());
        Assert.Same(zone, zone.Prepend(""));

        var big = DnsName.Parse($"{Label(63)}.{Label(63)}.{Label(63)}.");
        Assert.True(DnsName.TryConcat(big, DnsName.Parse(Label(61) + "."), out var fits));
        Assert.Equal(255, fits.WireLength);
        Assert.False(DnsName.TryConcat(big, DnsName.Parse(Label(62) + "."), out var tooLong));
        Assert.Null(tooLong);
        Assert.Throws<ArgumentException>(() => DnsName.Concat(big, big));
    }

    [Fact]
    public void FromWire_validation()
    {
        Assert.True(DnsName.TryFromWire([0], out var root));
        Assert.True(root.IsRoot);
        Assert.False(DnsName.TryFromWire([], out _));
        Assert.False(DnsName.TryFromWire([1, 0x61], out _));          // no root label
        Assert.False(DnsName.TryFromWire([1, 0x61, 0, 0], out _));    // trailing octet
        Assert.False(DnsName.TryFromWire([5, 0x61, 0], out _));       // label runs past the end
        Assert.False(DnsName.TryFromWire([0xC0, 0x0C], out _));       // a pointer is not a wire name
    }

    [Fact]
    public void Parse_throws_FormatException() => Assert.Throws<FormatException>(() => DnsName.Parse("a..b"));
}
