using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Authentication;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace ClusterDns.Kubernetes;

/// <summary>
/// A kubeconfig's context as a <see cref="KubernetesClientConfiguration"/>, field for field as the client library's
/// <c>BuildConfigFromConfigObject</c> maps it (context, cluster server and CA, TLS server name, skip-verify; user
/// token, basic auth, client certificate and key as data or files, exec credential plugins, the azure/oidc
/// auth-provider tokens). That method is not called: its exec path reads the plugin's answer through the library's
/// serializer for all ~1,000 API types, which alone kept them all in the native AOT image
/// (docs/performance/footprint.md). Exec plugins run here, their <c>ExecCredential</c> read with
/// <see cref="Utf8JsonReader"/>, and are run again when the credential expires.
/// </summary>
internal static class KubeconfigConnection
{
    public static KubernetesClientConfiguration Build(K8SConfiguration kubeconfig, string? contextName)
    {
        var config = new KubernetesClientConfiguration();
        contextName ??= kubeconfig.CurrentContext;
        if (contextName is not null)
        {
            var context = Find(kubeconfig.Contexts, c => c.Name, contextName)
                ?? throw new KubeConfigException($"CurrentContext: {contextName} not found in contexts in kubeconfig");
            if (string.IsNullOrEmpty(context.ContextDetails?.Cluster))
            {
                throw new KubeConfigException($"Cluster not set for context `{contextName}` in kubeconfig");
            }
            SetCluster(config, kubeconfig, context);
            SetUser(config, kubeconfig, context);
            config.Namespace = context.ContextDetails.Namespace;
        }
        if (string.IsNullOrWhiteSpace(config.Host))
        {
            throw new KubeConfigException("Cannot infer server host url either from context or masterUrl");
        }
        return config;
    }

    private static T? Find<T>(IEnumerable<T>? items, Func<T, string?> name, string wanted) where T : class
    {
        foreach (var item in items ?? [])
        {
            if (string.Equals(name(item), wanted, StringComparison.OrdinalIgnoreCase))
            {
                return item;
            }
        }
        return null;
    }

    private static void SetCluster(KubernetesClientConfiguration config, K8SConfiguration kubeconfig, Context context)
    {
        var cluster = Find(kubeconfig.Clusters, c => c.Name, context.ContextDetails.Cluster)?.ClusterEndpoint
            ?? throw new KubeConfigException($"Cluster not found for context `{context.Name}` in kubeconfig");
        if (string.IsNullOrWhiteSpace(cluster.Server))
        {
            throw new KubeConfigException($"Server not found for current-context `{context.Name}` in kubeconfig");
        }
        if (!Uri.TryCreate(cluster.Server, UriKind.Absolute, out var uri))
        {
            throw new KubeConfigException($"Bad server host URL `{cluster.Server}` (cannot be parsed)");
        }
        config.Host = cluster.Server;
        // A server on the wildcard address means this host's loopback.
        if (IPAddress.TryParse(uri.Host, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
        {
            config.Host = new UriBuilder(uri) { Host = (ip.Equals(IPAddress.Any) ? IPAddress.Loopback : IPAddress.IPv6Loopback).ToString() }.ToString();
        }
        config.SkipTlsVerify = cluster.SkipTlsVerify;
        config.TlsServerName = cluster.TlsServerName;
        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            if (!string.IsNullOrEmpty(cluster.CertificateAuthorityData))
            {
                config.SslCaCerts = Certificates(Encoding.UTF8.GetString(Convert.FromBase64String(cluster.CertificateAuthorityData)), null);
            }
            else if (!string.IsNullOrEmpty(cluster.CertificateAuthority))
            {
                config.SslCaCerts = Certificates(null, FullPath(kubeconfig, cluster.CertificateAuthority));
            }
        }
    }

    /// <summary>PEM (one or more certificates) or DER.</summary>
    private static X509Certificate2Collection Certificates(string? text, string? path)
    {
        var certs = new X509Certificate2Collection();
        text ??= File.ReadAllText(path!);
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            certs.ImportFromPem(text);
        }
        else
        {
            certs.Add(path is null ? X509CertificateLoader.LoadCertificate(Encoding.Latin1.GetBytes(text)) : X509CertificateLoader.LoadCertificateFromFile(path));
        }
        return certs;
    }

