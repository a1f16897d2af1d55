using System.Runtime.CompilerServices;

using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Cli;

/// <summary><c>clusterdns check</c> run as an operator would before a swap: exit 0 with a summary, or 1 with every problem located.</summary>
public sealed class CheckCommandTests
{
    private const string KubeadmCorefile = """
        .:53 {
            errors
            health {
               lameduck 5s
            }
            ready
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
            prometheus :9153
            forward . /etc/resolv.conf {
               max_concurrent 1000
            }
            cache 30 {
               disable success cluster.local
               disable denial cluster.local
            }
            loop
            reload
            loadbalance
        }

        """;

    private static async Task<ProcessOutputWithDirectory> CheckCorefileAsync(string corefile, string name = "Corefile")
    {
        var directory = ClusterDnsProcess.NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory, name), corefile);
        var output = await ClusterDnsProcess.RunAsync(directory, "check", "-conf", name);
        return new ProcessOutputWithDirectory(output.ExitCode, output.Stdout, output.Stderr, directory);
    }

    private sealed record ProcessOutputWithDirectory(int ExitCode, string Stdout, string Stderr, string Directory)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    [Fact]
    public async Task Kubeadm_corefile_checks_ok_with_a_summary_and_exit_0()
    {
        var output = await CheckCorefileAsync(KubeadmCorefile);
        Assert.True(output.ExitCode == 0, output.ToString());
        Assert.Equal(
            "Corefile OK: 1 server block, listeners dns://:53, plugins errors health ready kubernetes prometheus forward cache loop reload loadbalance\n",
            output.Stdout);
        Assert.DoesNotContain("ClusterDns-", output.Stdout, StringComparison.Ordinal); // nothing was served
    }

    [Theory]
    [InlineData(".:53 {\n    errors\n    nosuchplugin\n}\n", new[] { "Corefile:3 - Error during parsing: Unknown directive 'nosuchplugin'" })]
    [InlineData(".:53 {\n    whoami extra\n}\n", new[] { "plugin/whoami: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'extra'" })]
    [InlineData(".:53 {\n    cache 30 {\n        success many\n    }\n}\n", new[] { "Corefile:2 - plugin/cache: strconv.Atoi: parsing \"many\": invalid syntax" })]
    // Every problem, one per line: an unknown plugin does not hide a bad option in a later block.
    [InlineData(".:53 {\n    frobnicate\n}\nexample.org:53 {\n    forward . 192.0.2.1 {\n        max_fails x\n    }\n}\n",
        new[] { "Corefile:2 - Error during parsing: Unknown directive 'frobnicate'", "Corefile:5 - plugin/forward: " })]
    [InlineData(".:53 {\n    whoami extra\n}\nexample.org:53 {\n    whoami again\n}\n",
        new[] { "Corefile:2 - Error during parsing: Wrong argument count", "Corefile:5 - Error during parsing: Wrong argument count" })]
    [InlineData(".:53 {\n    whoami {\n}\n", new[] { "Corefile:" })]
    public async Task Bad_corefile_exits_1_naming_every_problem_with_file_and_line(string corefile, string[] expected)
    {
        var output = await CheckCorefileAsync(corefile);
        Assert.True(output.ExitCode == 1, $"case {corefile}\n{output}");
        foreach (var message in expected)
        {
            Assert.True(output.Stderr.Contains(message, StringComparison.Ordinal), $"case {corefile}: missing '{message}'\n{output}");
        }
        Assert.Equal("", output.Stdout);
    }

    [Fact]
    public async Task Missing_corefile_exits_1()
    {
        var directory = ClusterDnsProcess.NewDirectory();
        var output = await ClusterDnsProcess.RunAsync(directory, "check", "-conf", "nothere");
        Assert.True(output.ExitCode == 1, output.ToString());
        Assert.Contains("nothere", output.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubeadm_configmap_with_an_imported_key_checks_ok()
    {
        var directory = ClusterDnsProcess.NewDirectory();
        File.Copy(Fixture("kubeadm-coredns-configmap.yaml"), Path.Combine(directory, "cm.yaml"));
        var output = await ClusterDnsProcess.RunAsync(directory, "check", "--configmap", "cm.yaml");
        Assert.True(output.ExitCode == 0, output.ToString());
        Assert.StartsWith("Corefile OK: 2 server blocks, listeners dns://:53, plugins errors health ready kubernetes", output.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configmap_with_a_bad_option_exits_1_with_the_corefile_line_and_the_yaml_line()
    {
        var directory = ClusterDnsProcess.NewDirectory();
        var yaml = (await File.ReadAllTextAsync(Fixture("kubeadm-coredns-configmap.yaml")))
            .Replace("max_concurrent 1000", "max_concurrent lots", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(directory, "cm.yaml"), yaml);
        var output = await ClusterDnsProcess.RunAsync(directory, "check", "--configmap", "cm.yaml");
        Assert.True(output.ExitCode == 1, output.ToString());
        // The forward directive holding the bad option is line 13 of the Corefile, line 19 of the ConfigMap file.
        Assert.Equal("        forward . /etc/resolv.conf {", LineOf(yaml, 19));
        Assert.Contains("Corefile:13 - plugin/forward: ", output.Stderr, StringComparison.Ordinal);
        Assert.Contains("(cm.yaml:19)", output.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configmap_without_a_corefile_key_exits_1()
    {
        var directory = ClusterDnsProcess.NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: coredns\ndata:\n  other: x\n");
        var output = await ClusterDnsProcess.RunAsync(directory, "check", "--configmap", "cm.yaml");
        Assert.True(output.ExitCode == 1, output.ToString());
        Assert.Contains("no data.Corefile", output.Stderr, StringComparison.Ordinal);
    }

    private static string LineOf(string text, int line) => text.Split('\n')[line - 1];

    private static string Fixture(string name, [CallerFilePath] string path = "") =>
        Path.Combine(Path.GetDirectoryName(path)!, "Fixtures", name);
}
