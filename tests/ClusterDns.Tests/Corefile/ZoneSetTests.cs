using ClusterDns.Corefile;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.Corefile;

/// <summary>The longest-zone rule every plugin and the server share: one row per (zones, name) case.</summary>
public sealed class ZoneSetTests
{
    private static readonly string[] Cluster = ["cluster.local.", "svc.cluster.local.", "example.org."];
    private static readonly string[] WithRoot = [".", "example.org.", "sub.example.org."];
    private static readonly string[] Reverse = ["10.in-addr.arpa.", "0.10.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.", "in-addr.arpa."];

    /// <summary>Zones, queried name, the longest match and the shortest (parent-most) match; null = no zone.</summary>
    public static TheoryData<string, string[], string, string?, string?> Cases => new()
    {
        { "apex", Cluster, "cluster.local.", "cluster.local.", "cluster.local." },
        { "below apex", Cluster, "a.b.cluster.local.", "cluster.local.", "cluster.local." },
        { "nested zone wins", Cluster, "kubernetes.default.svc.cluster.local.", "svc.cluster.local.", "cluster.local." },
        { "nested apex", Cluster, "svc.cluster.local.", "svc.cluster.local.", "cluster.local." },
        { "parent of every zone", Cluster, "local.", null, null },
        { "unrelated", Cluster, "example.com.", null, null },
        { "label boundary", Cluster, "notexample.org.", null, null },
        { "label boundary, nested", Cluster, "xsvc.cluster.local.", "cluster.local.", "cluster.local." },
        { "root query", Cluster, ".", null, null },
        { "root catches the rest", WithRoot, "example.com.", ".", "." },
        { "root itself", WithRoot, ".", ".", "." },
        { "root below others", WithRoot, "www.sub.example.org.", "sub.example.org.", "." },
        { "upper-case name", Cluster, "KUBERNETES.Default.SVC.Cluster.Local.", "svc.cluster.local.", "cluster.local." },
        { "upper-case name outside", Cluster, "EXAMPLE.COM.", null, null },
        { "reverse /16", Reverse, "4.3.0.10.in-addr.arpa.", "0.10.in-addr.arpa.", "in-addr.arpa." },
        { "reverse /8", Reverse, "4.3.2.10.in-addr.arpa.", "10.in-addr.arpa.", "in-addr.arpa." },
        { "reverse other network", Reverse, "1.0.168.192.in-addr.arpa.", "in-addr.arpa.", "in-addr.arpa." },
        { "reverse ip6", Reverse, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa." },
        { "reverse ip6 other", Reverse, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.ip6.arpa.", null, null },
        { "no zones", [], "example.org.", null, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Longest_and_shortest_zone_containing_the_name(string @case, string[] zones, string name, string? longest, string? shortest)
    {
        var set = new ZoneSet(zones);
        var wire = DnsName.Parse(name).Wire;

        var match = set.Match(wire);
        Assert.True((match < 0 ? null : set[match]) == longest, $"{@case}: Match gave {(match < 0 ? "none" : set[match])}, expected {longest ?? "none"}");
        var parentMost = set.MatchShortest(wire);
        Assert.True((parentMost < 0 ? null : set[parentMost]) == shortest, $"{@case}: MatchShortest gave {(parentMost < 0 ? "none" : set[parentMost])}, expected {shortest ?? "none"}");
        Assert.True(set.Covers(wire) == (longest is not null), $"{@case}: Covers");
    }

    [Fact]
    public void Indices_are_those_of_the_list_given_and_the_earlier_of_two_equal_zones_wins()
    {
        var set = new ZoneSet(["example.org.", "b.example.org.", "a.example.org.", "b.example.org."]);
        Assert.Equal(1, set.Match(DnsName.Parse("x.b.example.org.").Wire));
        Assert.Equal(2, set.Match(DnsName.Parse("a.example.org.").Wire));
        Assert.Equal(0, set.Match(DnsName.Parse("c.example.org.").Wire));
        Assert.Equal(0, set.MatchShortest(DnsName.Parse("x.b.example.org.").Wire));
    }

    [Fact]
    public void Exposes_the_zones_their_names_and_label_counts()
    {
        var set = new ZoneSet([".", "svc.cluster.local."]);
        Assert.Equal(2, set.Count);
        Assert.False(set.IsEmpty);
        Assert.True(ZoneSet.Empty.IsEmpty);
        Assert.Equal([".", "svc.cluster.local."], set.Zones);
        Assert.Equal(0, set.LabelCount(0));
        Assert.Equal(3, set.LabelCount(1));
        Assert.Equal(DnsName.Parse("svc.cluster.local."), set.Name(1));
        Assert.Equal(1, set.IndexOf("svc.cluster.local."));
        Assert.Equal(-1, set.IndexOf("cluster.local."));
        Assert.True(set.Contains("."));
        Assert.False(set.Contains("local."));
    }

    [Fact]
    public void Matching_allocates_nothing()
    {
        var set = new ZoneSet(Reverse);
        var name = DnsName.Parse("4.3.0.10.in-addr.arpa.").Wire.ToArray();
        var sum = set.Match(name) + set.MatchShortest(name); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            sum += set.Match(name) + set.MatchShortest(name) + (set.Covers(name) ? 1 : 0);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0, sum);
    }
}
