using System.Collections;
using System.Numerics;

namespace ClusterDns.Kubernetes;

/// <summary>How a <see cref="CompactTrie{T, TKey}"/> hashes and compares the items it stores (no per-entry key object).</summary>
internal interface ITrieKey<in T>
{
    static abstract ulong HashOf(T item);

    static abstract bool SameKey(T a, T b);
}

/// <summary>
/// Persistent hash-array-mapped trie (32-way over a 64-bit hash, path copying) that stores the items themselves in
/// its slots: a slot is a child node, one item, or an item array holding every item with the same full hash (also the
/// values of a multimap key). Unlike <c>ImmutableDictionary</c> (≈ 65 B per entry) it costs ≈ 10–15 B per entry.
/// The hash is recomputed from the item only when an item must move down a level.
/// </summary>
internal sealed class CompactTrie<T, TKey> where T : class where TKey : ITrieKey<T>
{
    private const int Bits = 5;

    public static CompactTrie<T, TKey> Empty { get; } = new(new Node(0, []), 0);

    private readonly Node _root;

    private CompactTrie(Node root, int count)
    {
        _root = root;
        Count = count;
    }

    /// <summary>Number of items (for a multimap: of values).</summary>
    public int Count { get; }

    /// <summary>The slot content for <paramref name="hash"/>: null, one <typeparamref name="T"/>, or a <c>T[]</c>.
    /// It may hold items of other keys (a prefix or full-hash collision); the caller compares keys.</summary>
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
            return child;
        }
    }

    /// <summary>Adds <paramref name="item"/>. With <paramref name="multi"/> false an item with the same key is replaced,
    /// otherwise the item is appended after the existing values of its key.</summary>
    public CompactTrie<T, TKey> Set(T item, ulong hash, bool multi)
    {
        var added = true;
        var root = Set(_root, item, hash, 0, multi, ref added);
        return new CompactTrie<T, TKey>(root, added ? Count + 1 : Count);
    }

    /// <summary>Removes the item with <paramref name="item"/>'s key, or with <paramref name="byReference"/> exactly
    /// that instance (this trie if absent).</summary>
    public CompactTrie<T, TKey> Remove(T item, ulong hash, bool byReference)
    {
        var root = Remove(_root, item, hash, 0, byReference, out var removed);
        return removed ? new CompactTrie<T, TKey>(root ?? Empty._root, Count - 1) : this;
    }

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

    private static ulong HashOf(object slot) => TKey.HashOf(slot as T ?? ((T[])slot)[0]);

    private static Node Set(Node node, T item, ulong hash, int shift, bool multi, ref bool added)
    {
        var bit = 1u << (int)((hash >> shift) & 31);
        var at = BitOperations.PopCount(node.Bitmap & (bit - 1));
        if ((node.Bitmap & bit) == 0)
        {
            return node.Insert(bit, at, item);
        }
        var slot = node.Slots[at];
        if (slot is Node inner)
        {
            return node.Replace(at, Set(inner, item, hash, shift + Bits, multi, ref added));
        }
        var existingHash = HashOf(slot);
        if (existingHash == hash)
        {
            return node.Replace(at, Merge(slot, item, multi, ref added));
        }
        if (shift + Bits >= 64)
        {
            throw new InvalidOperationException("hash exhausted");
        }
        // Two different hashes share this slot: push the existing one down a level.
        var pushed = new Node(1u << (int)((existingHash >> (shift + Bits)) & 31), [slot]);
        return node.Replace(at, Set(pushed, item, hash, shift + Bits, multi, ref added));
    }

    private static object Merge(object slot, T item, bool multi, ref bool added)
    {
        if (slot is T single)
        {
            if (!multi && TKey.SameKey(single, item))
            {
                added = false;
                return item;
            }
            return new[] { single, item };
        }
        var items = (T[])slot;
        if (!multi)
        {
            for (var i = 0; i < items.Length; i++)
            {
                if (TKey.SameKey(items[i], item))
                {
                    added = false;
                    var copy = (T[])items.Clone();
                    copy[i] = item;
                    return copy;
                }
            }
        }
        return (T[])[.. items, item];
    }

    private static Node? Remove(Node node, T key, ulong hash, int shift, bool byReference, out bool removed)
    {
        removed = false;
        var bit = 1u << (int)((hash >> shift) & 31);
        if ((node.Bitmap & bit) == 0)
        {
            return node;
        }
        var at = BitOperations.PopCount(node.Bitmap & (bit - 1));
        var slot = node.Slots[at];
        object? replacement;
        if (slot is Node inner)
        {
            var child = Remove(inner, key, hash, shift + Bits, byReference, out removed);
            if (!removed)
            {
                return node;
            }
            // Collapse a child left with a single item so paths stay short.
            replacement = child is null ? null : child.Slots.Length == 1 && child.Slots[0] is not Node ? child.Slots[0] : child;
        }
        else if (slot is T single)
        {
            if (!Matches(single, key, byReference))
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
            for (var i = 0; i < items.Length && index < 0; i++)
            {
                if (Matches(items[i], key, byReference))
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

    private static bool Matches(T item, T key, bool byReference) => byReference ? ReferenceEquals(item, key) : TKey.SameKey(item, key);

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

/// <summary>64-bit string hashes for <see cref="CompactTrie{T, TKey}"/> (in-process only).</summary>
internal static class TrieHash
{
    public static ulong Of(string s) => Mix(Accumulate(0xcbf29ce484222325UL, s));

    public static ulong Of(string ns, string name) => Mix(Accumulate(Accumulate(0x84222325cbf29ce4UL, ns) * 31 + '/', name));

    private static ulong Accumulate(ulong h, string s)
    {
        foreach (var c in s)
        {
            h = (h ^ c) * 0x100000001b3UL;
        }
        return h;
    }

    /// <summary>The 64-bit finaliser of MurmurHash3: spreads every input bit over the trie's 6-bit levels.</summary>
    public static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        return h ^ (h >> 33);
    }
}

/// <summary>
/// The values a <see cref="ClusterState"/> index holds for one key, without a list object per key: nothing, one item,
/// or a shared array. Enumerating it allocates nothing.
/// </summary>
public readonly struct ItemList<T> : IReadOnlyList<T> where T : class
{
    private readonly object? _value;   // null, T, or T[]

    internal ItemList(object? value) => _value = value;

    public int Count => _value switch { null => 0, T => 1, _ => ((T[])_value).Length };

    public T this[int index] => _value is T single
        ? (index == 0 ? single : throw new ArgumentOutOfRangeException(nameof(index)))
        : _value is null ? throw new ArgumentOutOfRangeException(nameof(index)) : ((T[])_value)[index];

    public Enumerator GetEnumerator() => new(_value);

    IEnumerator<T> IEnumerable<T>.GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<T>)this).GetEnumerator();

    public struct Enumerator
    {
        private readonly object? _value;
        private int _index;

        internal Enumerator(object? value)
        {
            _value = value;
            _index = -1;
        }

        public readonly T Current => _value as T ?? ((T[])_value!)[_index];

        public bool MoveNext() => ++_index < (_value switch { null => 0, T => 1, _ => ((T[])_value).Length });
    }
}
