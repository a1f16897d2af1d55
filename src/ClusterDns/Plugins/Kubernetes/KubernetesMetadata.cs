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

    private readonly ZoneLabelCounts _zones;
    private readonly bool _podsVerified;

    public KubernetesMetadata(KubernetesOptions options)
    {
        _zones = new ZoneLabelCounts(options.Zones);
        _podsVerified = options.PodMode == PodMode.Verified;
    }

    public void Collect(DnsRequest request, KubernetesResolver resolver, ClusterState state)
    {
        var zone = resolver.MatchZone(request.LowerNameWire);
        var parsed = Parse(request.Name, zone < 0 ? 0 : _zones[zone]);
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

    /// <summary>CoreDNS's parseRequest on the lower-case FQDN below a zone of <paramref name="zoneLabels"/> labels (0: no
    /// kubernetes zone matched, so the whole name is the base); null for errInvalidRequest.</summary>
    internal static ParsedName? Parse(string name, int zoneLabels)
    {
        var labels = name.Length <= 1 ? [] : name[..^1].Split('.');
        var last = labels.Length - zoneLabels - 1;
        var result = new ParsedName();
        if (last < 0 || (last == 0 && labels[0] is "svc" or "pod"))
        {
            return result; // the apex, svc.<zone> or pod.<zone>: nothing to report, no error
        }
        result.Kind = labels[last];
        if (result.Kind is not ("pod" or "svc"))
        {
            return null;
        }
        if (--last < 0)
        {
            return result;
        }
        result.Namespace = labels[last];
        if (--last < 0)
        {
            return result;
        }
        result.Service = labels[last];
        if (--last < 0)
        {
            return result;
        }
        switch (last)
        {
            case 0:
                result.Endpoint = labels[0];
                return result;
            case 1:
                result.Protocol = StripUnderscore(labels[1]);
                result.Port = StripUnderscore(labels[0]);
                return result;
            default:
                return null;
        }
    }

    private static string StripUnderscore(string label) => label.StartsWith('_') ? label[1..] : label;

    internal sealed class ParsedName
    {
        public string Port { get; set; } = string.Empty;

        public string Protocol { get; set; } = string.Empty;

        public string Endpoint { get; set; } = string.Empty;

        public string Service { get; set; } = string.Empty;

        public string Namespace { get; set; } = string.Empty;

        public string Kind { get; set; } = string.Empty;
    }

    /// <summary>Label counts of the plugin's zones, by zone index.</summary>
    private sealed class ZoneLabelCounts(IReadOnlyList<string> zones)
    {
        private readonly int[] _counts = Count(zones);

        public int this[int index] => _counts[index];

        private static int[] Count(IReadOnlyList<string> zones)
        {
            var counts = new int[zones.Count];
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] = DnsName.Parse(zones[i]).LabelCount;
            }
            return counts;
        }
    }
}
