using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Authentication;
using k8s.Exceptions;

namespace ClusterDns.Kubernetes;

public static class KubernetesConnection
{
    /// <summary>kubeconfig wins; else `endpoint` (+`tls`); else in-cluster (docs/kubernetes-dns.md §6, §8.1).</summary>
    public static KubernetesClientConfiguration BuildConfig(KubernetesConnectionOptions o) =>
        BuildConfig(o, Environment.GetEnvironmentVariable);

    /// <summary>How long an idle pooled connection to the API server is kept (the API server or a proxy may close it
    /// meanwhile; the pool would otherwise hold it half-closed for the handler's default minute).</summary>
    internal static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromSeconds(15);

    /// <summary>After this a pooled connection is not reused (a watch in progress is never cut by it).</summary>
    internal static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(10);

    /// <summary>Same, with the environment injectable so tests need not mutate process-wide variables.</summary>
    internal static KubernetesClientConfiguration BuildConfig(KubernetesConnectionOptions o, Func<string, string?> env)
    {
        var config = BuildConnection(o, env);
        config.FirstMessageHandlerSetup = BoundConnections;
        return config;
    }

    /// <summary>Bounds how long idle connections of the client's own handler live.</summary>
    internal static void BoundConnections(HttpMessageHandler handler)
    {
        if (handler is SocketsHttpHandler sockets)
        {
            sockets.PooledConnectionIdleTimeout = IdleConnectionTimeout;
            sockets.PooledConnectionLifetime = ConnectionLifetime;
        }
    }

    private static KubernetesClientConfiguration BuildConnection(KubernetesConnectionOptions o, Func<string, string?> env)
    {
        if (!string.IsNullOrEmpty(o.Kubeconfig))
        {
            // Read without the client's reflection-based YAML loader (KubeconfigReader: works in the native AOT build),
            // and mapped without the client's BuildConfigFromConfigObject (KubeconfigConnection: keeps the AOT image small).
            return KubeconfigConnection.Build(KubeconfigReader.Read(o.Kubeconfig), o.KubeconfigContext);
        }

        if (!string.IsNullOrEmpty(o.Endpoint))
        {
            var config = new KubernetesClientConfiguration { Host = o.Endpoint };
            // tls is only meaningful for an https endpoint; plain http is e.g. `kubectl proxy`.
            if (o.Endpoint.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
            {
                if (!string.IsNullOrEmpty(o.TlsCert))
                {
                    config.ClientCertificateFilePath = o.TlsCert;
                }
                if (!string.IsNullOrEmpty(o.TlsKey))
                {
                    config.ClientKeyFilePath = o.TlsKey;
                }
                if (!string.IsNullOrEmpty(o.TlsCa))
                {
                    config.SslCaCerts = LoadCa(o.TlsCa);
                }
            }

            return config;
        }

        return InCluster(o.ServiceAccountDirectory, env);
    }

    // Built by hand because the client's service-account path is an internal constant (docs/kubernetes-watch.md, Connection).
    private static KubernetesClientConfiguration InCluster(string dir, Func<string, string?> env)
    {
        var host = env("KUBERNETES_SERVICE_HOST");
        var port = env("KUBERNETES_SERVICE_PORT");
        var tokenPath = Path.Combine(dir, "token");
        var caPath = Path.Combine(dir, "ca.crt");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new KubeConfigException("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set, and no endpoint or kubeconfig was given");
        }
        if (!File.Exists(tokenPath) || !File.Exists(caPath))
        {
            throw new KubeConfigException($"service-account token or ca.crt missing in {dir}");
        }

        if (host.Contains(':') && !host.StartsWith('['))
        {
            host = "[" + host + "]";
        }
        var nsPath = Path.Combine(dir, "namespace");
        return new KubernetesClientConfiguration
        {
            Host = $"https://{host}:{port}",
            // TokenFileAuth re-reads the file (at most once a minute) so projected-token rotation is followed.
            TokenProvider = new TokenFileAuth(tokenPath),
            SslCaCerts = LoadCa(caPath),
            Namespace = File.Exists(nsPath) ? File.ReadAllText(nsPath).Trim() : null,
        };
    }

    private static X509Certificate2Collection LoadCa(string path)
    {
        var certs = new X509Certificate2Collection();
        certs.ImportFromPemFile(path);
        return certs;
    }
}
