using ClusterDns.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// The kubernetes plugin's metadata (CoreDNS's kubernetes/metadata.go): the query name parsed as parseRequest does —
/// <c>kubernetes/port-name</c>, <c>/protocol</c>, <c>/endpoint</c>, <c>/service</c>, <c>/namespace</c>, <c>/kind</c>
/// (empty strings for parts the name does not have), or only <c>kubernetes/parse-error</c> when the name is not a
/// kubernetes name — and, with <c>pods verified</c>, the client pod's <c>kubernetes/client-namespace</c> and
/// <c>kubernetes/client-pod-name</c>. Only called when a <c>metadata</c> directive is present; values are functions
/// over one parsed request, evaluated when read.
/// </summary>
internal sealed class KubernetesMetadata
{
    private const string InvalidRequest = "invalid query name";

    private readonly bool _podsVerified;

    public KubernetesMetadata(KubernetesOptions options) => _podsVerified = options.PodMode == PodMode.Verified;

    public void Collect(DnsRequest request, KubernetesResolver resolver, ClusterState state)
    {
        var zone = resolver.MatchZone(request.LowerNameWire);
        var parsed = Parse(request.LowerNameWire, zone < 0 ? 0 : resolver.Zones.LabelCount(zone));
        var items = request.Items;
        if (parsed is null)
        {
            items["kubernetes/parse-error"] = (Func<string>)(static () => InvalidRequest);
            return;
        }
        items["kubernetes/port-name"] = (Func<string>)(() => parsed.Port);
        items["kubernetes/protocol"] = (Func<string>)(() => parsed.Protocol);
        items["kubernetes/endpoint"] = (Func<string>)(() => parsed.Endpoint);
        items["kubernetes/service"] = (Func<string>)(() => parsed.Service);
        items["kubernetes/namespace"] = (Func<string>)(() => parsed.Namespace);
        items["kubernetes/kind"] = (Func<string>)(() => parsed.Kind);
        if (!_podsVerified)
        {
            return;
        }
        var pods = state.GetPodsByIp(request.RemoteEndPoint.Address.ToString());
        if (pods.Count == 0)
        {
            return;
        }
        var pod = pods[0];
        items["kubernetes/client-namespace"] = (Func<string>)(() => pod.Namespace);
        items["kubernetes/client-pod-name"] = (Func<string>)(() => pod.Name);
    }

    /// <summary>CoreDNS's parseRequest on the lower-case wire name below a zone of <paramref name="zoneLabels"/> labels (0:
    /// no kubernetes zone matched, so the whole name is the base), read through the plugin's own name grammar
    /// (<see cref="KubernetesName"/>); null for errInvalidRequest.</summary>
    internal static ParsedName? Parse(ReadOnlySpan<byte> lowerWire, int zoneLabels)
    {
        Span<byte> lower = stackalloc byte[lowerWire.Length];
        Span<int> offsets = stackalloc int[KubernetesName.MaxLabels];
        var q = new KubernetesName(lowerWire, lower, offsets, zoneLabels, -1);
        switch (q.Kind)
        {
            case KubernetesNameKind.Apex:
            case KubernetesNameKind.Structural:
                return new ParsedName(); // the apex, svc.<zone> or pod.<zone>: nothing to report, no error
            case KubernetesNameKind.NameServer: // "dns" is neither svc nor pod
            case KubernetesNameKind.Invalid:
                return null;
        }
        // parseRequest reads the labels by position for both branches: a pod name's dashed address is its "service".
        var result = new ParsedName { Kind = Text(q.BranchLabel), Namespace = Text(q.NamespaceLabel) };
        if (q.BaseCount >= 3)
        {
            result.Service = Text(q.ObjectLabel);
        }
        if (q.BaseCount == 4)
        {
            result.Endpoint = Text(q.EndpointLabel);
        }
        else if (q.BaseCount == 5)
        {
            result.Protocol = Text(q.ProtocolLabel);
            result.Port = Text(q.PortLabel);
        }
        return result;
    }

    /// <summary>One label in presentation form (escaped as in the query name's text).</summary>
    private static string Text(ReadOnlySpan<byte> label)
    {
        Span<byte> wire = stackalloc byte[label.Length + 2];
        wire[0] = (byte)label.Length;
        label.CopyTo(wire[1..]);
        wire[^1] = 0;
        return DnsNameSpan.ToText(wire)[..^1];
    }

    internal sealed class ParsedName
    {
        public string Port { get; set; } = string.Empty;

        public string Protocol { get; set; } = string.Empty;

        public string Endpoint { get; set; } = string.Empty;

        public string Service { get; set; } = string.Empty;

        public string Namespace { get; set; } = string.Empty;

        public string Kind { get; set; } = string.Empty;
    }
}
