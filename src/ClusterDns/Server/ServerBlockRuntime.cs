using ClusterDns.Corefile;
using ClusterDns.Protocol;

namespace ClusterDns.Server;

/// <summary>One server block after setup: its zones, its plugin chain (plugin.cfg order) and its side services.</summary>
public sealed class ServerBlockRuntime
{
    public ServerBlockRuntime(string key, IReadOnlyList<string> zones, IReadOnlyList<DnsPlugin> plugins)
    {
        Key = key;
        Zones = zones;
        Plugins = plugins;
        for (var i = 0; i < plugins.Count; i++)
        {
            plugins[i].Next = i + 1 < plugins.Count ? plugins[i + 1] : null;
        }
        Chain = plugins.Count > 0 ? plugins[0] : null;
        ZoneSet = new ZoneSet(zones);
    }

    /// <summary>Canonical key of the block's first zone, e.g. <c>dns://cluster.local.:53</c>.</summary>
    public string Key { get; }

    public IReadOnlyList<string> Zones { get; }

    internal ZoneSet ZoneSet { get; }

    public IReadOnlyList<DnsPlugin> Plugins { get; }

    public DnsPlugin? Chain { get; }

    /// <summary>The longest of this block's zones that contains <paramref name="lowerName"/> (metrics' zone label).</summary>
    public string MatchZone(ReadOnlySpan<byte> lowerName)
    {
        var best = ZoneSet.Match(lowerName);
        return best < 0 ? "." : ZoneSet[best];
    }
}

/// <summary>
/// The zone table of one listener: every zone of every block on that address, longest first, routed as CoreDNS's
/// <c>ServeDNS</c> does (longest suffix match, DS to the parent-most zone, <c>.</c> last).
/// </summary>
public sealed class ListenerRoutes
{
    private readonly ZoneSet _zones;
    private readonly ServerBlockRuntime[] _zoneBlocks;
    private readonly ServerBlockRuntime? _root;

    public ListenerRoutes(string address, IReadOnlyList<ServerBlockRuntime> blocks, bool allowAnyClass, bool panicStacktraces = false)
    {
        Address = address;
        Blocks = blocks;
        AllowAnyClass = allowAnyClass;
        PanicStacktraces = panicStacktraces;
        // The root stays out of the table: it catches what no other zone does, even a DS query.
        var zones = new List<string>();
        var zoneBlocks = new List<ServerBlockRuntime>();
        foreach (var block in blocks)
        {
            foreach (var zone in block.Zones)
            {
                if (zone == ".")
                {
                    _root = block;
                }
                else
                {
                    zones.Add(zone);
                    zoneBlocks.Add(block);
                }
            }
        }
        _zones = new ZoneSet(zones);
        _zoneBlocks = [.. zoneBlocks];
    }

    /// <summary>CoreDNS's server label: <c>dns://:53</c>.</summary>
    public string Address { get; }

    public IReadOnlyList<ServerBlockRuntime> Blocks { get; }

    /// <summary>Whether non-IN classes are served (a block loads chaos or forward).</summary>
    public bool AllowAnyClass { get; }

    /// <summary>Whether a recovered panic is logged with its stack trace (a block has <c>errors { stacktrace }</c>).</summary>
    public bool PanicStacktraces { get; }

    public ServerBlockRuntime? Route(ReadOnlySpan<byte> lowerName, DnsType type)
    {
        // DS is answered by the parent side of a delegation: the parent-most zone served here.
        var match = type == DnsType.DS ? _zones.MatchShortest(lowerName) : _zones.Match(lowerName);
        return match >= 0 ? _zoneBlocks[match] : _root;
    }
}
