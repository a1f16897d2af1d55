using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Corefile;

/// <summary>
/// The Corefiles Kubernetes platforms ship (Platforms/*.Corefile, each naming its source), started on the real server:
/// loopback, a free port, the demo snapshot cluster for the kubernetes plugin, a local upstream standing in for
/// /etc/resolv.conf, HTTP side services on 127.0.0.1:0. Rows with <see cref="Platform.PendingPlugin"/> set need a plugin
/// that is not in main yet and assert today's exact start-up error: EXPECTED FOR NOW — once that plugin is merged,
/// set PendingPlugin to null and the row must load and answer its checks.
/// </summary>
[Collection("Prometheus")]
public sealed partial class PlatformCorefileTests
{
    private static readonly string PlatformsDir = Path.Combine(CorefileTestSupport.ExamplesDir, "..", "Platforms");

    /// <summary>A question and what the reply must show: "NXDOMAIN", or "A 10.96.0.1" among the answers.</summary>
    /// <param name="OverIpv6">Asked from ::1 instead of 127.0.0.1 (dns64 translates only for IPv6 clients).</param>
    public sealed record Check(string Name, DnsType Type, string Expected, DnsClass Class = DnsClass.IN, bool OverIpv6 = false);

    /// <param name="Extra">Stored files copied next to the Corefile: (stored name, name in the Corefile's directory).</param>
    public sealed record Platform(string Corefile, Check[] Checks, string? PendingPlugin = null, (string Stored, string Target)[]? Extra = null)
    {
        public override string ToString() => Extra is null ? Corefile : $"{Corefile} + {string.Join(", ", Extra.Select(e => e.Stored))}";
    }

    private static readonly Check KubernetesA = new("kubernetes.default.svc.cluster.local.", DnsType.A, "A 10.96.0.1");
    private static readonly Check KubernetesPtr = new("1.0.96.10.in-addr.arpa.", DnsType.PTR, "PTR kubernetes.default.svc.cluster.local.");
    private static readonly Check Forwarded = new("www.example.com.", DnsType.A, "A 192.0.2.80");
    private static readonly Check Missing = new("missing.default.svc.cluster.local.", DnsType.A, "NXDOMAIN");
    private static readonly Check[] Cluster = [KubernetesA, KubernetesPtr, Forwarded, Missing];

