using ClusterDns.Protocol;

namespace ClusterDns.Corefile;

/// <summary>
/// An immutable list of zones (lower-case FQDNs, as <see cref="ZoneNames.Normalize"/> produces) and the one rule
/// CoreDNS applies to them everywhere (<c>plugin.Zones.Matches</c>, the server's zone routing): a name belongs to the
/// longest zone that contains it. Indices are those of the list given, so callers keep parallel data (a block, a rule)
/// per zone; matching walks the zones longest first, ignores ASCII case (callers pass the query's lower-cased wire
/// name) and allocates nothing.
/// </summary>
public sealed class ZoneSet
{
    private readonly string[] _zones;
    private readonly DnsName[] _names;
    private readonly int[] _labels;

    // Zone indices by wire length, longest first; equal lengths keep list order so the earlier zone wins a tie.
    private readonly int[] _longestFirst;

    public ZoneSet(IReadOnlyList<string> zones)
    {
        ArgumentNullException.ThrowIfNull(zones);
        _zones = new string[zones.Count];
        _names = new DnsName[zones.Count];
        _labels = new int[zones.Count];
        _longestFirst = new int[zones.Count];
        for (var i = 0; i < _zones.Length; i++)
        {
            _zones[i] = zones[i];
            _names[i] = DnsName.Parse(zones[i]).ToLowerInvariant();
            _labels[i] = _names[i].LabelCount;
            _longestFirst[i] = i;
        }
        var names = _names;
        Array.Sort(_longestFirst, (a, b) => names[a].WireLength != names[b].WireLength
            ? names[b].WireLength.CompareTo(names[a].WireLength)
            : a.CompareTo(b));
    }

    public static ZoneSet Empty { get; } = new([]);

    /// <summary>The zones as given, in their original order.</summary>
    public IReadOnlyList<string> Zones => _zones;

    public int Count => _zones.Length;

    public bool IsEmpty => _zones.Length == 0;

    /// <summary>Zone <paramref name="index"/> as given (a lower-case FQDN).</summary>
    public string this[int index] => _zones[index];

    /// <summary>Zone <paramref name="index"/> as a (lower-case) name, e.g. to build its SOA owner.</summary>
    public DnsName Name(int index) => _names[index];

    /// <summary>Labels of zone <paramref name="index"/>, not counting the root (0 for <c>.</c>).</summary>
    public int LabelCount(int index) => _labels[index];

    /// <summary>
    /// Index of the longest zone that contains <paramref name="lowerWireName"/> (equal to it or below it), or -1.
    /// Of two identical zones the earlier wins.
    /// </summary>
    public int Match(ReadOnlySpan<byte> lowerWireName)
    {
        foreach (var index in _longestFirst)
        {
            if (DnsNameSpan.IsSubdomainOf(lowerWireName, _names[index].Wire))
            {
                return index;
            }
        }
        return -1;
    }

    /// <summary>
    /// Index of the shortest (parent-most) zone that contains <paramref name="lowerWireName"/>, or -1: where CoreDNS
    /// routes a DS query, which the parent side of a delegation answers.
    /// </summary>
    public int MatchShortest(ReadOnlySpan<byte> lowerWireName)
    {
        var best = -1;
        foreach (var index in _longestFirst)
        {
            if (DnsNameSpan.IsSubdomainOf(lowerWireName, _names[index].Wire)
                && (best < 0 || _names[index].WireLength < _names[best].WireLength))
            {
                best = index;
            }
        }
        return best;
    }

    /// <summary>Whether any zone contains <paramref name="lowerWireName"/>.</summary>
    public bool Covers(ReadOnlySpan<byte> lowerWireName) => Match(lowerWireName) >= 0;

    /// <summary>Index of the zone spelled exactly <paramref name="zone"/>, or -1.</summary>
    public int IndexOf(string zone)
    {
        for (var i = 0; i < _zones.Length; i++)
        {
            if (string.Equals(_zones[i], zone, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Index of the zone equal to <paramref name="name"/> (case does not matter), or -1.</summary>
    public int IndexOf(DnsName name)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            if (DnsNameSpan.EqualsIgnoreCase(_names[i].Wire, name.Wire))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Whether <paramref name="zone"/> is one of the zones (exact spelling).</summary>
    public bool Contains(string zone) => IndexOf(zone) >= 0;
}
