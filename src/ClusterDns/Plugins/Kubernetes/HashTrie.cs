using System.Numerics;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>An item stored in a <see cref="HashTrie{T}"/>: carries its own 64-bit hash and key equality.</summary>
internal interface ITrieItem<in T>
{
    ulong Hash { get; }

    bool SameKey(T other);
}

/// <summary>
/// Persistent hash-array-mapped trie (32-way, 64-bit hashes). Set/Remove copy only the path to the changed slot
/// (≈ log32 n nodes), so a new index shares everything else with the old one; Find walks that path without
/// allocating. Slots hold a child node, one item, or an item array for full-hash collisions. Chosen over
/// ImmutableDictionary for cheaper lookups (no comparer, ~4 levels at 50k) and ~10 bytes per entry instead of ~60.
/// </summary>
internal sealed class HashTrie<T> where T : class, ITrieItem<T>
{
    private const int Bits = 5;
    private const int MaxShift = 64;

    public static HashTrie<T> Empty { get; } = new(new Node(0, []), 0);

    private readonly Node _root;

    private HashTrie(Node root, int count)
    {
        _root = root;
        Count = count;
    }

    public int Count { get; }

    /// <summary>The slot content for <paramref name="hash"/>: null, one <typeparamref name="T"/>, or a <c>T[]</c> of
    /// items sharing the full hash. Callers compare keys themselves, so no delegate is needed per lookup.</summary>
    public object? Find(ulong hash)
    {
        var node = _root;
        for (var shift = 0; ; shift += Bits)
        {
            var bit = 1u << (int)((hash >> shift) & 31);
            if ((node.Bitmap & bit) == 0)
            {
                return null;
            }
            var child = node.Slots[BitOperations.PopCount(node.Bitmap & (bit - 1))];
            if (child is Node inner)
            {
                node = inner;
                continue;
            }
            return child is T item ? (item.Hash == hash ? item : null) : (((T[])child).Length > 0 && ((T[])child)[0].Hash == hash ? child : null);
        }
    }

    /// <summary>Adds <paramref name="item"/>, replacing the item with the same key.</summary>
    public HashTrie<T> Set(T item)
    {
        var added = true;
        var root = Set(_root, item, 0, ref added);
        return new HashTrie<T>(root, added ? Count + 1 : Count);
    }

    /// <summary>Removes the item with <paramref name="key"/>'s key (this trie if absent).</summary>
    public HashTrie<T> Remove(T key)
    {
        var root = Remove(_root, key, 0, out var removed);
        return removed ? new HashTrie<T>(root ?? Empty._root, Count - 1) : this;
    }

    /// <summary>Every item, in hash order (transfers, diagnostics).</summary>
    public IEnumerable<T> Items()
    {
        var stack = new Stack<Node>();
        stack.Push(_root);
        while (stack.Count > 0)
        {
            foreach (var slot in stack.Pop().Slots)
            {
                switch (slot)
                {
                    case Node inner:
                        stack.Push(inner);
                        break;
                    case T item:
                        yield return item;
                        break;
                    default:
                        foreach (var item in (T[])slot)
                        {
                            yield return item;
                        }
                        break;
                }
            }
        }
    }

    private static ulong HashOf(object slot) => slot is T item ? item.Hash : ((T[])slot)[0].Hash;

    private static Node Set(Node node, T item, int shift, ref bool added)
    {
        var bit = 1u << (int)((item.Hash >> shift) & 31);
        var at = BitOperations.PopCount(node.Bitmap & (bit - 1));
        if ((node.Bitmap & bit) == 0)
        {
            return node.Insert(bit, at, item);
        }
        var slot = node.Slots[at];
        if (slot is Node inner)
        {
            return node.Replace(at, Set(inner, item, shift + Bits, ref added));
        }
        var existingHash = HashOf(slot);
        if (existingHash == item.Hash)
        {
            return node.Replace(at, Merge(slot, item, ref added));
        }
        // Two different hashes share this slot: push the existing one down a level.
        var pushed = new Node(1u << (int)((existingHash >> (shift + Bits)) & 31), [slot]);
        return node.Replace(at, shift + Bits >= MaxShift ? throw new InvalidOperationException("hash exhausted") : Set(pushed, item, shift + Bits, ref added));
    }

    private static object Merge(object slot, T item, ref bool added)
    {
        if (slot is T single)
        {
            if (single.SameKey(item))
            {
                added = false;
                return item;
            }
            return new[] { single, item };
        }
        var items = (T[])slot;
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].SameKey(item))
            {
                added = false;
                var copy = (T[])items.Clone();
                copy[i] = item;
                return copy;
            }
        }
        return (T[])[.. items, item];
    }

    private static Node? Remove(Node node, T key, int shift, out bool removed)
    {
        removed = false;
        var bit = 1u << (int)((key.Hash >> shift) & 31);
        if ((node.Bitmap & bit) == 0)
        {
            return node;
        }
        var at = BitOperations.PopCount(node.Bitmap & (bit - 1));
        var slot = node.Slots[at];
        object? replacement;
        if (slot is Node inner)
        {
            var child = Remove(inner, key, shift + Bits, out removed);
            if (!removed)
            {
                return node;
            }
            // Collapse a child left with a single item so paths stay short.
            replacement = child is null ? null : child.Slots.Length == 1 && child.Slots[0] is not Node ? child.Slots[0] : child;
        }
        else if (slot is T single)
        {
            if (!single.SameKey(key))
            {
                return node;
            }
            removed = true;
            replacement = null;
        }
        else
        {
            var items = (T[])slot;
            var index = -1;
            for (var i = 0; i < items.Length; i++)
            {
                if (items[i].SameKey(key))
                {
                    index = i;
                }
            }
            if (index < 0)
            {
                return node;
            }
            removed = true;
            replacement = items.Length == 2 ? items[1 - index] : (T[])[.. items.AsSpan(0, index), .. items.AsSpan(index + 1)];
        }
        if (replacement is not null)
        {
            return node.Replace(at, replacement);
        }
        return node.Slots.Length == 1 ? null : node.Delete(bit, at);
    }

    private sealed class Node(uint bitmap, object[] slots)
    {
        public readonly uint Bitmap = bitmap;
        public readonly object[] Slots = slots;

        public Node Insert(uint bit, int at, object value)
        {
            var slots = new object[Slots.Length + 1];
            Array.Copy(Slots, slots, at);
            slots[at] = value;
            Array.Copy(Slots, at, slots, at + 1, Slots.Length - at);
            return new Node(Bitmap | bit, slots);
        }

        public Node Replace(int at, object value)
        {
            var slots = (object[])Slots.Clone();
            slots[at] = value;
            return new Node(Bitmap, slots);
        }

        public Node Delete(uint bit, int at)
        {
            var slots = new object[Slots.Length - 1];
            Array.Copy(Slots, slots, at);
            Array.Copy(Slots, at + 1, slots, at, Slots.Length - at - 1);
            return new Node(Bitmap & ~bit, slots);
        }
    }
}
