using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using ClusterDns.Tests.NodeLocal;
using ClusterDns.Tests.TestSupport;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Deploy;

/// <summary>
/// The NodeLocal image as the DaemonSet runs it. <c>deploy/rootfs.sh --nodelocal</c> assembles the image's root
/// filesystem (the script is the reference; the Dockerfile's <c>nodelocal</c> stage runs it and copies the result
/// onto scratch): the native AOT <c>/clusterdns</c> (<c>CLUSTERDNS_AOT_BINARY</c>, as test.sh publishes it), the
/// <c>ip</c> and <c>iptables</c> binaries the agent runs, their libraries, the xtables modules, with iptables linked
/// to the nft or the legacy backend (one case each). Everything the run uses is read from
/// deploy/nodelocal/daemonset.yaml, not restated here: the container's args exactly as written; its volumes mounted
/// where its volumeMounts say (the ConfigMap's template at /etc/coredns/Corefile.base, read-only; the in-memory
/// emptyDir at /run/nodelocal; a stand-in for the node's /run/xtables.lock); what the kubelet adds for hostNetwork
/// with dnsPolicy Default (the node's resolv.conf, hosts, hostname; /proc, /dev, /sys read-only;
/// KUBE_DNS_UPSTREAM_SERVICE_HOST; the image's PATH); its securityContext (uid, read-only root, no privilege
/// escalation, a bounding set of exactly the capabilities it adds). The process is chrooted into the folder inside
/// a network namespace created here (standing in for the node), next to a cluster instance (the demo snapshot) on
/// the kube-dns-upstream address. Then: the interface holds 169.254.20.10 and the kube-dns IP, node-cache's 24
/// NOTRACK/ACCEPT rules are there (read back with the host's iptables-save of the same backend), dig @169.254.20.10
/// is answered by the node-local instance, which asked the cluster instance over TCP (force_tcp), the liveness
/// probe answers, and SIGTERM (what the kubelet sends) removes every rule and the interface. Test-only addition to
/// the folder: /usr/bin/setpriv (uid and capability drop after chroot, as a container runtime does it).
/// </summary>
public sealed partial class NodeLocalRootFilesystemTests(ITestOutputHelper output)
{
    private const string LocalDns = "169.254.20.10";
    private const string KubeDns = "10.96.0.10";
    private const string Upstream = "10.96.5.5"; // kube-dns-upstream's cluster IP, where the cluster instance listens

    /// <summary>The image's PATH (the Dockerfile's nodelocal stage sets it; a scratch image has none of its own).</summary>
    private const string ImagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Capability bits (linux/capability.h) for the names a securityContext uses.</summary>
    private static readonly Dictionary<string, int> CapabilityBits = new(StringComparer.Ordinal)
    {
        ["NET_BIND_SERVICE"] = 10, ["NET_ADMIN"] = 12, ["NET_RAW"] = 13,
    };

