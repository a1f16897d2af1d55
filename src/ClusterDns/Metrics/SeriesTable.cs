namespace ClusterDns.Metrics;

/// <summary>
/// A small map from one or two label strings (server, zone, plugin name...) to a cached object holding prometheus
/// children. Reads are lock-free and allocation-free: a linear scan of a copy-on-write array, comparing by reference
/// first (label strings usually come from the same configuration objects) and then by value. Writers (first sight of
/// a key) take a lock and publish a new array. Meant for the handful of keys a configuration produces, not for
/// client-controlled values.
/// </summary>
public sealed class SeriesTable<T>
    where T : class
{
    private readonly Func<string, string, T> _factory;
    private readonly Lock _gate = new();
    private Entry[] _entries = [];

    /// <param name="factory">Builds the value for a new key; called under the table's lock, at most once per key.</param>
    public SeriesTable(Func<string, string, T> factory) => _factory = factory;

    public int Count => Volatile.Read(ref _entries).Length;

    public T Get(string key) => Get(key, string.Empty);

    public T Get(string first, string second)
    {
        var entries = Volatile.Read(ref _entries);
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            if (Same(entry.First, first) && Same(entry.Second, second))
            {
                return entry.Value;
            }
        }
        return Add(first, second);
    }

    private static bool Same(string a, string b) => ReferenceEquals(a, b) || string.Equals(a, b, StringComparison.Ordinal);

    private T Add(string first, string second)
    {
        lock (_gate)
        {
            var entries = _entries;
            foreach (var entry in entries)
            {
                if (Same(entry.First, first) && Same(entry.Second, second))
                {
                    return entry.Value;
                }
            }
            var value = _factory(first, second);
            var grown = new Entry[entries.Length + 1];
            entries.CopyTo(grown, 0);
            grown[^1] = new Entry(first, second, value);
            Volatile.Write(ref _entries, grown);
            return value;
        }
    }

    private sealed record Entry(string First, string Second, T Value);
}
