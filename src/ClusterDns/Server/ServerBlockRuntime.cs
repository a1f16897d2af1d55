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
        ZoneWires = new byte[zones.Count][];
        for (var i = 0; i < zones.Count; i++)
        {
            ZoneWires[i] = DnsName.Parse(zones[i]).Wire.ToArray();
        }
    }

    /// <summary>Canonical key of the block's first zone, e.g. <c>dns://cluster.local.:53</c>.</summary>
    public string Key { get; }

    public IReadOnlyList<string> Zones { get; }

    internal byte[][] ZoneWires { get; }

    public IReadOnlyList<DnsPlugin> Plugins { get; }

    public DnsPlugin? Chain { get; }

    /// <summary>The longest of this block's zones that contains <paramref name="lowerName"/> (metrics' zone label).</summary>
    public string MatchZone(ReadOnlySpan<byte> lowerName)
    {
        var best = -1;
        for (var i = 0; i < ZoneWires.Length; i++)
        {
            if (DnsNameSpan.IsSubdomainOf(lowerName, ZoneWires[i]) && (best < 0 || ZoneWires[i].Length > ZoneWires[best].Length))
            {
                best = i;
            }
        }
        return best < 0 ? "." : Zones[best];
    }
}

/// <summary>
/// The zone table of one listener: every zone of every block on that address, longest first, routed as CoreDNS's
/// <c>ServeDNS</c> does (longest suffix match, DS to the parent-most zone, <c>.</c> last).
/// </summary>
public sealed class ListenerRoutes
{
    private readonly (byte[] Zone, ServerBlockRuntime Block)[] _entries;
    private readonly ServerBlockRuntime? _root;

    public ListenerRoutes(string address, IReadOnlyList<ServerBlockRuntime> blocks, bool allowAnyClass, bool panicStacktraces = false)
    {
        Address = address;
        Blocks = blocks;
        AllowAnyClass = allowAnyClass;
        PanicStacktraces = panicStacktraces;
        var entries = new List<(byte[], ServerBlockRuntime)>();
        foreach (var block in blocks)
        {
            for (var i = 0; i < block.Zones.Count; i++)
            {
                if (block.Zones[i] == ".")
                {
                    _root = block;
                }
                else
                {
                    entries.Add((block.ZoneWires[i], block));
                }
            }
        }
        entries.Sort((a, b) => b.Item1.Length.CompareTo(a.Item1.Length));
        _entries = [.. entries];
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
        ServerBlockRuntime? dsBlock = null;
        foreach (var (zone, block) in _entries)
        {
            if (!DnsNameSpan.IsSubdomainOf(lowerName, zone))
            {
                continue;
            }
            if (type != DnsType.DS)
            {
                return block;
            }
            dsBlock = block; // keep walking towards the root: the parent zone's block answers DS
        }
        return dsBlock ?? _root;
    }
}