    /// <summary>IPTABLES_BACKEND, the host's iptables-save of the same backend, what `iptables --version` says.</summary>
    public static TheoryData<string, string, string> Backends() => new()
    {
        { "nft", "iptables-nft-save", "(nf_tables)" },
        { "legacy", "iptables-legacy-save", "(legacy)" },
    };

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Nodelocal_image_runs_as_the_daemonset_specifies(string backend, string hostSave, string version)
    {
        var probe = await ServerTestKit.RunAsync("unshare", ["--net", "--mount", "true"]);
        if (probe.ExitCode != 0 && probe.Stderr.Contains("Operation not permitted", StringComparison.Ordinal))
        {
            return; // the kernel (or the sandbox running the tests) refuses new namespaces: nothing to run here
        }
        Assert.True(probe.ExitCode == 0, $"unshare failed for a reason other than a refused namespace: {probe}");

        var id = Guid.NewGuid().ToString("N")[..6];
        var ns = "cdns-nlr-" + id;
        var root = Path.Combine(Path.GetTempPath(), "clusterdns-nlroot-" + id);
        var directory = ClusterDnsProcess.NewDirectory();
        ClusterDnsProcess? cluster = null;
        ClusterDnsProcess? agent = null;
        try
        {
            // The image's root filesystem, and what it must hold for the agent.
            var build = await ServerTestKit.RunAsync("sh", ["-c", $"IPTABLES_BACKEND={backend} sh {Path.Combine(RepoRoot(), "deploy", "rootfs.sh")} --nodelocal {root}"], TimeSpan.FromMinutes(25));
            Assert.True(build.ExitCode == 0, $"rootfs.sh --nodelocal failed: {build}");
            var missing = ImageFiles(root).Where(f => !File.Exists(Path.Combine(root, f.Path.TrimStart('/')))).Select(f => $"{f.Path} ({f.Why})").ToList();
            Assert.True(missing.Count == 0, $"the nodelocal root filesystem lacks: {string.Join(", ", missing)}");
            var iptablesVersion = await ServerTestKit.RunAsync("chroot", [root, "/usr/sbin/iptables", "--version"]);
            Assert.True(iptablesVersion.Stdout.Contains(version, StringComparison.Ordinal), $"IPTABLES_BACKEND={backend}: the image's iptables is not {version}: {iptablesVersion}");
            var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "Dockerfile"));
            Assert.Contains("deploy/rootfs.sh --nodelocal /rootfs", dockerfile, StringComparison.Ordinal);
            Assert.Contains($"ENV PATH={ImagePath}", dockerfile, StringComparison.Ordinal);
            // Both default to the nft backend.
            Assert.Contains("ARG IPTABLES_BACKEND=nft", dockerfile, StringComparison.Ordinal);
            Assert.Contains("backend=${IPTABLES_BACKEND:-nft}", await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "deploy", "rootfs.sh")), StringComparison.Ordinal);

            // The node: its own network namespace, loopback up, kube-dns-upstream's IP routed locally.
            await Sh($"ip netns add {ns}");
            await Sh($"ip netns exec {ns} ip link set lo up");
            await Sh($"ip netns exec {ns} ip addr add {Upstream}/32 dev lo");
            Assert.Empty(await IptablesRules(ns, hostSave));

            // The cluster DNS: the demo snapshot Corefile on port 53 of the upstream address, with log (protocol).
            var demo = await File.ReadAllTextAsync(Path.Combine(RepoRoot(), "examples", "Corefile"));
            Assert.Contains(".:1053 {", demo, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(directory, "Cluster.Corefile"), demo.Replace(".:1053 {", $".:53 {{\n    bind {Upstream}", StringComparison.Ordinal));
            File.Copy(Path.Combine(RepoRoot(), "examples", "demo-cluster.yaml"), Path.Combine(directory, "demo-cluster.yaml"));
            cluster = ClusterDnsProcess.StartWith(directory, ["ip", "netns", "exec", ns], "-conf", "Cluster.Corefile");
            await cluster.WaitForBannerAsync();

            // The pod, from the manifest.
            var pod = DaemonSet().Spec.Template.Spec;
            var container = Assert.Single(pod.Containers);
            Assert.True(pod.HostNetwork == true, "the DaemonSet is not hostNetwork: the agent would set up the pod's own namespace, not the node's");
            var security = container.SecurityContext;
            Assert.Equal(["ALL"], security.Capabilities.Drop);
            var unknown = security.Capabilities.Add.Where(c => !CapabilityBits.ContainsKey(c)).ToList();
            Assert.True(unknown.Count == 0, $"capabilities this test does not map to bits: {string.Join(", ", unknown)}");
            var capMask = security.Capabilities.Add.Aggregate(0L, (mask, c) => mask | (1L << CapabilityBits[c]));
            var uid = security.RunAsUser ?? 0;
            var script = new StringBuilder("set -eu\n");
            // Test-only: setpriv inside the root, so the capability drop happens after chroot (which needs CAP_SYS_CHROOT).
            await Sh($"for f in /usr/bin/setpriv $(ldd /usr/bin/setpriv | awk '/=>/ {{print $3}}'); do mkdir -p {root}$(dirname $f); cp -L $f {root}$f; done");
            // Mount points the runtime creates, then the root read-only (as the manifest asks), then the mounts.
            foreach (var file in new[] { "etc/resolv.conf", "etc/hosts", "etc/hostname" })
            {
                await File.WriteAllTextAsync(Path.Combine(root, file), string.Empty);
            }
            await File.WriteAllTextAsync(Path.Combine(directory, "resolv.conf"), $"nameserver {Upstream}\n");
            await File.WriteAllTextAsync(Path.Combine(directory, "hosts"), "127.0.0.1 localhost\n");
            await File.WriteAllTextAsync(Path.Combine(directory, "hostname"), "node-1\n");
            var volumeMounts = new StringBuilder();
            foreach (var mount in container.VolumeMounts)
            {
                var volume = pod.Volumes.Single(v => v.Name == mount.Name);
                volumeMounts.Append(await MountVolumeAsync(volume, mount, root, directory));
            }
            script.Append(CultureInfo.InvariantCulture, $"mount --bind {root} {root}\n");
            if (security.ReadOnlyRootFilesystem == true)
            {
                script.Append(CultureInfo.InvariantCulture, $"mount -o remount,bind,ro {root}\n");
            }
            script.Append(CultureInfo.InvariantCulture, $"""
                mount -t proc proc {root}/proc
                mount --rbind /dev {root}/dev
                mount -t sysfs -o ro sysfs {root}/sys
                mount --bind {directory}/resolv.conf {root}/etc/resolv.conf
                mount --bind {directory}/hosts {root}/etc/hosts
                mount --bind {directory}/hostname {root}/etc/hostname

                """);
            script.Append(volumeMounts);
            var setpriv = new StringBuilder($"/usr/bin/setpriv --reuid {uid} --regid {uid} --clear-groups --inh-caps -all --bounding-set -all");
            foreach (var capability in security.Capabilities.Add)
            {
                setpriv.Append(",+").Append(capability.ToLowerInvariant());
            }
            if (security.AllowPrivilegeEscalation == false)
            {
                setpriv.Append(" --no-new-privs");
            }
            var environment = $"PATH={ImagePath} HOSTNAME=node-1 KUBERNETES_SERVICE_HOST=10.96.0.1 KUBERNETES_SERVICE_PORT=443 "
                + $"KUBE_DNS_UPSTREAM_SERVICE_HOST={Upstream} KUBE_DNS_UPSTREAM_SERVICE_PORT=53";
            foreach (var variable in container.Env ?? [])
            {
                environment += $" {variable.Name}={variable.Value}";
            }
            // exec all the way down: the process the test started is /clusterdns, so SIGTERM reaches it as kubelet's does.
            script.Append(CultureInfo.InvariantCulture, $"exec env -i {environment} chroot {root} {setpriv} /clusterdns \"$@\"\n");
            agent = ClusterDnsProcess.StartCommand(directory, ["ip", "netns", "exec", ns, "unshare", "--mount", "sh", "-c", script.ToString(), "sh", .. container.Args]);
            var context = () => $"\n--- agent stdout\n{agent.Stdout}\n--- agent stderr\n{agent.Stderr}\n--- script\n{script}";
            Assert.True(await Eventually.Holds(() => agent.Stdout.Contains("nodelocal: serving on", StringComparison.Ordinal) || agent.HasExited, TimeSpan.FromSeconds(90)),
                $"the agent did not come up{context()}");
            Assert.False(agent.HasExited, $"the agent exited{context()}");

            // The process is what the securityContext says: uid, capabilities (effective = bounding = the added ones),
            // no new privileges, read-only root; the rendered Corefile went to the emptyDir.
            var status = await File.ReadAllTextAsync($"/proc/{agent.Id}/status");
            var mask = capMask.ToString("x16", CultureInfo.InvariantCulture);
            foreach (var (field, expected) in new[]
            {
                ("Uid", $"{uid}\t{uid}\t{uid}\t{uid}"), ("CapEff", mask), ("CapPrm", mask), ("CapBnd", mask), ("CapAmb", "0000000000000000"),
                ("NoNewPrivs", security.AllowPrivilegeEscalation == false ? "1" : "0"),
            })
            {
                var line = status.Split('\n').SingleOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
                Assert.True(line is not null && line[(field.Length + 1)..].Trim() == expected, $"{field}: expected {expected}, the agent has `{line}`");
            }
            var rootMount = (await File.ReadAllLinesAsync($"/proc/{agent.Id}/mountinfo")).Last(l => l.Split(' ')[4] == "/");
            Assert.True(rootMount.Split(' ')[5].Split(',').Contains("ro") == (security.ReadOnlyRootFilesystem == true), $"root mount `{rootMount}`, readOnlyRootFilesystem {security.ReadOnlyRootFilesystem}");
            var conf = container.Args[container.Args.IndexOf("-conf") + 1];
            var rendered = await File.ReadAllTextAsync($"/proc/{agent.Id}/root{conf}");
            Assert.Contains($"forward . {Upstream} {{", rendered, StringComparison.Ordinal);

            // The node's network: the interface with both addresses, every rule and nothing else.
            var addresses = (await Sh($"ip netns exec {ns} ip -o -4 addr show dev nodelocaldns")).Stdout;
            var missingAddresses = new[] { LocalDns, KubeDns }.Where(a => !addresses.Contains($" {a}/32 ", StringComparison.Ordinal)).ToList();
            Assert.True(missingAddresses.Count == 0, $"nodelocaldns lacks {string.Join(", ", missingAddresses)}: {addresses}{context()}");
            var expectedRules = NodeLocalNamespaceTests.ExpectedRules(LocalDns).Concat(NodeLocalNamespaceTests.ExpectedRules(KubeDns)).Select(r => $"{r.Table} {r.Line}").ToList();
            var rules = await IptablesRules(ns, hostSave);
            var missingRules = expectedRules.Except(rules).ToList();
            var extraRules = rules.Except(expectedRules).ToList();
            Assert.True(missingRules.Count == 0 && extraRules.Count == 0,
                $"{hostSave}: missing rules\n  {string.Join("\n  ", missingRules)}\nunexpected rules\n  {string.Join("\n  ", extraRules)}{context()}");

            // Queries to both local IPs: answered by the node-local instance, which asked the cluster instance over TCP.
            const string Name = "db.default.svc.cluster.local";
            foreach (var server in new[] { LocalDns, KubeDns })
            {
                var dig = await Sh($"ip netns exec {ns} dig +short +time=5 +tries=2 @{server} {Name} A");
                Assert.True(dig.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).SequenceEqual(["10.244.1.10", "10.244.2.11", "10.244.3.12"]),
                    $"dig @{server} {Name}: {dig}{context()}");
            }
            var upstreamQueries = UpstreamQueryLine().Matches(cluster.Stdout).Where(m => m.Groups["name"].Value == Name + ".").ToList();
            Assert.True(upstreamQueries.Count >= 1 && upstreamQueries.All(m => m.Groups["proto"].Value == "tcp"),
                $"the cluster instance should have seen {Name} over TCP only\n{cluster.Stdout}");
            // The kubelet's liveness probe (httpGet on the node's network).
            var probeSpec = container.LivenessProbe.HttpGet;
            var health = await Sh($"ip netns exec {ns} curl -s -m 10 http://{probeSpec.Host}:{probeSpec.Port}{probeSpec.Path}");
            Assert.True(health.Stdout.Trim() == "OK", $"liveness probe: {health}{context()}");
            Assert.DoesNotContain("[ERROR]", agent.Stdout, StringComparison.Ordinal);
            // Within the memory limit the kubelet's cgroup would enforce (peak resident set after set-up and queries).
            var peak = long.Parse(Regex.Match(await File.ReadAllTextAsync($"/proc/{agent.Id}/status"), @"VmHWM:\s+(\d+) kB").Groups[1].Value, CultureInfo.InvariantCulture) * 1024;
            var limit = container.Resources.Limits["memory"].ToInt64();
            output.WriteLine($"{backend}: agent peak RSS {peak / 1024} KiB, limit {limit / 1024} KiB");
            Assert.True(peak < limit, $"the agent's peak RSS {peak} bytes exceeds the DaemonSet's memory limit {limit}");

            // SIGTERM: the process exits 0 and leaves no rule and no interface behind.
            await agent.SignalAsync("TERM");
            Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("Tearing down", agent.Stdout, StringComparison.Ordinal);
            var left = await IptablesRules(ns, hostSave);
            Assert.True(left.Count == 0, $"rules left after SIGTERM:\n  {string.Join("\n  ", left)}{context()}");
            var link = await ServerTestKit.RunAsync("ip", ["netns", "exec", ns, "ip", "link", "show", "dev", "nodelocaldns"]);
            Assert.True(link.ExitCode != 0, $"the interface is still there after SIGTERM: {link}{context()}");
            Assert.DoesNotContain("[ERROR]", agent.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (agent is not null)
            {
                await agent.DisposeAsync();
            }
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
            await ServerTestKit.RunAsync("sh", ["-c", $"ip netns del {ns} 2>/dev/null; true"]);
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>What the agent needs from its image, and why (paths as the image has them).</summary>
    private static IEnumerable<(string Path, string Why)> ImageFiles(string root)
    {
        var xtables = Directory.GetFiles(root, "libxt_NOTRACK.so", SearchOption.AllDirectories).Select(f => Path.GetDirectoryName(f)![root.Length..]).FirstOrDefault() ?? "/usr/lib/x86_64-linux-gnu/xtables";
        return
        [
            ("/clusterdns", "the entrypoint"),
            ("/usr/sbin/ip", "ip: interface and addresses"),
            ("/usr/sbin/iptables", "iptables: IPv4 rules"),
            ("/usr/sbin/ip6tables", "ip6tables: rules for IPv6 local IPs"),
            ($"{xtables}/libxt_NOTRACK.so", "the NOTRACK target"),
            ($"{xtables}/libxt_CT.so", "NOTRACK's implementation"),
            ($"{xtables}/libxt_standard.so", "the ACCEPT target"),
            ($"{xtables}/libxt_tcp.so", "-p tcp --dport"),
            ($"{xtables}/libxt_udp.so", "-p udp --dport"),
            ("/lib64/ld-linux-x86-64.so.2", "the dynamic loader"),
        ];
    }

    /// <summary>Shell lines mounting one of the manifest's volumes where its volumeMount says (mount points made here,
    /// before the root goes read-only): hostPath (a stand-in under the test directory), configMap (its items from
    /// deploy/nodelocal/configmap.yaml), emptyDir (tmpfs for medium Memory, with its sizeLimit).</summary>
    private static async Task<string> MountVolumeAsync(V1Volume volume, V1VolumeMount mount, string root, string directory)
    {
        var target = root + mount.MountPath;
        var lines = new StringBuilder();
        if (volume.HostPath is { } hostPath)
        {
            var source = Path.Combine(directory, "node") + hostPath.Path;
            Directory.CreateDirectory(Path.GetDirectoryName(source)!);
            Assert.True(hostPath.Type is "FileOrCreate" or "File", $"volume {volume.Name}: hostPath type {hostPath.Type} is not handled here");
            await File.WriteAllTextAsync(source, string.Empty);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllTextAsync(target, string.Empty);
            lines.Append(CultureInfo.InvariantCulture, $"mount --bind {source} {target}\n");
        }
        else if (volume.ConfigMap is { } configMap)
        {
            var data = KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(NodeLocalPath("configmap.yaml"))).OfType<V1ConfigMap>().Single(c => c.Metadata.Name == configMap.Name).Data;
            var source = Path.Combine(directory, "volumes", volume.Name);
            Directory.CreateDirectory(source);
            var items = configMap.Items is { Count: > 0 } listed
                ? listed.Select(i => (i.Key, i.Path)).ToList()
                : data.Keys.Select(k => (Key: k, Path: k)).ToList();
            foreach (var (key, path) in items)
            {
                await File.WriteAllTextAsync(Path.Combine(source, path), data[key]);
            }
            Directory.CreateDirectory(target);
            lines.Append(CultureInfo.InvariantCulture, $"mount --bind {source} {target}\n");
        }
        else if (volume.EmptyDir is { } emptyDir)
        {
            Assert.True(emptyDir.Medium == "Memory", $"volume {volume.Name}: emptyDir medium {emptyDir.Medium} is not handled here");
            Directory.CreateDirectory(target);
            var size = emptyDir.SizeLimit is null ? string.Empty : $",size={emptyDir.SizeLimit.ToInt64().ToString(CultureInfo.InvariantCulture)}";
            lines.Append(CultureInfo.InvariantCulture, $"mount -t tmpfs -o mode=0777{size} tmpfs {target}\n");
        }
        else
        {
            Assert.Fail($"volume {volume.Name}: this test does not know how to mount it");
        }
        if (mount.ReadOnlyProperty == true)
        {
            lines.Append(CultureInfo.InvariantCulture, $"mount -o remount,bind,ro {target}\n");
        }
        return lines.ToString();
    }

    private static async Task<List<string>> IptablesRules(string ns, string save)
    {
        var rules = new List<string>();
        foreach (var table in new[] { "raw", "filter" })
        {
            var output = await Sh($"ip netns exec {ns} {save} -t {table}");
            rules.AddRange(output.Stdout.Split('\n').Where(l => l.StartsWith("-A ", StringComparison.Ordinal)).Select(l => $"{table} {l.Trim()}"));
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

    private static V1DaemonSet DaemonSet() =>
        KubernetesYaml.LoadAllFromString(File.ReadAllText(NodeLocalPath("daemonset.yaml"))).OfType<V1DaemonSet>().Single();

    /// <summary>The log plugin's line: <c>[INFO] CLIENT - ID "TYPE CLASS NAME PROTO SIZE DO BUFSIZE" RCODE ...</c>.</summary>
    [GeneratedRegex(@"\[INFO\] (?<client>\S+) - \d+ ""A IN (?<name>\S+) (?<proto>tcp|udp) ")]
    private static partial Regex UpstreamQueryLine();

    private static string NodeLocalPath(string file) => Path.Combine(RepoRoot(), "deploy", "nodelocal", file);

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
