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

    [Fact]
    public async Task Exec_credential_plugins_give_the_token_and_run_again_when_it_expires()
    {
        var dir = Directory.CreateTempSubdirectory("clusterdns-exec-").FullName;
        try
        {
            // The plugin counts its runs and answers an already expired token, so every request runs it again.
            var script = Path.Combine(dir, "plugin.sh");
            File.WriteAllText(script, """
                #!/bin/sh
                n=$(($(cat "$COUNT_FILE" 2>/dev/null || echo 0) + 1)); echo $n > "$COUNT_FILE"
                case "$KUBERNETES_EXEC_INFO" in *'"apiVersion":"client.authentication.k8s.io/v1"'*) ;; *) exit 3 ;; esac
                printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s-%s","expirationTimestamp":"2000-01-01T00:00:00Z"}}' "$n" "$1"
                """);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var count = Path.Combine(dir, "count");
            var file = Path.Combine(dir, "config");
            File.WriteAllText(file, $$"""
                apiVersion: v1
                kind: Config
                current-context: c
                clusters:
                - name: k
                  cluster: {server: "http://0.0.0.0:8080"}
                contexts:
                - name: c
                  context: {cluster: k, user: e}
                users:
                - name: e
                  user:
                    exec:
                      apiVersion: client.authentication.k8s.io/v1
                      command: {{script}}
                      args: [arg1]
                      env:
                      - {name: COUNT_FILE, value: {{count}}}
                """);
            var config = KubernetesConnection.BuildConfig(new KubernetesConnectionOptions { Kubeconfig = file });
            Assert.Equal("http://127.0.0.1:8080/", config.Host);
            Assert.Equal("tok-1-arg1", config.AccessToken);
            var provider = Assert.IsType<ExecCredentialPlugin>(config.TokenProvider);
            Assert.Equal("tok-2-arg1", (await provider.GetAuthenticationHeaderAsync(CancellationToken.None)).Parameter);
            Assert.Equal("tok-3-arg1", (await provider.GetAuthenticationHeaderAsync(CancellationToken.None)).Parameter);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    public static TheoryData<string, string, string> BadExecAnswers => new()
    {
        { "other api version", """{"apiVersion":"v9","status":{"token":"t"}}""", "api version v9 does not match" },
        { "no token or certificate", """{"apiVersion":"client.authentication.k8s.io/v1","status":{}}""", "missing token" },
        { "not JSON", "oops", "failed deserialization" },
    };

    [Theory]
    [MemberData(nameof(BadExecAnswers))]
    public void Bad_exec_answers_are_refused(string name, string answer, string error)
    {
        var e = Assert.Throws<KubeConfigException>(() => ExecCredentialPlugin.Parse(answer, "client.authentication.k8s.io/v1"));
        Assert.True(e.Message.Contains(error, StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void Exec_answers_with_a_client_certificate_and_an_expiry_are_read()
    {
        var status = ExecCredentialPlugin.Parse("""
            {"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false},
             "status":{"clientCertificateData":"CERT","clientKeyData":"KEY","expirationTimestamp":"2030-01-02T03:04:05Z"}}
            """, "client.authentication.k8s.io/v1beta1");
        Assert.Equal(new ExecCredentialStatus(null, "CERT", "KEY", new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero)), status);
    }

    public static TheoryData<string, string, string?> AuthProviders => new()
    {
        { "azure stored token", "{name: azure, config: {access-token: az-token}}", "az-token" },
        { "oidc id-token without refresh", "{name: oidc, config: {id-token: id-tok}}", "id-tok" },
        { "gcp refused", "{name: gcp, config: {access-token: t, cmd-path: gcloud}}", null },
        { "oidc refresh refused", "{name: oidc, config: {id-token: i, refresh-token: r, client-id: c, idp-issuer-url: 'https://idp'}}", null },
    };

    [Theory]
    [MemberData(nameof(AuthProviders))]
    public void Legacy_auth_providers_use_their_stored_token_or_are_refused(string name, string provider, string? token)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $$$"""
                apiVersion: v1
                kind: Config
                current-context: c
                clusters:
                - {name: k, cluster: {server: "http://127.0.0.1:8080"}}
                contexts:
                - {name: c, context: {cluster: k, user: u}}
                users:
                - name: u
                  user:
                    auth-provider: {{{provider}}}
                """);
            var options = new KubernetesConnectionOptions { Kubeconfig = file };
            if (token is null)
            {
                var e = Assert.Throws<KubeConfigException>(() => KubernetesConnection.BuildConfig(options));
                Assert.True(e.Message.Contains("not supported", StringComparison.Ordinal), $"{name}: {e.Message}");
            }
            else
            {
                Assert.True(token == KubernetesConnection.BuildConfig(options).AccessToken, name);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}