    public static TheoryData<Platform> Platforms() => new()
    {
        new Platform("kubeadm.Corefile", Cluster),
        new Platform("k3s.Corefile", [.. Cluster, new("k3s-server.", DnsType.A, "A 10.0.0.5")]),
        new Platform("microk8s.Corefile", Cluster),
        new Platform("talos.Corefile", Cluster),
        new Platform("k0s.Corefile", Cluster),
        new Platform("kops.Corefile", Cluster),
        new Platform("minikube.Corefile", [.. Cluster, new("host.minikube.internal.", DnsType.A, "A 192.168.49.1")]),
        new Platform("eks.Corefile", Cluster),
        new Platform("aks.Corefile", [.. Cluster,
            new("a.b.c.d.internal.cloudapp.net.", DnsType.A, "NXDOMAIN"),
            new("host.reddog.microsoft.com.", DnsType.A, "NXDOMAIN")]),
        new Platform("aks.Corefile", [.. Cluster, new("example1.org.", DnsType.A, "A 10.0.0.1")],
            Extra: [("aks-custom-hosts.override", "custom/test.override")]),
        new Platform("aks.Corefile", [.. Cluster, new("x.puglife.local.", DnsType.A, "A 192.0.2.81")],
            Extra: [("aks-custom-stub.server", "custom/test.server")]),
        new Platform("openshift.Corefile", [.. Cluster,
            new("hostname.bind.", DnsType.TXT, "TXT", DnsClass.CH),
            new("mail.example.com.", DnsType.A, "A 192.0.2.82")]),
        new Platform("nodelocaldns.Corefile", Cluster),

        // Customizations and platforms that use rewrite, autopath and dns64. A row with PendingPlugin asserts today's
        // exact not-implemented error; remove it when the plugin lands and the checks must answer.
        new Platform("aks.Corefile", [.. Cluster, new("www.puglife.com.", DnsType.A, "NXDOMAIN")],
            Extra: [("aks-custom-rewrite.override", "custom/test.override")]),
        new Platform("gardener.Corefile", Cluster),
        new Platform("vcluster.Corefile", [.. Cluster, new("node1.nodes.vcluster.com.", DnsType.A, "A 10.96.0.1")]),
        new Platform("kubespray.Corefile", Cluster),
        new Platform("kops-ipv6.Corefile", [.. Cluster,
            // dns64: an IPv6 pod asking AAAA for an IPv4-only name gets it under 64:ff9b::/96 (192.0.2.80, the Service's
            // 10.96.0.1).
            new("www.example.com.", DnsType.AAAA, "NOERROR | AAAA 64:ff9b::c000:250", OverIpv6: true),
            new("kubernetes.default.svc.cluster.local.", DnsType.AAAA, "NOERROR | AAAA 64:ff9b::a60:1", OverIpv6: true)]),
    };

    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task Platform_corefile_loads_and_answers(Platform platform)
    {
        await using var upstream = await TestDnsServer.StartAsync(
            ".:0 {\n    hosts {\n        192.0.2.80 www.example.com\n        192.0.2.81 x.puglife.local\n        192.0.2.82 mail.example.com\n    }\n}\n");
        var demo = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "demo-cluster.yaml"));
        var files = new Dictionary<string, string> { ["demo-cluster.yaml"] = demo, ["NodeHosts"] = "10.0.0.5 k3s-server\n" };
        await using var clusterDns = await TestDnsServer.StartAsync(
            ".:0 {\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        snapshot demo-cluster.yaml\n    }\n}\n", files);
        foreach (var (stored, target) in platform.Extra ?? [])
        {
            files[target] = await File.ReadAllTextAsync(Path.Combine(PlatformsDir, stored));
        }
        var port = ServerTestKit.FreePort();
        var corefile = Adapt(await File.ReadAllTextAsync(Path.Combine(PlatformsDir, platform.Corefile)), port, upstream.Port, clusterDns.Port);

        if (platform.PendingPlugin is { } pending)
        {
            // EXPECTED FOR NOW: today's exact start-up error for a CoreDNS plugin ClusterDns does not implement yet.
            var exception = await Assert.ThrowsAsync<ConfigException>(() => TestDnsServer.StartAsync(corefile, files));
            var (file, line) = FirstUse(corefile, files, platform.Extra, pending);
            Assert.Equal($"{file}:{line} - Error during parsing: Unknown directive '{pending}' (a CoreDNS plugin that ClusterDns does not implement yet)",
                TempDirectoryRegex().Replace(exception.Message, string.Empty));
            return;
        }

        await using var server = await TestDnsServer.StartAsync(corefile, files);
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        foreach (var check in platform.Checks)
        {
            var seen = await AskAsync(check.OverIpv6 ? new IPEndPoint(IPAddress.IPv6Loopback, port) : endpoint, check);
            Assert.True(seen.Contains(check.Expected, StringComparison.Ordinal),
                $"{platform}: {check.Name} {check.Class} {check.Type} expected {check.Expected}, got {seen}\n--- Corefile as started:\n{corefile}");
        }
    }

    /// <summary>The reply as one line: the rcode, then every answer as "TYPE rdata".</summary>
    private static async Task<string> AskAsync(IPEndPoint endpoint, Check check)
    {
        var query = DnsMessage.CreateQuery(check.Name, check.Type, id: 77, ednsSize: 1232);
        query.Questions[0] = new DnsQuestion(query.Questions[0].Name, check.Type, check.Class);
        byte[]? bytes = null;
        for (var attempt = 0; attempt < 3 && bytes is null; attempt++)
        {
            bytes = await TestDnsServer.ExchangeUdpAsync(endpoint, query.ToArray(), TimeSpan.FromSeconds(5));
        }
        if (bytes is null)
        {
            return "no reply";
        }
        var reply = DnsMessage.Parse(bytes);
        var text = new StringBuilder(reply.Rcode.ToText());
        foreach (var answer in reply.Answers)
        {
            text.Append(" | ").Append(answer.Type.ToText()).Append(' ').Append(answer.DataText());
        }
        return text.ToString();
    }

    /// <summary>
    /// What a test host needs changed, and nothing else: server keys on <paramref name="port"/>; health, ready and
    /// prometheus on 127.0.0.1:0; the kubernetes plugin on the demo snapshot; /etc/resolv.conf and the platforms'
    /// upstream addresses to the local upstream; NodeLocal DNSCache's pillars to loopback; /etc paths to the test directory.
    /// </summary>
    internal static string Adapt(string corefile, int port, int upstreamPort, int clusterPort)
    {
        var upstream = $"127.0.0.1:{upstreamPort}";
        corefile = corefile
            .Replace("__PILLAR__LOCAL__DNS__", "127.0.0.1", StringComparison.Ordinal)
            .Replace("__PILLAR__DNS__SERVER__", "127.0.0.1", StringComparison.Ordinal)
            .Replace("__PILLAR__CLUSTER__DNS__", $"127.0.0.1:{clusterPort}", StringComparison.Ordinal)
            .Replace("__PILLAR__UPSTREAM__SERVERS__", upstream, StringComparison.Ordinal)
            .Replace("/etc/resolv.conf", upstream, StringComparison.Ordinal)
            .Replace("forward . 1.1.1.1", "forward . " + upstream, StringComparison.Ordinal)
            .Replace("forward . 192.11.0.1", "forward . " + upstream, StringComparison.Ordinal)
            .Replace("/etc/coredns/", string.Empty, StringComparison.Ordinal)
            .Replace("/etc/NodeHosts", "NodeHosts", StringComparison.Ordinal);
        var lines = corefile.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart();
            var indent = line[..(line.Length - trimmed.Length)];
            var opens = trimmed.TrimEnd().EndsWith('{');
            if (indent.Length == 0 && opens && !trimmed.StartsWith('#'))
            {
                lines[i] = ServerPortRegex().Replace(line, $":{port}");
            }
            else if (Regex.IsMatch(trimmed, @"^(health|ready|prometheus)(\s|$)"))
            {
                lines[i] = $"{indent}{trimmed.Split(' ')[0]} 127.0.0.1:0{(opens ? " {" : string.Empty)}";
            }
            else if (trimmed.StartsWith("kubernetes ", StringComparison.Ordinal))
            {
                lines[i] = opens ? $"{line}\n{indent}    snapshot demo-cluster.yaml" : $"{line} {{\n{indent}    snapshot demo-cluster.yaml\n{indent}}}";
            }
        }
        return string.Join('\n', lines);
    }

    /// <summary>Where ClusterDns reports a directive it does not implement: its first use, in the Corefile or an imported file.</summary>
    private static (string File, int Line) FirstUse(string corefile, Dictionary<string, string> files, (string Stored, string Target)[]? extra, string directive)
    {
        foreach (var (file, text) in new[] { ("Corefile", corefile) }.Concat((extra ?? []).Select(e => (e.Target, files[e.Target]))))
        {
            var lines = text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].TrimStart().StartsWith(directive + " ", StringComparison.Ordinal))
                {
                    return (file, i + 1);
                }
            }
        }
        throw new InvalidOperationException($"{directive} is not used");
    }

    [GeneratedRegex(@":\d+")]
    private static partial Regex ServerPortRegex();

    [GeneratedRegex(@"/\S*?/clusterdns-test-[0-9a-f]+/")]
    private static partial Regex TempDirectoryRegex();
}
