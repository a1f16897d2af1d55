namespace ClusterDns.Corefile;

/// <summary>The plugin execution order from plugin.cfg (one directive per line, '#' comments).</summary>
public sealed class PluginOrder
{
    private static readonly Lazy<PluginOrder> LazyDefault = new(LoadDefault);
    private readonly Dictionary<string, int> _index;

    private PluginOrder(string[] names)
    {
        Names = names;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            _index.TryAdd(names[i], i);
        }
    }

    /// <summary>The order embedded in the ClusterDns assembly as resource "plugin.cfg".</summary>
    public static PluginOrder Default => LazyDefault.Value;

    public IReadOnlyList<string> Names { get; }

    public static PluginOrder Parse(string text)
    {
        var names = new List<string>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine;
            var hash = line.IndexOf('#');
            if (hash >= 0)
            {
                line = line[..hash];
            }
            line = line.Trim();
            if (line.Length > 0)
            {
                names.Add(line);
            }
        }
        return new PluginOrder(names.ToArray());
    }

    public int IndexOf(string name) => _index.TryGetValue(name, out var i) ? i : -1;

    public bool Contains(string name) => _index.ContainsKey(name);

    private static PluginOrder LoadDefault()
    {
        using var stream = typeof(PluginOrder).Assembly.GetManifestResourceStream("plugin.cfg")
            ?? throw new InvalidOperationException("embedded resource plugin.cfg is missing");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}
