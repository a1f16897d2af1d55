using ClusterDns.Corefile;

namespace ClusterDns.Tests.Corefile;

public sealed class ZoneNamesTests
{
    public static TheoryData<string, string[]> Cidrs => new()
    {
        { "10.0.0.0/8", ["10.in-addr.arpa."] },
        { "10.0.0.0/24", ["0.0.10.in-addr.arpa."] },
        { "10.0.0.0/15", ["0.10.in-addr.arpa.", "1.10.in-addr.arpa."] },
        { "10.129.60.0/22", ["60.129.10.in-addr.arpa.", "61.129.10.in-addr.arpa.", "62.129.10.in-addr.arpa.", "63.129.10.in-addr.arpa."] },
        { "192.168.1.1/23", ["0.168.192.in-addr.arpa.", "1.168.192.in-addr.arpa."] },
        { "2001:db8::/31", ["8.b.d.0.1.0.0.2.ip6.arpa.", "9.b.d.0.1.0.0.2.ip6.arpa."] },
        { "2001:db8::/32", ["8.b.d.0.1.0.0.2.ip6.arpa."] },
        { "2001:db8::/30", ["8.b.d.0.1.0.0.2.ip6.arpa.", "9.b.d.0.1.0.0.2.ip6.arpa.", "a.b.d.0.1.0.0.2.ip6.arpa.", "b.b.d.0.1.0.0.2.ip6.arpa."] },
        { "fd00::/7", ["c.f.ip6.arpa.", "d.f.ip6.arpa."] },
        { "0.0.0.0/0", ["in-addr.arpa."] },
        { "10.0.0.1/32", ["1.0.0.10.in-addr.arpa."] },
    };

    [Theory]
    [MemberData(nameof(Cidrs))]
    public void Expands_cidr(string cidr, string[] zones)
    {
        Assert.Equal(zones, ZoneNames.ExpandCidr(cidr));
    }

    [Fact]
    public void Slash_27_becomes_32_single_address_zones()
    {
        var zones = ZoneNames.ExpandCidr("10.0.0.32/27");
        Assert.Equal(32, zones.Count);
        Assert.Equal("32.0.0.10.in-addr.arpa.", zones[0]);
        Assert.Equal("63.0.0.10.in-addr.arpa.", zones[^1]);
    }

    [Theory]
    [InlineData("10.0.0/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("010.0.0.0/8")]
    [InlineData("10.0.0.0")]
    [InlineData("fe80::1%eth0/64")]
    public void Rejects_bad_cidr(string cidr)
    {
        var e = Assert.Throws<FormatException>(() => ZoneNames.ExpandCidr(cidr));
        Assert.Equal($"invalid CIDR address: {cidr}", e.Message);
    }

    [Fact]
    public void Normalize_plugin_zone_arguments()
    {
        Assert.Equal(["example.org.", "0.10.in-addr.arpa.", "1.10.in-addr.arpa.", "foo.com.", "."],
            ZoneNames.Normalize(["Example.ORG", "10.0.0.0/15", "dns://foo.com:53", "."]));
    }

    [Theory]
    [InlineData("a..b", "zone is not a valid domain name: a..b")]
    [InlineData("a.b:", "expecting data after last colon: \"a.b:\"")]
    [InlineData("::/0", "invalid CIDR ::/0")]
    public void Normalize_throws_coredns_text(string arg, string message)
    {
        Assert.Equal(message, Assert.Throws<FormatException>(() => ZoneNames.Normalize([arg])).Message);
    }

    [Theory]
    [InlineData("Example.Org", true, "example.org.")]
    [InlineData(".", true, ".")]
    [InlineData("a.b.", true, "a.b.")]
    [InlineData(".a", false, "")]
    [InlineData("a..b", false, "")]
    [InlineData("", false, "")]
    public void TryNormalizeZone_cases(string text, bool ok, string zone)
    {
        Assert.Equal(ok, ZoneNames.TryNormalizeZone(text, out var z));
        Assert.Equal(zone, z);
    }

    [Fact]
    public void Label_and_name_length_limits()
    {
        Assert.True(ZoneNames.TryNormalizeZone(new string('a', 63) + ".org", out _));
        Assert.False(ZoneNames.TryNormalizeZone(new string('a', 64) + ".org", out _));
        var longest = string.Join(".", Enumerable.Repeat(new string('a', 63), 4)); // 255 chars, 256 octets on the wire
        Assert.True(ZoneNames.TryNormalizeZone(longest, out _));
        Assert.False(ZoneNames.TryNormalizeZone(longest + "a", out _));
    }
}
