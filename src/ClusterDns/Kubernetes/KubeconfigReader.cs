using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Reads a kubeconfig file into the client's <see cref="K8SConfiguration"/> with YamlDotNet's representation model
/// (no reflection), so it works in the native AOT build: the client's own loader goes through <c>KubernetesYaml</c>,
/// whose reflection-based deserializer does not survive trimming. Reads every field
/// <see cref="KubeconfigConnection"/> uses (as the client's BuildConfigFromConfigObject does): clusters (server, CA file or data,
/// TLS server name, insecure-skip-tls-verify), users (client certificate and key as files or data, token, basic auth,
/// exec, auth-provider, impersonation), contexts and current-context.
/// </summary>
internal static class KubeconfigReader
{
    public static K8SConfiguration Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new KubeConfigException($"kubeconfig file not found at {full}");
        }

        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(full);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new KubeConfigException($"kubeconfig {full}: {e.Message}");
        }
        var root = stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null;
        var clusters = new List<Cluster>();
        var users = new List<User>();
        var contexts = new List<Context>();
        var config = new K8SConfiguration { FileName = full, Clusters = clusters, Users = users, Contexts = contexts };
        if (root is null)
        {
            return config;
        }

        config.ApiVersion = Scalar(root, "apiVersion");
        config.Kind = Scalar(root, "kind");
        config.CurrentContext = Scalar(root, "current-context");
        foreach (var item in Items(root, "clusters"))
        {
            var cluster = Map(item, "cluster");
            clusters.Add(new Cluster
            {
                Name = Scalar(item, "name"),
                ClusterEndpoint = cluster is null ? null : new ClusterEndpoint
                {
                    Server = Scalar(cluster, "server"),
                    CertificateAuthority = Scalar(cluster, "certificate-authority"),
                    CertificateAuthorityData = Scalar(cluster, "certificate-authority-data"),
                    TlsServerName = Scalar(cluster, "tls-server-name"),
                    SkipTlsVerify = Bool(cluster, "insecure-skip-tls-verify"),
                },
            });
        }
        foreach (var item in Items(root, "contexts"))
        {
            var context = Map(item, "context");
            contexts.Add(new Context
            {
                Name = Scalar(item, "name"),
                ContextDetails = context is null ? null : new ContextDetails
                {
                    Cluster = Scalar(context, "cluster"),
                    User = Scalar(context, "user"),
                    Namespace = Scalar(context, "namespace"),
                },
            });
        }
        foreach (var item in Items(root, "users"))
        {
            var user = Map(item, "user");
            users.Add(new User { Name = Scalar(item, "name"), UserCredentials = user is null ? null : Credentials(user) });
        }
        return config;
    }

    private static UserCredentials Credentials(YamlMappingNode user)
    {
        var credentials = new UserCredentials
        {
            ClientCertificate = Scalar(user, "client-certificate"),
            ClientCertificateData = Scalar(user, "client-certificate-data"),
            ClientKey = Scalar(user, "client-key"),
            ClientKeyData = Scalar(user, "client-key-data"),
            Token = Scalar(user, "token"),
            UserName = Scalar(user, "username"),
            Password = Scalar(user, "password"),
            Impersonate = Scalar(user, "as"),
        };
        if (Map(user, "auth-provider") is { } provider)
        {
            credentials.AuthProvider = new AuthProvider { Name = Scalar(provider, "name"), Config = StringMap(Map(provider, "config")) };
        }
        if (Map(user, "exec") is { } exec)
        {
            var execution = new ExternalExecution
            {
                ApiVersion = Scalar(exec, "apiVersion"),
                Command = Scalar(exec, "command"),
                Arguments = new List<string>(),
                EnvironmentVariables = new List<Dictionary<string, string>>(),
            };
            foreach (var argument in Items(exec, "args"))
            {
                if (argument is YamlScalarNode { Value: { } value })
                {
                    execution.Arguments.Add(value);
                }
            }
            foreach (var variable in Items(exec, "env"))
            {
                execution.EnvironmentVariables.Add(StringMap(variable as YamlMappingNode));
            }
            credentials.ExternalExecution = execution;
        }
        return credentials;
    }

    private static Dictionary<string, string> StringMap(YamlMappingNode? node)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null)
        {
            return result;
        }
        foreach (var (key, value) in node.Children)
        {
            if (key is YamlScalarNode { Value: { } name } && value is YamlScalarNode { Value: { } text })
            {
                result[name] = text;
            }
        }
        return result;
    }

    private static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static YamlMappingNode? Map(YamlNode node, string key) => Child(node, key) as YamlMappingNode;

    private static IEnumerable<YamlNode> Items(YamlNode node, string key) =>
        Child(node, key) is YamlSequenceNode sequence ? sequence.Children : [];

    private static string? Scalar(YamlNode node, string key) =>
        Child(node, key) is YamlScalarNode scalar && !IsNull(scalar) ? scalar.Value : null;

    private static bool Bool(YamlNode node, string key) =>
        Scalar(node, key) is { } value && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "yes" || value == "on");

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style is ScalarStyle.Plain or ScalarStyle.Any && (scalar.Value is null or "" or "~" or "null" or "Null" or "NULL");
}
