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
        foreach (var plugin in plugins)
        {
            if (plugin is IViewFilter filter)
            {
                if (View is not null)
                {
                    throw new ConfigException("multiple views defined in server block");
                }
                View = filter;
                ViewName = filter.ViewName;
            }
        }
    }

    /// <summary>The block's view (CoreDNS's filter functions), or null: routed to whenever its zone matches.</summary>
    public IViewFilter? View { get; }

    /// <summary>The <c>view</c> metric label: the view's name, "" without one.</summary>
    public string ViewName { get; } = string.Empty;

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
    private readonly ViewRoutes? _views;

    public ListenerRoutes(string address, IReadOnlyList<ServerBlockRuntime> blocks, bool allowAnyClass, bool panicStacktraces = false,
        TcpSettings? tcp = null)
    {
        Address = address;
        Tcp = tcp;
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
        foreach (var block in blocks)
        {
            if (block.View is not null)
            {
                _views = new ViewRoutes(blocks);
                break;
            }
        }
    }

    /// <summary>Whether a block on this listener has a view: queries then route through <see cref="Route(DnsRequest)"/>.</summary>
    public bool HasViews => _views is not null;

    /// <summary>CoreDNS's server label: <c>dns://:53</c>.</summary>
    public string Address { get; }

    public IReadOnlyList<ServerBlockRuntime> Blocks { get; }

    /// <summary>Whether non-IN classes are served (a block loads chaos or forward).</summary>
    public bool AllowAnyClass { get; }

    /// <summary>Whether a recovered panic is logged with its stack trace (a block has <c>errors { stacktrace }</c>).</summary>
    public bool PanicStacktraces { get; }

    /// <summary>The listener's TCP timeouts and limits from the Corefile (<c>timeouts</c>), or null for the defaults.</summary>
    public TcpSettings? Tcp { get; }

    public ServerBlockRuntime? Route(ReadOnlySpan<byte> lowerName, DnsType type)
    {
        // DS is answered by the parent side of a delegation: the parent-most zone served here.
        var match = type == DnsType.DS ? _zones.MatchShortest(lowerName) : _zones.Match(lowerName);
        return match >= 0 ? _zoneBlocks[match] : _root;
    }

    /// <summary>Routes with the blocks' views evaluated (CoreDNS's filter functions); the same as
    /// <see cref="Route(ReadOnlySpan{byte}, DnsType)"/> on a listener without views.</summary>
    public ServerBlockRuntime? Route(DnsRequest request) =>
        _views is null ? Route(request.LowerNameWire, request.Type) : _views.Route(request);
}
