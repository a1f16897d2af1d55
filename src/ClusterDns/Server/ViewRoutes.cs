using ClusterDns.Protocol;

namespace ClusterDns.Server;

/// <summary>
/// The routing table of a listener where at least one block has a view, as CoreDNS's <c>ServeDNS</c> walks it: zones
/// from the longest that contains the name to the shortest, and within a zone the blocks in Corefile order; the first
/// block whose view passes (or that has none) serves the query. A zone whose views all fail falls through to the next
/// shorter zone and finally to the root's blocks; nothing passing is REFUSED. A DS query goes to the last passing block
/// of the parent-most zone, as CoreDNS keeps overwriting its DS handler while it walks.
/// </summary>
internal sealed class ViewRoutes
{
    private readonly DnsName[] _zones;
    private readonly ServerBlockRuntime[][] _candidates;
    private readonly ServerBlockRuntime[] _root;

    public ViewRoutes(IReadOnlyList<ServerBlockRuntime> blocks)
    {
        var zones = new List<string>();
        var candidates = new List<List<ServerBlockRuntime>>();
        var root = new List<ServerBlockRuntime>();
        foreach (var block in blocks)
        {
            foreach (var zone in block.Zones)
            {
                if (zone == ".")
                {
                    root.Add(block);
                    continue;
                }
                var index = zones.IndexOf(zone);
                if (index < 0)
                {
                    zones.Add(zone);
                    candidates.Add([]);
                    index = zones.Count - 1;
                }
                candidates[index].Add(block);
            }
        }
        var order = new int[zones.Count];
        var names = new DnsName[zones.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            names[i] = DnsName.Parse(zones[i]).ToLowerInvariant();
        }
        // Two different zones of the same length never both contain one name, so ties need no rule.
        Array.Sort(order, (a, b) => names[b].WireLength.CompareTo(names[a].WireLength));
        _zones = new DnsName[order.Length];
        _candidates = new ServerBlockRuntime[order.Length][];
        for (var i = 0; i < order.Length; i++)
        {
            _zones[i] = names[order[i]];
            _candidates[i] = [.. candidates[order[i]]];
        }
        _root = [.. root];
    }

    public ServerBlockRuntime? Route(DnsRequest request)
    {
        var name = request.LowerNameWire;
        var ds = request.Type == DnsType.DS;
        ServerBlockRuntime? dsHandler = null;
        for (var i = 0; i < _zones.Length; i++)
        {
            if (!DnsNameSpan.IsSubdomainOf(name, _zones[i].Wire))
            {
                continue;
            }
            foreach (var block in _candidates[i])
            {
                if (block.Chain is null)
                {
                    return block; // a zone without plugins: REFUSED, as CoreDNS answers at once
                }
                if (block.View is null || block.View.Filter(request))
                {
                    if (!ds)
                    {
                        return block;
                    }
                    dsHandler = block;
                }
            }
        }
        if (dsHandler is not null)
        {
            return dsHandler;
        }
        foreach (var block in _root)
        {
            if (block.Chain is not null && (block.View is null || block.View.Filter(request)))
            {
                return block;
            }
        }
        return null;
    }
}
