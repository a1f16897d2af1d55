using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ClusterDns.Kubernetes;

/// <summary>The API object <c>multicluster.x-k8s.io/v1alpha1</c> ServiceImport (KEP-1645), only the fields DNS reads.
/// The client library has no type for this CRD.</summary>
public sealed class V1Alpha1ServiceImport : IKubernetesObject<V1ObjectMeta>
{
    public const string KubeGroup = "multicluster.x-k8s.io";
    public const string KubeVersion = "v1alpha1";
    public const string KubePlural = "serviceimports";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = KubeGroup + "/" + KubeVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "ServiceImport";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public V1Alpha1ServiceImportSpec? Spec { get; set; }
}

public sealed class V1Alpha1ServiceImportSpec
{
    /// <summary><c>ClusterSetIP</c> or <c>Headless</c>.</summary>
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("ips")]
    public IList<string>? Ips { get; set; }

    [JsonPropertyName("ports")]
    public IList<V1Alpha1ServiceImportPort>? Ports { get; set; }
}

public sealed class V1Alpha1ServiceImportPort
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("protocol")]
    public string? Protocol { get; set; }

    [JsonPropertyName("port")]
    public int Port { get; set; }
}

public sealed class V1Alpha1ServiceImportList : IKubernetesObject<V1ListMeta>, IItems<V1Alpha1ServiceImport>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = V1Alpha1ServiceImport.KubeGroup + "/" + V1Alpha1ServiceImport.KubeVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "ServiceImportList";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<V1Alpha1ServiceImport> Items { get; set; } = [];
}
