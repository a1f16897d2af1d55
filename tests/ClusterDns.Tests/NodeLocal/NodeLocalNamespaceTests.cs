using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ClusterDns.Tests.TestSupport;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.NodeLocal;

/// <summary>
/// NodeLocal DNSCache on a real kernel, in a network namespace of its own standing in for the node: a cluster
/// instance (the demo snapshot Corefile) on the kube-dns-upstream address, and <c>clusterdns nodelocal</c> started
/// with deploy/nodelocal's DaemonSet args and ConfigMap template. The interface, its addresses and node-cache's
/// iptables rules appear (read back with <c>ip</c> and <c>iptables-save</c>), a query to 169.254.20.10 is answered
/// by the node-local cache over TCP from the cluster instance, a deleted rule comes back within the sync interval,
/// and SIGTERM leaves the namespace as it was.
/// </summary>
public sealed partial class NodeLocalNamespaceTests
{
    private const string LocalDns = "169.254.20.10";
    private const string KubeDns = "10.96.0.10";
    private const string Upstream = "10.96.5.5"; // kube-dns-upstream's cluster IP, where the cluster instance listens

    /// <summary>What iptables-save prints for each rule cache_app.go installs, per local IP (table, line).</summary>
    internal static IEnumerable<(string Table, string Line)> ExpectedRules(string ip) =>
    [
        ("raw", $"-A PREROUTING -d {ip}/32 -p tcp -m tcp --dport 53 -j NOTRACK"),
        ("raw", $"-A PREROUTING -d {ip}/32 -p udp -m udp --dport 53 -j NOTRACK"),
        ("filter", $"-A INPUT -d {ip}/32 -p tcp -m tcp --dport 53 -j ACCEPT"),
        ("filter", $"-A INPUT -d {ip}/32 -p udp -m udp --dport 53 -j ACCEPT"),
        ("raw", $"-A OUTPUT -s {ip}/32 -p tcp -m tcp --sport 53 -j NOTRACK"),
        ("raw", $"-A OUTPUT -s {ip}/32 -p udp -m udp --sport 53 -j NOTRACK"),
        ("filter", $"-A OUTPUT -s {ip}/32 -p tcp -m tcp --sport 53 -j ACCEPT"),
        ("filter", $"-A OUTPUT -s {ip}/32 -p udp -m udp --sport 53 -j ACCEPT"),
        ("raw", $"-A OUTPUT -d {ip}/32 -p tcp -m tcp --dport 53 -j NOTRACK"),
        ("raw", $"-A OUTPUT -d {ip}/32 -p udp -m udp --dport 53 -j NOTRACK"),
        ("raw", $"-A OUTPUT -d {ip}/32 -p tcp -m tcp --dport 8080 -j NOTRACK"),
        ("raw", $"-A OUTPUT -s {ip}/32 -p tcp -m tcp --sport 8080 -j NOTRACK"),
    ];

    [Fact]
    public async Task Nodelocal_sets_up_the_node_serves_over_tcp_repairs_rules_and_tears_down()
    {
        var probe = await ServerTestKit.RunAsync("unshare", ["--net", "true"]);
        if (probe.ExitCode != 0 && probe.Stderr.Contains("Operation not permitted", StringComparison.Ordinal))
        {
            return; // the kernel (or the sandbox running the tests) refuses new namespaces: nothing to run here
        }
        Assert.True(probe.ExitCode == 0, $"unshare failed for a reason other than a refused namespace: {probe}");

        var id = Guid.NewGuid().ToString("N")[..6];
        var ns = "cdns-nl-" + id;
        var directory = ClusterDnsProcess.NewDirectory();
        var netnsEtc = Path.Combine("/etc/netns", ns);
        ClusterDnsProcess? cluster = null;
        ClusterDnsProcess? nodeLocal = null;
        try
        {
            // The "node": loopback up, the upstream Service IP routed locally; its resolv.conf (ip netns exec mounts
            // /etc/netns/NS/resolv.conf over /etc/resolv.conf) names the cluster DNS, as dnsPolicy Default would.
            await Sh($"ip netns add {ns}");
            await Sh($"ip netns exec {ns} ip link set lo up");
            await Sh($"ip netns exec {ns} ip addr add {Upstream}/32 dev lo");
            Directory.CreateDirectory(netnsEtc);
            await File.WriteAllTextAsync(Path.Combine(netnsEtc, "resolv.conf"), $"nameserver {Upstream}\n");
            Assert.Empty(await IptablesRules(ns));

            // The cluster DNS: the demo Corefile on port 53 of the upstream address.
            var demo = await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "examples", "Corefile"));
            Assert.Contains(".:1053 {", demo, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(directory, "Cluster.Corefile"), demo.Replace(".:1053 {", $".:53 {{\n    bind {Upstream}", StringComparison.Ordinal));
            File.Copy(Path.Combine(RepoRoot(), "examples", "demo-cluster.yaml"), Path.Combine(directory, "demo-cluster.yaml"));
            cluster = ClusterDnsProcess.StartWith(directory, ["ip", "netns", "exec", ns], "-conf", "Cluster.Corefile");
            await cluster.WaitForBannerAsync();

