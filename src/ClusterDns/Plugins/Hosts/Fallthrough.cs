using ClusterDns.Corefile;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Hosts;

/// <summary>
/// CoreDNS's <c>fall.F</c>: <c>fallthrough</c> with no zones means every name (<c>.</c>); with zones only names
/// under them. Zones are kept as lower-case wire names so the query path compares bytes.
/// </summary>
public sealed class Fallthrough
{
    private readonly byte[][] _zones;

    private Fallthrough(IReadOnlyList<string> zones)
    {
        Zones = zones;
        _zones = new byte[zones.Count][];
        for (var i = 0; i < zones.Count; i++)
        {
            _zones[i] = DnsName.Parse(zones[i]).ToLowerInvariant().Wire.ToArray();
        }
    }

    public static Fallthrough None { get; } = new([]);

    public IReadOnlyList<string> Zones { get; }

    public bool IsEnabled => _zones.Length > 0;

    /// <summary>SetZonesFromArgs: no arguments means the root zone. Throws <see cref="FormatException"/> for bad zones.</summary>
    public static Fallthrough FromArgs(IReadOnlyList<string> args) => new(args.Count == 0 ? ["."] : ZoneNames.Normalize(args));

    public bool Through(ReadOnlySpan<byte> lowerName)
    {
        foreach (var zone in _zones)
        {
            if (DnsNameSpan.IsSubdomainOf(lowerName, zone))
            {
                return true;
            }
        }
        return false;
    }
}
