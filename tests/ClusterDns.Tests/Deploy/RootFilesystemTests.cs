using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ClusterDns.Tests.TestSupport;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.Deploy;

/// <summary>
/// The image's root filesystem (deploy/rootfs.sh, the Dockerfile's final stage without a registry) started as the
/// Deployment runs it: the ConfigMap's Corefile at /etc/coredns/Corefile, a service-account directory (token, ca.crt,
/// namespace) and KUBERNETES_SERVICE_HOST/PORT, chrooted, read-only, uid 65532 holding only CAP_NET_BIND_SERVICE,
/// port 53 in its own network namespace — against a test API server over HTTPS that checks the bearer token and
/// enforces deploy/rbac.yaml's ClusterRole (403 for anything it does not grant).
/// </summary>
public sealed class RootFilesystemTests
{
    private const string Token = "pod-token-7f3a";

    [Fact]
    public async Task Rootfs_runs_as_the_deployment_specifies_against_an_rbac_enforcing_api()
    {
        var probe = await ServerTestKit.RunAsync("unshare", ["--net", "--mount", "--pid", "--fork", "true"]);
        if (probe.ExitCode != 0 && probe.Stderr.Contains("Operation not permitted", StringComparison.Ordinal))
        {
            return; // the kernel (or the sandbox running the tests) refuses new namespaces: nothing to run here
        }
        Assert.True(probe.ExitCode == 0, $"unshare failed for a reason other than a refused namespace: {probe}");

        var id = Guid.NewGuid().ToString("N")[..6];
        var ns = "cdns-pod-" + id;
        var root = Path.Combine(Path.GetTempPath(), "clusterdns-rootfs-" + id);
        var (hostIp, podIp) = ("10.203.77.1", "10.203.77.2");
        try
        {
            // The pod's network: its own namespace, a veth to the "node", where the API server listens.
            foreach (var command in new[]
            {
                $"ip netns add {ns}",
                $"ip link add vh-{id} type veth peer name vp-{id}",
                $"ip link set vp-{id} netns {ns}",
                $"ip addr add {hostIp}/30 dev vh-{id}",
                $"ip link set vh-{id} up",
                $"ip netns exec {ns} ip addr add {podIp}/30 dev vp-{id}",
                $"ip netns exec {ns} ip link set vp-{id} up",
                $"ip netns exec {ns} ip link set lo up",
            })
            {
                var step = await ServerTestKit.RunAsync("sh", ["-c", command]);
                Assert.True(step.ExitCode == 0, $"{command}: {step}");
            }

            var (caPem, serverCertificate) = Certificates(hostIp);
            using var certificate = serverCertificate;
            var rbac = Rbac.FromManifest(Path.Combine(RepoRoot(), "deploy", "rbac.yaml"));
            await using var api = await TestApiServer.StartAsync(new TestApiServerOptions
            {
                Address = IPAddress.Parse(hostIp),
                Certificate = certificate,
                Token = Token,
                Authorize = rbac.Allows,
            });
            api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "default" } });
            api.Upsert(new V1Service
            {
                Metadata = new V1ObjectMeta { Name = "kubernetes", NamespaceProperty = "default" },
                Spec = new V1ServiceSpec
                {
                    ClusterIP = "10.96.0.1", ClusterIPs = ["10.96.0.1"], Type = "ClusterIP",
                    Ports = [new V1ServicePort { Name = "https", Port = 443, Protocol = "TCP" }],
                },
            });
            var port = new Uri(api.Url).Port;

            var build = await ServerTestKit.RunAsync("sh", [Path.Combine(RepoRoot(), "deploy", "rootfs.sh"), root], TimeSpan.FromMinutes(25));
            Assert.True(build.ExitCode == 0, $"rootfs.sh failed: {build}");
            Assert.True(File.Exists(Path.Combine(root, "clusterdns")), "no /clusterdns in the root filesystem");
            // What the kubelet puts in place: the ConfigMap volume, the service-account token volume, resolv.conf.
            await File.WriteAllTextAsync(Path.Combine(root, "etc", "coredns", "Corefile"), ConfigMapCorefile());
            var account = Path.Combine(root, "var", "run", "secrets", "kubernetes.io", "serviceaccount");
            Directory.CreateDirectory(account);
            await File.WriteAllTextAsync(Path.Combine(account, "token"), Token);
            await File.WriteAllTextAsync(Path.Combine(account, "ca.crt"), caPem);
            await File.WriteAllTextAsync(Path.Combine(account, "namespace"), "kube-system");
            await File.WriteAllTextAsync(Path.Combine(root, "etc", "resolv.conf"), $"nameserver {hostIp}\n");
            // Test-only: setpriv inside the root, so the uid and capability drop happen after chroot (which needs
            // CAP_SYS_CHROOT), as a container runtime does it.
            await ServerTestKit.RunAsync("sh", ["-c",
                $"for f in /usr/bin/setpriv $(ldd /usr/bin/setpriv | awk '/=>/ {{print $3}}'); do mkdir -p {root}$(dirname $f); cp -L $f {root}$f; done"]);
            var script = $"""
                set -u
                mount --bind {root} {root} && mount -o remount,bind,ro {root}
                mount -t proc proc {root}/proc
                mount --rbind /dev {root}/dev
                KUBERNETES_SERVICE_HOST={hostIp} KUBERNETES_SERVICE_PORT={port} \
                chroot {root} /usr/bin/setpriv --reuid 65532 --regid 65532 --clear-groups \
                    --inh-caps +net_bind_service --ambient-caps +net_bind_service \
                    /clusterdns -conf /etc/coredns/Corefile > {root}.log 2>&1 &
                pid=$!
                for i in $(seq 1 120); do
                    answer=$(dig +short +time=1 +tries=1 @127.0.0.1 -p 53 kubernetes.default.svc.cluster.local A 2>/dev/null | grep -E '^[0-9.]+$')
                    [ -n "$answer" ] && break
                    sleep 0.5
                done
                echo "answer=$answer"
                echo "health=$(curl -s -m 5 http://127.0.0.1:8080/health)"
                echo "ready=$(curl -s -m 5 http://127.0.0.1:8181/ready)"
                grep -E '^(Uid|CapEff|CapAmb):' {root}/proc/$pid/status
                touch {root}/written 2>/dev/null && echo "root filesystem writable" || echo "root filesystem read-only"
                kill $pid
                """;
            var run = await ServerTestKit.RunAsync("ip", ["netns", "exec", ns, "unshare", "--mount", "--pid", "--fork", "sh", "-c", script], TimeSpan.FromMinutes(3));
            var log = File.Exists(root + ".log") ? await File.ReadAllTextAsync(root + ".log") : "(no log)";
            var context = $"{run}\n--- server log\n{log}";
            Assert.True(run.Stdout.Contains("answer=10.96.0.1", StringComparison.Ordinal), $"no answer from the API's Service\n{context}");
            Assert.True(run.Stdout.Contains("health=OK", StringComparison.Ordinal), context);
            Assert.True(run.Stdout.Contains("ready=OK", StringComparison.Ordinal), context);
            Assert.Matches(@"Uid:\s+65532\s+65532\s+65532\s+65532", run.Stdout);
            // CAP_NET_BIND_SERVICE is bit 10: effective and ambient hold exactly that.
            Assert.Matches(@"CapEff:\s+0000000000000400", run.Stdout);
            Assert.Matches(@"CapAmb:\s+0000000000000400", run.Stdout);
            Assert.Contains("root filesystem read-only", run.Stdout, StringComparison.Ordinal);
            // Everything it asked for, the ClusterRole grants; it asked with the mounted token.
            Assert.True(api.Forbidden == 0 && api.Unauthorized == 0, $"forbidden {api.Forbidden}, unauthorized {api.Unauthorized}\n{context}");
            foreach (var resource in new[] { ApiResource.Services, ApiResource.EndpointSlices, ApiResource.Namespaces })
            {
                Assert.True(api.ListRequests(resource) >= 1 && api.WatchRequests(resource) >= 1, $"{resource}: lists {api.ListRequests(resource)}, watches {api.WatchRequests(resource)}");
            }
            // And the API does enforce it: what the role does not grant is refused with the API server's 403.
            using var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
            var secrets = await client.GetAsync($"{api.Url}/api/v1/namespaces/kube-system/secrets");
            Assert.Equal(HttpStatusCode.Forbidden, secrets.StatusCode);
            Assert.Contains("cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\"", System.Text.Json.JsonDocument.Parse(await secrets.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
            client.DefaultRequestHeaders.Authorization = null;
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"{api.Url}/api/v1/services")).StatusCode);
        }
        finally
        {
            await ServerTestKit.RunAsync("sh", ["-c", $"ip link del vh-{id} 2>/dev/null; ip netns del {ns} 2>/dev/null; true"]);
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
            File.Delete(root + ".log");
        }
    }

    /// <summary>A CA (its PEM goes into the service account's ca.crt) and a server certificate it signed for <paramref name="ip"/>.</summary>
    private static (string CaPem, X509Certificate2 Server) Certificates(string ip)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=test-cluster-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=kube-apiserver", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Parse(ip));
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
        using var withKey = signed.CopyWithPrivateKey(serverKey);
        // Kestrel wants a certificate whose key it can use: round-trip through PKCS#12.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (ca.ExportCertificatePem(), server);
    }

    private static string ConfigMapCorefile() =>
        KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(RepoRoot(), "deploy", "configmap.yaml"))).OfType<V1ConfigMap>().Single().Data["Corefile"];

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