            // The node-local cache, with the DaemonSet's args (paths moved into the test directory, sync every second).
            await File.WriteAllTextAsync(Path.Combine(directory, "Corefile.base"), ConfigMapTemplate());
            var args = DaemonSetArgs()
                .Select(a => a.Replace("/etc/coredns/", directory + "/", StringComparison.Ordinal).Replace("/run/nodelocal/", directory + "/", StringComparison.Ordinal))
                .ToList();
            var sync = args.IndexOf("-syncinterval");
            Assert.True(sync > 0, string.Join(' ', args));
            args[sync + 1] = "1s";
            nodeLocal = ClusterDnsProcess.StartWith(directory, ["env", $"KUBE_DNS_UPSTREAM_SERVICE_HOST={Upstream}", "ip", "netns", "exec", ns], [.. args]);
            Assert.True(await Eventually.Holds(() => nodeLocal.Stdout.Contains("nodelocal: serving on", StringComparison.Ordinal) || nodeLocal.HasExited, TimeSpan.FromSeconds(60)),
                $"nodelocal did not come up\n{nodeLocal.Stdout}\n{nodeLocal.Stderr}");
            Assert.False(nodeLocal.HasExited, $"nodelocal exited\n{nodeLocal.Stdout}\n{nodeLocal.Stderr}");
            var rendered = await File.ReadAllTextAsync(Path.Combine(directory, "Corefile"));
            Assert.Contains($"forward . {Upstream} {{", rendered, StringComparison.Ordinal);
            Assert.Contains("forward . /etc/resolv.conf", rendered, StringComparison.Ordinal);