    private static void SetUser(KubernetesClientConfiguration config, K8SConfiguration kubeconfig, Context context)
    {
        if (string.IsNullOrWhiteSpace(context.ContextDetails.User))
        {
            return;
        }
        var user = Find(kubeconfig.Users, u => u.Name, context.ContextDetails.User)
            ?? throw new KubeConfigException($"User not found for context {context.Name} in kubeconfig");
        var credentials = user.UserCredentials ?? throw new KubeConfigException($"User credentials not found for user: {user.Name} in kubeconfig");
        var found = false;
        // Bearer token and basic auth exclude each other; either may come with a client certificate.
        if (!string.IsNullOrWhiteSpace(credentials.Token))
        {
            config.AccessToken = credentials.Token;
            found = true;
        }
        else if (!string.IsNullOrWhiteSpace(credentials.UserName) && !string.IsNullOrWhiteSpace(credentials.Password))
        {
            config.Username = credentials.UserName;
            config.Password = credentials.Password;
            found = true;
        }
        if (!string.IsNullOrWhiteSpace(credentials.ClientCertificateData) && !string.IsNullOrWhiteSpace(credentials.ClientKeyData))
        {
            config.ClientCertificateData = credentials.ClientCertificateData;
            config.ClientCertificateKeyData = credentials.ClientKeyData;
            found = true;
        }
        if (!string.IsNullOrWhiteSpace(credentials.ClientCertificate) && !string.IsNullOrWhiteSpace(credentials.ClientKey))
        {
            config.ClientCertificateFilePath = FullPath(kubeconfig, credentials.ClientCertificate);
            config.ClientKeyFilePath = FullPath(kubeconfig, credentials.ClientKey);
            found = true;
        }
        if (credentials.AuthProvider is { } provider)
        {
            found |= AuthProvider(config, provider);
        }
        if (credentials.ExternalExecution is { } exec)
        {
            if (string.IsNullOrWhiteSpace(exec.Command))
            {
                throw new KubeConfigException("External command execution to receive user credentials must include a command to execute");
            }
            if (string.IsNullOrWhiteSpace(exec.ApiVersion))
            {
                throw new KubeConfigException("External command execution missing ApiVersion key");
            }
            var plugin = new ExecCredentialPlugin(exec);
            var response = plugin.Run();
            config.AccessToken = response.Token;
            // The plugin returns PEM text; the configuration holds base64 of it, as kubeconfig's *-data fields do.
            config.ClientCertificateData = response.ClientCertificateData is null ? null : Convert.ToBase64String(Encoding.ASCII.GetBytes(response.ClientCertificateData));
            config.ClientCertificateKeyData = response.ClientKeyData is null ? null : Convert.ToBase64String(Encoding.ASCII.GetBytes(response.ClientKeyData));
            if (response.Token is not null)
            {
                config.TokenProvider = plugin;
            }
            found = true;
        }
        if (!found)
        {
            throw new KubeConfigException($"User: {user.Name} does not have appropriate auth credentials in kubeconfig");
        }
    }

    /// <summary>The legacy in-tree auth providers (removed from kubectl in Kubernetes 1.26): their stored token is
    /// used as the library uses it; refreshing one (gcp's gcloud helper, an OIDC refresh token) is not supported
    /// and is refused rather than ignored.</summary>
    private static bool AuthProvider(KubernetesClientConfiguration config, AuthProvider provider)
    {
        var settings = provider.Config;
        if (settings is null || !(settings.ContainsKey("access-token") || settings.ContainsKey("id-token")))
        {
            return false;
        }
        switch (provider.Name)
        {
            case "azure":
                if (settings.TryGetValue("expires-on", out var expiresOn)
                    && long.TryParse(expiresOn, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                    && DateTimeOffset.FromUnixTimeSeconds(seconds) <= DateTimeOffset.UtcNow)
                {
                    throw new KubeConfigException("Refresh not supported.");
                }
                config.AccessToken = settings.GetValueOrDefault("access-token");
                return true;
            case "oidc":
                if (settings.ContainsKey("refresh-token") && settings.ContainsKey("client-id") && settings.ContainsKey("idp-issuer-url"))
                {
                    throw new KubeConfigException("auth-provider oidc with a refresh-token is not supported: use an exec credential plugin (e.g. kubelogin)");
                }
                config.AccessToken = settings.GetValueOrDefault("id-token");
                return true;
            case "gcp":
                throw new KubeConfigException("auth-provider gcp is not supported: use the exec credential plugin gke-gcloud-auth-plugin");
            default:
                return false;
        }
    }

    private static string FullPath(K8SConfiguration kubeconfig, string path) =>
        string.IsNullOrEmpty(kubeconfig.FileName) || Path.IsPathRooted(path)
            ? path
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(kubeconfig.FileName)!, path));
}

