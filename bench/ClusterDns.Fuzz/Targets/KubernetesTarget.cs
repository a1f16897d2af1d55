using System.Text;
using System.Text.Json;
using ClusterDns.Fuzz.Engine;
using ClusterDns.Kubernetes;
using YamlDotNet.Core;

namespace ClusterDns.Fuzz.Targets;

/// <summary>
/// The Kubernetes object readers: <see cref="SnapshotLoader.Parse"/> (YAML or JSON, lists, single objects) and through
/// it <see cref="ModelConverter"/> over mutated snapshots and API list fixtures. A snapshot that cannot be read is
/// rejected with a JSON or YAML error (the caller then keeps the previous state); anything else that comes out — a
/// null reference, an index out of range, a stack overflow — is a crash.
/// </summary>
public sealed class KubernetesTarget : IFuzzTarget
{
    public string Name => "k8s";

    public bool IsText => true;

    public int LastSignature { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        try
        {
            var state = SnapshotLoader.Parse(text);
            LastSignature = state.Namespaces.Count * 1_000_003 + state.ServiceCount * 10_007 + state.SliceCount * 101 + state.PodCount;
        }
        catch (Exception exception) when (IsRejection(exception))
        {
            LastSignature = -exception.GetType().Name.GetHashCode(StringComparison.Ordinal);
        }
    }

    /// <summary>The documented ways a snapshot is refused: malformed JSON (including values of the wrong type for a
    /// field), malformed YAML, and YAML the JSON conversion cannot represent. YamlDotNet also reports some malformed
    /// documents with an ArgumentException or InvalidOperationException thrown from its own scanner or parser; those are
    /// rejections too (the loader's caller keeps the previous state on any of them) — but the same types thrown from
    /// ClusterDns code are crashes.</summary>
    public static bool IsRejection(Exception exception) =>
        exception is JsonException or YamlException or FormatException
        || (exception is ArgumentException or InvalidOperationException
            && exception.TargetSite?.DeclaringType?.Namespace?.StartsWith("YamlDotNet", StringComparison.Ordinal) == true);
}