            // The interface with both addresses (/32), and every rule node-cache installs.
            var addresses = await Sh($"ip netns exec {ns} ip -o -4 addr show dev nodelocaldns");
            Assert.Contains($" {LocalDns}/32 ", addresses.Stdout, StringComparison.Ordinal);
            Assert.Contains($" {KubeDns}/32 ", addresses.Stdout, StringComparison.Ordinal);
            var expected = ExpectedRules(LocalDns).Concat(ExpectedRules(KubeDns)).Select(r => $"{r.Table} {r.Line}").Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expected, await IptablesRules(ns));

            // A query to the link-local address: answered by the cache (nothing else listens there), which asked the
            // cluster instance over TCP (its log plugin prints the protocol). The second is a cache hit.
            const string Name = "db.default.svc.cluster.local";
            foreach (var server in new[] { LocalDns, LocalDns, KubeDns })
            {
                var dig = await Sh($"ip netns exec {ns} dig +short +time=5 +tries=2 @{server} {Name} A");
                Assert.Equal(["10.244.1.10", "10.244.2.11", "10.244.3.12"], dig.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
            }
            var upstreamQueries = UpstreamQueryLine().Matches(cluster.Stdout).Where(m => m.Groups["name"].Value == Name + ".").ToList();
            Assert.True(upstreamQueries.Count == 1, $"the cluster instance saw {upstreamQueries.Count} queries for {Name} (one expected: the rest are cache hits)\n{cluster.Stdout}");
            Assert.Equal("tcp", upstreamQueries[0].Groups["proto"].Value);
            Assert.StartsWith(Upstream + ":", upstreamQueries[0].Groups["client"].Value, StringComparison.Ordinal);

            // A rule deleted behind its back (as an iptables-restore by another agent would) is back within the interval.
            // (The first "Added back" line is the initial install; a second one is the repair.)
            var addedBack = $"Added back nodelocaldns rule - iptables -t raw PREROUTING -p udp -d {LocalDns} --dport 53 -j NOTRACK";
            Assert.Equal(1, Occurrences(nodeLocal.Stdout, addedBack));
            await Sh($"ip netns exec {ns} iptables -t raw -D PREROUTING -p udp -d {LocalDns} --dport 53 -j NOTRACK");
            Assert.True(await Eventually.Holds(() => Occurrences(nodeLocal.Stdout, addedBack) == 2, TimeSpan.FromSeconds(20)),
                $"the deleted rule was not added back\n{nodeLocal.Stdout}");
            Assert.Equal(expected, await IptablesRules(ns));

            // SIGTERM: every rule and the interface are gone, the process exits 0.
            await nodeLocal.SignalAsync("TERM");
            Assert.Equal(0, await nodeLocal.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("Tearing down", nodeLocal.Stdout, StringComparison.Ordinal);
            Assert.Empty(await IptablesRules(ns));
            var link = await ServerTestKit.RunAsync("ip", ["netns", "exec", ns, "ip", "link", "show", "dev", "nodelocaldns"]);
            Assert.True(link.ExitCode != 0, $"the interface is still there: {link}");
            Assert.DoesNotContain(LocalDns, (await Sh($"ip netns exec {ns} ip -o addr")).Stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (nodeLocal is not null)
            {
                await nodeLocal.DisposeAsync();
            }
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
            await ServerTestKit.RunAsync("sh", ["-c", $"ip netns del {ns} 2>/dev/null; true"]);
            if (Directory.Exists(netnsEtc))
            {
                Directory.Delete(netnsEtc, recursive: true);
            }
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("no local ip", new[] { "nodelocal", "-localip", "" }, "invalid localip specified - \"\"")]
    [InlineData("bad local ip", new[] { "nodelocal", "-localip", "169.254.20.10,10.96.0" }, "invalid localip specified - \"10.96.0\"")]
    [InlineData("bad interval", new[] { "nodelocal", "-localip", "169.254.20.10", "-syncinterval", "soon" }, "invalid value \"soon\" for flag -syncinterval")]
    [InlineData("unknown flag", new[] { "nodelocal", "-localip", "169.254.20.10", "-kubednscm", "/etc/kube-dns" }, "-kubednscm")]
    public async Task Nodelocal_refuses_bad_flags_before_touching_the_node(string because, string[] args, string error)
    {
        var output = await RunInNamespaceAsync(ClusterDnsProcess.NewDirectory(), args);
        if (output is null)
        {
            return; // no namespaces here: never run the agent against the host's own network
        }
        Assert.True(output.ExitCode != 0, $"{because}: {output}");
        Assert.Contains(error, output.Stderr + output.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Added interface", output.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodelocal_refuses_a_template_with_placeholders_it_does_not_fill()
    {
        var directory = ClusterDnsProcess.NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile.base"), "__PILLAR__DNS__DOMAIN__:53 {\n    bind __PILLAR__LOCAL__DNS__\n    forward . __PILLAR__CLUSTER__DNS__\n}\n");
        var output = await RunInNamespaceAsync(directory, ["nodelocal", "-localip", LocalDns, "-basecorefile", "Corefile.base", "-conf", "Corefile", "-upstreamsvc", "no-such-svc"]);
        if (output is null)
        {
            return;
        }
        Assert.Equal(1, output.ExitCode);
        Assert.Contains("Unable to lookup IP address of Upstream service no-such-svc, env NO_SUCH_SVC_SERVICE_HOST", output.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Added interface", output.Stdout, StringComparison.Ordinal);
    }

    /// <summary>Runs clusterdns to completion in a throwaway network namespace (null when namespaces are refused).</summary>
    private static async Task<ProcessOutput?> RunInNamespaceAsync(string directory, string[] args)
    {
        var ns = "cdns-nlf-" + Guid.NewGuid().ToString("N")[..6];
        if ((await ServerTestKit.RunAsync("ip", ["netns", "add", ns])).ExitCode != 0)
        {
            return null;
        }
        try
        {
            await using var process = ClusterDnsProcess.StartWith(directory, ["ip", "netns", "exec", ns], args);
            var exitCode = await process.WaitForExitAsync(ServerTestKit.ProcessTimeout);
            return new ProcessOutput(exitCode, process.Stdout, process.Stderr);
        }
        finally
        {
            await ServerTestKit.RunAsync("ip", ["netns", "del", ns]);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int Occurrences(string text, string value) => Regex.Count(text, Regex.Escape(value));

    private static async Task<List<string>> IptablesRules(string ns)
    {
        var rules = new List<string>();
        foreach (var table in new[] { "raw", "filter" })
        {
            var save = await Sh($"ip netns exec {ns} iptables-save -t {table}");
            rules.AddRange(save.Stdout.Split('\n').Where(l => l.StartsWith("-A ", StringComparison.Ordinal)).Select(l => $"{table} {l.Trim()}"));
        }
        rules.Sort(StringComparer.Ordinal);
        return rules;
    }

    private static async Task<ProcessOutput> Sh(string command)
    {
        var output = await ServerTestKit.RunAsync("sh", ["-c", command], TimeSpan.FromSeconds(60));
        Assert.True(output.ExitCode == 0, $"{command}: {output}");
        return output;
    }

    private static string ConfigMapTemplate() =>
        KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(RepoRoot(), "deploy", "nodelocal", "configmap.yaml"))).OfType<V1ConfigMap>().Single().Data["Corefile"];

    private static IList<string> DaemonSetArgs() =>
        KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(RepoRoot(), "deploy", "nodelocal", "daemonset.yaml"))).OfType<V1DaemonSet>().Single()
            .Spec.Template.Spec.Containers.Single().Args;

    /// <summary>The log plugin's line: <c>[INFO] CLIENT - ID "TYPE CLASS NAME PROTO SIZE DO BUFSIZE" RCODE ...</c>.</summary>
    [GeneratedRegex(@"\[INFO\] (?<client>\S+) - \d+ ""A IN (?<name>\S+) (?<proto>tcp|udp) ")]
    private static partial Regex UpstreamQueryLine();

    private static string RepoRoot([CallerFilePath] string path = "")
    {
        var directory = Path.GetDirectoryName(path)!;
        while (!Directory.Exists(Path.Combine(directory, "src", "ClusterDns")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }
        return directory;
    }
}