/// <summary>What an exec credential plugin answered (<c>ExecCredential.status</c>).</summary>
internal sealed record ExecCredentialStatus(string? Token, string? ClientCertificateData, string? ClientKeyData, DateTimeOffset? Expiry);

/// <summary>
/// A kubeconfig <c>exec</c> credential plugin (client.authentication.k8s.io): runs the command with
/// <c>KUBERNETES_EXEC_INFO</c> and the configured environment, reads its <c>ExecCredential</c>, and as a token provider
/// runs it again once the token has expired.
/// </summary>
internal sealed class ExecCredentialPlugin(ExternalExecution exec) : ITokenProvider
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ExecCredentialStatus? _current;

    public async Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_current is null || _current.Expiry is { } expiry && expiry <= DateTimeOffset.UtcNow)
            {
                _current = await Task.Run(Run, cancellationToken).ConfigureAwait(false);
            }
            return new AuthenticationHeaderValue("Bearer", _current.Token);
        }
        finally
        {
            _gate.Release();
        }
    }

    public ExecCredentialStatus Run()
    {
        using var process = new Process();
        var start = process.StartInfo;
        start.FileName = exec.Command;
        foreach (var argument in exec.Arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["KUBERNETES_EXEC_INFO"] =
            $"{{\"apiVersion\":\"{JsonEncodedText.Encode(exec.ApiVersion ?? "")}\",\"kind\":\"ExecCredential\",\"spec\":{{\"interactive\":false}}}}";
        foreach (var variable in exec.EnvironmentVariables ?? [])
        {
            if (variable.TryGetValue("name", out var name) && variable.TryGetValue("value", out var value))
            {
                start.Environment[name] = value;
            }
            else
            {
                throw new KubeConfigException($"Invalid environment variable defined: {string.Join(",", variable.Select(kv => $"{kv.Key}={kv.Value}"))}");
            }
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new KubeConfigException($"external exec failed due to: {e.Message}");
        }
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Timeout) || !stdout.Wait(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new KubeConfigException($"external exec failed due to timeout ({Timeout})");
        }
        if (process.ExitCode != 0)
        {
            throw new KubeConfigException($"external exec failed with exit code {process.ExitCode}: {stderr.Result.Trim()}");
        }
        return Parse(stdout.Result, exec.ApiVersion);
    }

    /// <summary>Reads an <c>ExecCredential</c>: its apiVersion must be the one asked for, and it must hold a token
    /// or a client certificate and key.</summary>
    internal static ExecCredentialStatus Parse(string json, string? apiVersion)
    {
        string? version = null, token = null, cert = null, key = null;
        DateTimeOffset? expiry = null;
        try
        {
            var r = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("not a JSON object");
            }
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var isVersion = r.ValueTextEquals("apiVersion"u8);
                var isStatus = r.ValueTextEquals("status"u8);
                r.Read();
                if (isVersion && r.TokenType == JsonTokenType.String)
                {
                    version = r.GetString();
                }
                else if (isStatus && r.TokenType == JsonTokenType.StartObject)
                {
                    while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                    {
                        var field = r.GetString();
                        r.Read();
                        var text = r.TokenType == JsonTokenType.String ? r.GetString() : null;
                        if (r.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        {
                            r.Skip();
                        }
                        switch (field)
                        {
                            case "token": token = text; break;
                            case "clientCertificateData": cert = text; break;
                            case "clientKeyData": key = text; break;
                            case "expirationTimestamp":
                                expiry = text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                                    ? t
                                    : null;
                                break;
                        }
                    }
                }
                else
                {
                    r.Skip();
                }
            }
        }
        catch (JsonException e)
        {
            throw new KubeConfigException($"external exec failed due to failed deserialization process: {e.Message}");
        }
        if (version != apiVersion)
        {
            throw new KubeConfigException($"external exec failed because api version {version} does not match {apiVersion}");
        }
        if (string.IsNullOrEmpty(token) && (string.IsNullOrEmpty(cert) || string.IsNullOrEmpty(key)))
        {
            throw new KubeConfigException("external exec failed missing token or clientCertificateData field in plugin output");
        }
        return new ExecCredentialStatus(token, cert, key, expiry);
    }
}
