using ClusterDns.Kubernetes;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>An item stored in a <see cref="HashTrie{T}"/>: carries its own 64-bit hash and key equality.</summary>
internal interface ITrieItem<in T>
{
    ulong Hash { get; }

    bool SameKey(T other);
}

/// <summary>How a lookup recognises its item among the items sharing a hash: the key it carries, compared against the
/// item's. Implemented by (ref) structs so <see cref="HashTrie{T}.Find"/> is specialised per key kind.</summary>
internal interface ITrieMatch<in T>
{
    bool Matches(T item);
}

/// <summary>
/// The index's persistent map: <see cref="CompactTrie{T, TKey}"/> (path-copying 32-way hash trie, items stored in
/// the slots) keyed by the items' own hash and key. Set/Remove copy only the path to the changed slot, so a new index
/// shares everything else with the old one; Find walks that path without allocating.
/// </summary>
internal sealed class HashTrie<T> where T : class, ITrieItem<T>
{
    private readonly CompactTrie<T, ItemKey> _trie;

    private HashTrie(CompactTrie<T, ItemKey> trie) => _trie = trie;

    public static HashTrie<T> Empty { get; } = new(CompactTrie<T, ItemKey>.Empty);

    public int Count => _trie.Count;

    /// <summary>The item under <paramref name="hash"/> that <paramref name="match"/> accepts, or null. The slot may hold
    /// items of other keys (one item or a <c>T[]</c>); the matcher is a struct, so each lookup is specialised and
    /// allocates nothing (no delegate, no boxing).</summary>
    public T? Find<TMatch>(ulong hash, TMatch match) where TMatch : ITrieMatch<T>, allows ref struct
    {
        var slot = _trie.Find(hash);
        if (slot is T item)
        {
            return match.Matches(item) ? item : null;
        }
        if (slot is T[] items)
        {
            foreach (var e in items)
            {
                if (match.Matches(e))
                {
                    return e;
                }
            }
        }
        return null;
    }

    /// <summary>Adds <paramref name="item"/>, replacing the item with the same key.</summary>
    public HashTrie<T> Set(T item) => new(_trie.Set(item, item.Hash, multi: false));

    /// <summary>Removes the item with <paramref name="key"/>'s key (this trie if absent).</summary>
    public HashTrie<T> Remove(T key)
    {
        var trie = _trie.Remove(key, key.Hash, byReference: false);
        return ReferenceEquals(trie, _trie) ? this : new HashTrie<T>(trie);
    }

    /// <summary>Every item, in hash order (transfers, diagnostics).</summary>
    public IEnumerable<T> Items() => _trie.Items();

    internal readonly struct ItemKey : ITrieKey<T>
    {
        public static ulong HashOf(T item) => item.Hash;

        public static bool SameKey(T a, T b) => a.SameKey(b);
    }
}
