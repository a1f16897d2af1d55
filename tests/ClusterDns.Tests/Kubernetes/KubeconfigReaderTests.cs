using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ClusterDns.Kubernetes;
using k8s;
using k8s.Exceptions;
using k8s.Models;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>The kubeconfig read without the client's reflection-based YAML loader (it does not survive the native AOT
/// build), checked field by field through the client's own BuildConfigFromConfigObject.</summary>
public sealed class KubeconfigReaderTests
{
    [Fact]
    public void Reads_clusters_users_contexts_and_relative_certificate_paths()
    {
        var dir = Directory.CreateTempSubdirectory("clusterdns-kubeconfig-").FullName;
        try
        {
            using var key = ECDsa.Create();
            using var ca = new CertificateRequest("CN=kc-ca", key, HashAlgorithmName.SHA256)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(Path.Combine(dir, "ca.crt"), ca.ExportCertificatePem());
            var certData = Convert.ToBase64String(Encoding.ASCII.GetBytes(ca.ExportCertificatePem()));
            var keyData = Convert.ToBase64String(Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
            var file = Path.Combine(dir, "config");
            File.WriteAllText(file, $"""
                apiVersion: v1
                kind: Config
                current-context: tls
                clusters:
                - name: secure
                  cluster:
                    server: https://127.0.0.1:6443
                    certificate-authority: ca.crt
                    tls-server-name: api.example
                - name: insecure
                  cluster: {"{"}server: "https://127.0.0.2:6443", insecure-skip-tls-verify: true{"}"}
                users:
                - name: cert
                  user:
                    client-certificate-data: {certData}
                    client-key-data: {keyData}
                - name: basic
                  user: {"{"}username: admin, password: "s3cret"{"}"}
                contexts:
                - name: tls
                  context: {"{"}cluster: secure, user: cert, namespace: kube-system{"}"}
                - name: skip
                  context: {"{"}cluster: insecure, user: basic{"}"}
                """);

            var tls = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Kubeconfig = file });
            Assert.Equal("https://127.0.0.1:6443/", new Uri(tls.Host).ToString());
            Assert.Equal("kube-system", tls.Namespace);
            Assert.Equal("api.example", tls.TlsServerName);
            Assert.Equal("CN=kc-ca", Assert.Single(tls.SslCaCerts).Subject);
            Assert.Equal(certData, tls.ClientCertificateData);
            Assert.Equal(keyData, tls.ClientCertificateKeyData);
            Assert.False(tls.SkipTlsVerify);

            var skip = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Kubeconfig = file, KubeconfigContext = "skip" });
            Assert.Equal("https://127.0.0.2:6443", skip.Host.TrimEnd('/'));
            Assert.True(skip.SkipTlsVerify);
            Assert.Equal("admin", skip.Username);
            Assert.Equal("s3cret", skip.Password);
            Assert.Null(skip.Namespace);

            Assert.Throws<KubeConfigException>(() =>
                KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Kubeconfig = file, KubeconfigContext = "missing" }));
            Assert.Throws<KubeConfigException>(() =>
                KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Kubeconfig = Path.Combine(dir, "absent") }));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
