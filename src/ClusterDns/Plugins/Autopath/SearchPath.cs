using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Autopath;

/// <summary>A plugin that supplies a per-query search path (CoreDNS's <c>AutoPather</c>); <c>autopath @NAME</c> uses it.</summary>
public interface IAutoPather
{
    /// <summary>The search path for this query's client, or null for "no autopath". Called for every query autopath
    /// sees in its zones: implementations must not allocate on this path.</summary>
    SearchPath? AutoPath(DnsRequest request);
}

/// <summary>
/// One search list as autopath walks it: lower-case FQDN elements ending with the empty sentinel (the bare name).
/// Immutable and shared by all queries using it; the first element's wire form is kept for the per-query suffix check.
/// </summary>
public sealed class SearchPath
{
    private readonly byte[][] _wires;
    private readonly int _firstLabels;

    public SearchPath(IReadOnlyList<string> elements)
    {
        var list = new List<string>(elements.Count + 1);
        foreach (var element in elements)
        {
            list.Add(element);
        }
        list.Add(string.Empty); // the sentinel: the base name as is
        Elements = list;
        _wires = new byte[list.Count][];
        for (var i = 0; i < list.Count; i++)
        {
            _wires[i] = list[i].Length == 0 || list[i] == "." ? [0] : DnsName.Parse(list[i]).ToLowerInvariant().Wire.ToArray();
        }
        _firstLabels = DnsNameSpan.CountLabels(_wires[0]);
    }

    /// <summary>The elements, the last one empty.</summary>
    public IReadOnlyList<string> Elements { get; }

    internal int Count => _wires.Length;

    internal ReadOnlySpan<byte> Wire(int index) => _wires[index];

    internal int FirstLabels => _firstLabels;

    /// <summary>CoreDNS's firstInSearchPath: the name is the first element or below it. An empty list (a resolv.conf without <c>search</c>) has only the sentinel, the root, which every name is below.</summary>
    public bool StartsSearch(ReadOnlySpan<byte> lowerWireName) => DnsNameSpan.IsSubdomainOf(lowerWireName, _wires[0]);
}

/// <summary>The search list of a resolv.conf file, parsed as miekg/dns's ClientConfigFromReader does.</summary>
internal static class ResolvConf
{
    /// <summary>The last <c>search</c> or <c>domain</c> line wins; other lines are ignored.</summary>
    public static List<string> Search(string text)
    {
        var search = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split([' ', '\t', '\r', '\f', '\v'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 1)
            {
                continue;
            }
            switch (fields[0])
            {
                case "domain":
                    search = fields.Length > 1 ? [fields[1]] : [];
                    break;
                case "search":
                    search = [.. fields[1..]];
                    break;
            }
        }
        return search;
    }

    /// <summary>Zones(search).Normalize(): lower case, fully qualified.</summary>
    public static List<string> Normalize(List<string> search)
    {
        var result = new List<string>(search.Count);
        foreach (var element in search)
        {
            var lower = element.ToLowerInvariant();
            result.Add(lower.EndsWith('.') ? lower : lower + ".");
        }
        return result;
    }

    /// <summary>The normalised search list of <paramref name="path"/>, or null when it cannot be read.</summary>
    public static List<string>? TryRead(string path)
    {
        try
        {
            return Normalize(Search(File.ReadAllText(path)));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
