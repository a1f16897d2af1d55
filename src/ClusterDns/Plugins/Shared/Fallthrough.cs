using ClusterDns.Corefile;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Shared;

/// <summary>
/// CoreDNS's <c>fall.F</c>, the <c>fallthrough [ZONES...]</c> option of hosts, kubernetes and others: a name that would
/// get NXDOMAIN is passed to the next plugin instead when one of the zones contains it. No <c>fallthrough</c> at all
/// is <see cref="None"/>; a bare <c>fallthrough</c> means every name (the root zone).
/// </summary>
public sealed class Fallthrough
{
    private readonly ZoneSet _zones;

    private Fallthrough(IReadOnlyList<string> zones) => _zones = new ZoneSet(zones);

    /// <summary>No <c>fallthrough</c> option: nothing falls through.</summary>
    public static Fallthrough None { get; } = new([]);

    /// <summary>The zones names fall through for (<c>.</c> for a bare <c>fallthrough</c>), lower-case FQDNs.</summary>
    public IReadOnlyList<string> Zones => _zones.Zones;

    /// <summary>Whether the option was given at all.</summary>
    public bool IsEnabled => !_zones.IsEmpty;

    /// <summary>
    /// SetZonesFromArgs: the option's arguments, normalised as plugin zones; no arguments means the root zone.
    /// Throws <see cref="FormatException"/> with CoreDNS's text for a bad zone.
    /// </summary>
    public static Fallthrough FromArgs(IReadOnlyList<string> args) => new(args.Count == 0 ? ["."] : ZoneNames.Normalize(args));

    /// <summary>
    /// Reads the arguments of the <c>fallthrough</c> line the dispenser is on. A bad zone is a
    /// <see cref="CorefileException"/> at that line carrying CoreDNS's bare text (no "Error during parsing" prefix).
    /// </summary>
    public static Fallthrough Parse(Dispenser d)
    {
        try
        {
            return FromArgs(d.RemainingArgs());
        }
        catch (FormatException e)
        {
            throw new CorefileException(e.Message, d.File, d.Line);
        }
    }

    /// <summary>Whether <paramref name="lowerName"/> (wire form) falls through.</summary>
    public bool Through(ReadOnlySpan<byte> lowerName) => _zones.Covers(lowerName);

    /// <summary>Whether <paramref name="name"/> falls through (case does not matter).</summary>
    public bool Through(DnsName name) => _zones.Covers(name.Wire);
}
