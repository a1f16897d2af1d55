using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ClusterDns.Kubernetes;
using ClusterDns.Tests.TestSupport;
using k8s.Authentication;
using k8s.Exceptions;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Kubernetes;

public sealed class KubernetesConnectionTests(ITestOutputHelper output) : ClusterSourceTestBase(output)
{
    [Fact]
    public async Task In_cluster_from_service_account_directory()
    {
        var dir = Directory.CreateTempSubdirectory("clusterdns-sa-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "token"), "sa-token-1\n");
            File.WriteAllText(Path.Combine(dir, "namespace"), "kube-system");
            using (var key = ECDsa.Create())
            {
                var req = new CertificateRequest("CN=test-ca", key, HashAlgorithmName.SHA256);
                using var ca = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                File.WriteAllText(Path.Combine(dir, "ca.crt"), ca.ExportCertificatePem());
            }

            var env = new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", ["KUBERNETES_SERVICE_PORT"] = "443" };
            var config = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { ServiceAccountDirectory = dir },
                k => env.GetValueOrDefault(k));
            Assert.Equal("https://10.96.0.1:443", config.Host);
            Assert.Equal("kube-system", config.Namespace);
            Assert.Equal("CN=test-ca", Assert.Single(config.SslCaCerts).Subject);
            var tokens = Assert.IsType<TokenFileAuth>(config.TokenProvider);
            var header = await tokens.GetAuthenticationHeaderAsync(CancellationToken.None);
            Assert.Equal("Bearer", header.Scheme);
            Assert.Equal("sa-token-1", header.Parameter);

            env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
            Assert.Equal("https://[fd00::1]:443",
                KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { ServiceAccountDirectory = dir }, k => env.GetValueOrDefault(k)).Host);
            Assert.Throws<KubeConfigException>(() =>
                KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { ServiceAccountDirectory = dir }, _ => null));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Kubeconfig_wins_over_endpoint_and_is_used_for_watching()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $$"""
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster:
                    server: {{Server.Url}}
                contexts:
                - name: other
                  context: {cluster: test, user: nobody}
                - name: ctx
                  context: {cluster: test, user: me, namespace: ns1}
                current-context: other
                users:
                - name: me
                  user: {token: kubeconfig-token}
                - name: nobody
                  user: {token: wrong}
                """);
            var config = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions
            {
                Kubeconfig = file,
                KubeconfigContext = "ctx",
                Endpoint = "http://127.0.0.1:1",
            });
            Assert.StartsWith(Server.Url, config.Host);
            await using var source = new KubernetesClusterSource(config, Fast, Logs);
            await source.StartAsync(CancellationToken.None);
            Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
            Assert.Equal("Bearer kubeconfig-token", Server.LastAuthorization);
            await ConvergesAsync(source);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Endpoint_plain_http_like_kubectl_proxy()
    {
        var config = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Endpoint = Server.Url });
        await using var source = new KubernetesClusterSource(config, Fast, Logs);
        await source.StartAsync(CancellationToken.None);
        Assert.True(await source.WaitForSyncAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Null(Server.LastAuthorization);
        await ConvergesAsync(source);
    }
}
