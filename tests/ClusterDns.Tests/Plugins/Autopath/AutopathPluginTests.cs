using ClusterDns.Plugins.Autopath;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.Plugins.Autopath.AutopathTestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Autopath;

/// <summary>autopath through the real server: clients send from their pod's (loopback) address.</summary>
public sealed class AutopathPluginTests
{
    public sealed record Case(string Label, string Source, string Name, DnsType Type, DnsRcode Rcode, string[] Answers, bool Counted)
    {
        public override string ToString() => Label;
    }

    public static TheoryData<Case> KubernetesCases() =>
    [
        new("own-namespace service: found on the first try, no CNAME", Ns1Pod, "web.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NoError,
            ["web.ns1.svc.cluster.local. 30 A 10.96.0.20"], true),
        new("other namespace's service: CNAME to <name>.<ns>.svc.<zone>", Ns1Pod, "api.default.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NoError,
            ["api.default.ns1.svc.cluster.local. 30 CNAME api.default.svc.cluster.local.", "api.default.svc.cluster.local. 30 A 10.96.0.30"], true),
        new("the client's case is kept in the base name", Ns1Pod, "Api.Default.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NoError,
            ["Api.Default.ns1.svc.cluster.local. 30 CNAME Api.Default.svc.cluster.local.", "Api.Default.svc.cluster.local. 30 A 10.96.0.30"], true),
        new("external name: every cluster element fails, the bare name is answered by hosts", Ns1Pod, "google.com.ns1.svc.cluster.local.", DnsType.A,
            DnsRcode.NoError, ["google.com.ns1.svc.cluster.local. 60 CNAME google.com.", "google.com. 60 A 192.0.2.10"], true),
        new("NODATA counts as found: no answer, so no CNAME", Ns1Pod, "api.default.ns1.svc.cluster.local.", DnsType.AAAA, DnsRcode.NoError, [], true),
        new("every try NXDOMAIN: the first reply as is", Ns1Pod, "nothing.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NXDomain, [], false),
        new("the first element itself has no base name: SERVFAIL (trimzone)", Ns1Pod, "ns1.svc.cluster.local.", DnsType.A, DnsRcode.ServFail, [], false),
        new("a pod of another namespace has another search path", DefaultPod, "web.ns1.default.svc.cluster.local.", DnsType.A, DnsRcode.NoError,
            ["web.ns1.default.svc.cluster.local. 30 CNAME web.ns1.svc.cluster.local.", "web.ns1.svc.cluster.local. 30 A 10.96.0.20"], true),
        new("not under the client's first element: untouched", DefaultPod, "api.default.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NXDomain, [], false),
        new("a client that is no pod: untouched", Stranger, "api.default.ns1.svc.cluster.local.", DnsType.A, DnsRcode.NXDomain, [], false),
        new("outside the kubernetes zones: untouched", Ns1Pod, "google.com.", DnsType.A, DnsRcode.NoError, ["google.com. 60 A 192.0.2.10"], false),
    ];

    [Theory]
    [MemberData(nameof(KubernetesCases))]
    public async Task Kubernetes_search_path_of_the_querying_pod(Case c)
    {
        await using var server = await TestDnsServer.StartAsync(ClusterCorefile(), Files);
        foreach (var tcp in new[] { false, true })
        {
            var before = AutopathMetrics.Success.WithLabels("dns://:0").Value;
            var reply = await QueryFromAsync(server.Endpoint, c.Source, c.Name, c.Type, tcp);
            var via = tcp ? "TCP" : "UDP";
            Assert.True(c.Rcode == reply.Rcode, $"{via}: rcode {reply.Rcode}, expected {c.Rcode}");
            Assert.Equal(c.Answers, Answers(reply));
            Assert.Equal(c.Name, Assert.Single(reply.Questions).Name.ToString());
            Assert.Equal(4321, reply.Header.Id);
            if (c.Counted)
            {
                // Other tests of this class run one at a time: the counter moves by exactly one (for this server label).
                Assert.Equal(before + 1, AutopathMetrics.Success.WithLabels("dns://:0").Value);
            }
        }
    }

    [Fact]
    public async Task NXDOMAIN_first_reply_keeps_the_authority_of_the_original_name()
    {
        await using var server = await TestDnsServer.StartAsync(ClusterCorefile(), Files);
        var reply = await QueryFromAsync(server.Endpoint, Ns1Pod, "nothing.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, reply.Rcode);
        var soa = Assert.IsType<SoaRecord>(Assert.Single(reply.Authorities));
        Assert.Equal("cluster.local.", soa.Name.ToString());
    }

    [Theory]
    [InlineData("insecure")]
    [InlineData("disabled")]
    public async Task Without_pods_verified_nothing_is_autopathed(string pods)
    {
        await using var server = await TestDnsServer.StartAsync(ClusterCorefile(pods), Files);
        var reply = await QueryFromAsync(server.Endpoint, Ns1Pod, "api.default.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, reply.Rcode);
        Assert.Empty(reply.Answers);
    }

    [Fact]
    public async Task Zones_argument_limits_autopath()
    {
        await using var server = await TestDnsServer.StartAsync(ClusterCorefile(autopath: "autopath example.org @kubernetes"), Files);
        var reply = await QueryFromAsync(server.Endpoint, Ns1Pod, "api.default.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NXDomain, reply.Rcode);
    }

    [Fact]
    public async Task Resolv_conf_search_list_is_used_for_every_client()
    {
        const string StaticCorefile = """
            .:0 {
                autopath example.org search.conf
                hosts {
                    192.0.2.1 www.example.net
                    192.0.2.2 www.example.com
                }
            }
            """;
        var files = new Dictionary<string, string> { ["search.conf"] = "nameserver 10.0.0.1\ndomain ignored.test\nsearch Example.ORG example.net\noptions ndots:5\n" };
        await using var server = await TestDnsServer.StartAsync(StaticCorefile, files);
        var found = await QueryFromAsync(server.Endpoint, Stranger, "www.example.org.", DnsType.A);
        Assert.Equal(["www.example.org. 3600 CNAME www.example.net.", "www.example.net. 3600 A 192.0.2.1"], Answers(found));
        var bare = await QueryFromAsync(server.Endpoint, "127.0.0.1", "www.example.com.example.org.", DnsType.A);
        Assert.Equal(["www.example.com.example.org. 3600 CNAME www.example.com.", "www.example.com. 3600 A 192.0.2.2"], Answers(bare));
        var outside = await QueryFromAsync(server.Endpoint, Stranger, "www.example.net.", DnsType.A);
        Assert.Equal(["www.example.net. 3600 A 192.0.2.1"], Answers(outside));
    }

    [Theory]
    [InlineData("autopath", "plugin/autopath: no resolv-conf specified")]
    [InlineData("autopath kubernetes", "plugin/autopath: failed to parse \"kubernetes\": open kubernetes: no such file or directory")]
    [InlineData("autopath example.org missing.conf", "plugin/autopath: failed to parse \"missing.conf\": open missing.conf: no such file or directory")]
    [InlineData("autopath @hosts", "plugin/autopath: hosts does not implement the AutoPather interface")]
    [InlineData("autopath /etc/resolv.conf\n    autopath /etc/resolv.conf", "plugin/autopath: this plugin can only be used once per Server Block")]
    public async Task Bad_configuration_fails_with_coredns_text(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    hosts {{\n        fallthrough\n    }}\n}}\n"));
    }

    [Fact]
    public async Task At_a_plugin_missing_from_the_block_does_nothing()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    autopath @kubernetes\n    hosts {\n        192.0.2.10 google.com.ns1.svc.cluster.local\n    }\n}\n");
        var reply = await QueryFromAsync(server.Endpoint, Ns1Pod, "google.com.ns1.svc.cluster.local.", DnsType.A);
        Assert.Equal(["google.com.ns1.svc.cluster.local. 3600 A 192.0.2.10"], Answers(reply));
    }
}
