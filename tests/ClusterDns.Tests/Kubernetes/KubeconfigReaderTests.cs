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

    public static TheoryData<string, WatchEventType, string?> WatchLines => new()
    {
        { """{"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"a","namespace":"ns"},"spec":{"clusterIP":"10.0.0.1"}}}""", WatchEventType.Added, "a" },
        { """{"object":{"metadata":{"name":"b"}},"type":"MODIFIED"}""", WatchEventType.Modified, "b" },
        { """{"type":"DELETED","extra":[1,2],"object":{"metadata":{"name":"c","creationTimestamp":"2024-01-02T03:04:05Z"}}}""", WatchEventType.Deleted, "c" },
        { """{"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"42"}}}""", WatchEventType.Bookmark, null },
    };

    [Theory]
    [MemberData(nameof(WatchLines))]
    public void Watch_event_lines_read_through_the_generated_metadata(string line, WatchEventType type, string? name)
    {
        var service = KubernetesJson.Deserialize<Watcher<V1Service>.WatchEvent>(line);
        Assert.Equal(type, service.Type);
        Assert.Equal(name, service.Object.Metadata.Name);
        var generic = KubernetesJson.Deserialize<Watcher<KubernetesObject>.WatchEvent>(line);
        Assert.Equal(type, generic.Type);
        var untyped = KubernetesJson.Deserialize<Watcher<object>.WatchEvent>(line);
        Assert.IsType<System.Text.Json.JsonElement>(untyped.Object);

        var again = KubernetesJson.Deserialize<Watcher<V1Service>.WatchEvent>(KubernetesJson.Serialize(service));
        Assert.Equal(type, again.Type);
        Assert.Equal(name, again.Object.Metadata.Name);
    }

    [Fact]
    public void Watch_status_events_and_service_imports_have_metadata()
    {
        var status = KubernetesJson.Deserialize<Watcher<V1Status>.WatchEvent>(
            """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","code":410,"reason":"Expired"}}""");
        Assert.Equal(WatchEventType.Error, status.Type);
        Assert.Equal(410, status.Object.Code);
        var import = KubernetesJson.Deserialize<V1Alpha1ServiceImport>(
            """{"metadata":{"name":"x","namespace":"y"},"spec":{"type":"ClusterSetIP","ips":["10.1.1.1"],"ports":[{"port":53,"protocol":"UDP"}]}}""");
        Assert.Equal("10.1.1.1", Assert.Single(import.Spec!.Ips!));
        Assert.Throws<System.Text.Json.JsonException>(() =>
            KubernetesJson.Deserialize<Watcher<V1Service>.WatchEvent>("""{"type":"EXPLODED","object":{}}"""));
    }
}
