using System.Runtime.CompilerServices;
using ClusterDns.Tests.Server;

using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Deploy;

/// <summary>
/// The image's root filesystem (deploy/rootfs.sh, the Dockerfile's final stage without a registry) started as the
/// Deployment runs it: chrooted, read-only, uid 65532 holding only CAP_NET_BIND_SERVICE, port 53 in its own network
/// namespace, answering dig.
/// </summary>
public sealed class RootFilesystemTests
{
    [Fact]
    public async Task Rootfs_serves_port_53_read_only_as_uid_65532_with_only_net_bind_service()
    {
        var probe = await ServerTestKit.RunAsync("unshare", ["--net", "--mount", "--pid", "--fork", "true"]);
        if (probe.ExitCode != 0 && probe.Stderr.Contains("Operation not permitted", StringComparison.Ordinal))
        {
            return; // the kernel (or the sandbox running the tests) refuses new namespaces: nothing to run here
        }
        Assert.True(probe.ExitCode == 0, $"unshare failed for a reason other than a refused namespace: {probe}");

        var root = Path.Combine(Path.GetTempPath(), "clusterdns-rootfs-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var build = await ServerTestKit.RunAsync("sh", [Path.Combine(RepoRoot(), "deploy", "rootfs.sh"), root], TimeSpan.FromMinutes(5));
            Assert.True(build.ExitCode == 0, $"rootfs.sh failed: {build}");
            Assert.True(File.Exists(Path.Combine(root, "clusterdns")), "no /clusterdns in the root filesystem");
            await File.WriteAllTextAsync(Path.Combine(root, "etc", "coredns", "Corefile"), ".:53 {\n    hosts {\n        10.1.2.3 swap.test\n    }\n}\n");
            // Test-only: setpriv inside the root, so the uid and capability drop happen after chroot (which needs
            // CAP_SYS_CHROOT), as a container runtime does it.
            await ServerTestKit.RunAsync("sh", ["-c",
                $"for f in /usr/bin/setpriv $(ldd /usr/bin/setpriv | awk '/=>/ {{print $3}}'); do mkdir -p {root}$(dirname $f); cp -L $f {root}$f; done"]);
            var script = $"""
                set -u
                ip link set lo up
                mount --bind {root} {root} && mount -o remount,bind,ro {root}
                mount -t proc proc {root}/proc
                mount --rbind /dev {root}/dev
                chroot {root} /usr/bin/setpriv --reuid 65532 --regid 65532 --clear-groups \
                    --inh-caps +net_bind_service --ambient-caps +net_bind_service \
                    /clusterdns -conf /etc/coredns/Corefile > {root}.log 2>&1 &
                pid=$!
                for i in $(seq 1 60); do
                    answer=$(dig +short +time=1 +tries=1 @127.0.0.1 -p 53 swap.test A 2>/dev/null | grep -E '^[0-9.]+$')
                    [ -n "$answer" ] && break
                    sleep 0.5
                done
                echo "answer=$answer"
                grep -E '^(Uid|CapEff|CapAmb):' {root}/proc/$pid/status
                touch {root}/written 2>/dev/null && echo "root filesystem writable" || echo "root filesystem read-only"
                kill $pid
                """;
            var run = await ServerTestKit.RunAsync("unshare", ["--net", "--mount", "--pid", "--fork", "sh", "-c", script], TimeSpan.FromMinutes(2));
            var log = File.Exists(root + ".log") ? await File.ReadAllTextAsync(root + ".log") : "(no log)";
            var context = $"{run}\n--- server log\n{log}";
            Assert.True(run.Stdout.Contains("answer=10.1.2.3", StringComparison.Ordinal), $"no answer from the root filesystem's server\n{context}");
            Assert.Matches(@"Uid:\s+65532\s+65532\s+65532\s+65532", run.Stdout);
            // CAP_NET_BIND_SERVICE is bit 10: effective and ambient hold exactly that.
            Assert.Matches(@"CapEff:\s+0000000000000400", run.Stdout);
            Assert.Matches(@"CapAmb:\s+0000000000000400", run.Stdout);
            Assert.Contains("root filesystem read-only", run.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
            File.Delete(root + ".log");
        }
    }

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
