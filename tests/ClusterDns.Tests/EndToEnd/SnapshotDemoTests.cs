using System.Net;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.EndToEnd;

/// <summary>The README demo: examples/Corefile's kubernetes block (snapshot of examples/demo-cluster.yaml) on a real server.</summary>
public sealed partial class SnapshotDemoTests
{
    [Fact]
    public async Task Demo_serves_the_snapshot_and_picks_up_edits()
    {
        var examples = Path.Combine(AppContext.BaseDirectory, "examples");
        var corefile = await File.ReadAllTextAsync(Path.Combine(examples, "Corefile"));
        // Only the kubernetes block: the demo's other plugins (hosts, log, errors) live on other branches.
        var block = KubernetesBlock().Match(corefile);
        Assert.True(block.Success, "no kubernetes block in examples/Corefile");
        var yaml = await File.ReadAllTextAsync(Path.Combine(examples, "demo-cluster.yaml"));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n" + block.Value + "\n}\n",
            new Dictionary<string, string> { ["demo-cluster.yaml"] = yaml });
        var target = server.Endpoint;

        var dig = await DnsProbe.DigAsync(target, "kubernetes.default.svc.cluster.local.", DnsType.A);
        Assert.Equal(DnsRcode.NoError, dig.Rcode);
        Assert.Equal("kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1", SeedCorefileTests.Present(Assert.Single(dig.Answer)));

        Assert.Equal(["10.96.145.12"], (await DnsProbe.AddressesAsync(target, "kiali.istio-system.svc.cluster.local.")).Addresses);
        Assert.Equal(["10.244.1.10", "10.244.2.11", "10.244.3.12"], (await DnsProbe.AddressesAsync(target, "db.default.svc.cluster.local.")).Addresses);
        Assert.Equal(["10.244.1.10"], (await DnsProbe.AddressesAsync(target, "db-0.db.default.svc.cluster.local.")).Addresses);
        var ptr = await DnsProbe.DigAsync(target, "1.0.96.10.in-addr.arpa.", DnsType.PTR, tcp: true);
        Assert.Equal("1.0.96.10.in-addr.arpa. 30 IN PTR kubernetes.default.svc.cluster.local.", SeedCorefileTests.Present(Assert.Single(ptr.Answer)));
        var pod = await DnsProbe.AddressesAsync(target, "10-244-1-10.default.pod.cluster.local.");
        Assert.Equal(["10.244.1.10"], pod.Addresses);
        var ext = await DnsProbe.UdpAsync(target, "ext.default.svc.cluster.local.", DnsType.CNAME);
        Assert.Equal("example.com.", Assert.IsType<CnameRecord>(Assert.Single(ext.Answer)).Target.ToString());
        Assert.Equal(DnsRcode.NXDomain, (await DnsProbe.UdpAsync(target, "nope.default.svc.cluster.local.", DnsType.A)).Rcode);

        // Edit the YAML as a user would: the web service moves to a new ClusterIP.
        Assert.Equal(["10.96.100.20"], (await DnsProbe.AddressesAsync(target, "web.default.svc.cluster.local.")).Addresses);
        var path = Path.Combine(server.Directory, "demo-cluster.yaml");
        await File.WriteAllTextAsync(path, yaml.Replace("10.96.100.20", "10.96.100.21", StringComparison.Ordinal));
        await Eventually.True(async () => (await DnsProbe.AddressesAsync(target, "web.default.svc.cluster.local.")).Addresses is ["10.96.100.21"],
            "the edited ClusterIP to be served", TimeSpan.FromSeconds(15));
        Assert.Equal(["10.96.0.1"], (await DnsProbe.AddressesAsync(target, "kubernetes.default.svc.cluster.local.")).Addresses);
    }

    [GeneratedRegex(@"^[ \t]*kubernetes [^\n]*\{.*?^[ \t]*\}", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex KubernetesBlock();
}
