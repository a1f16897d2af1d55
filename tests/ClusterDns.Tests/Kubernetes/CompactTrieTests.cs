using ClusterDns.Kubernetes;

namespace ClusterDns.Tests.Kubernetes;

public sealed class CompactTrieTests
{
    private sealed class Item(string key, int value)
    {
        public string Key { get; } = key;
        public int Value { get; } = value;
    }

    // A deliberately poor hash: 6 bits, so full-hash collisions (item arrays) and deep paths are common.
    private readonly struct WeakKey : ITrieKey<Item>
    {
        public static ulong HashOf(Item item) => Hash(item.Key);

        public static bool SameKey(Item a, Item b) => a.Key == b.Key;

        public static ulong Hash(string key) => (ulong)(key.Length * 7 + key[^1]) % 64 * 0x0101_0101_0101_0101UL;
    }

    private static Item? Get(CompactTrie<Item, WeakKey> trie, string key) => trie.Find(WeakKey.Hash(key)) switch
    {
        Item one => one.Key == key ? one : null,
        Item[] many => many.FirstOrDefault(i => i.Key == key),
        _ => null,
    };

    [Fact]
    public void Random_set_and_remove_match_a_dictionary_and_old_versions_stay_intact()
    {
        var random = new Random(7);
        var trie = CompactTrie<Item, WeakKey>.Empty;
        var model = new Dictionary<string, int>();
        var versions = new List<(CompactTrie<Item, WeakKey>, Dictionary<string, int>)>();
        for (var step = 0; step < 5000; step++)
        {
            var key = "k" + random.Next(300);
            if (random.Next(3) == 0)
            {
                trie = trie.Remove(new Item(key, 0), WeakKey.Hash(key), byReference: false);
                model.Remove(key);
            }
            else
            {
                trie = trie.Set(new Item(key, step), WeakKey.Hash(key), multi: false);
                model[key] = step;
            }
            Assert.Equal(model.Count, trie.Count);
            if (step % 500 == 0)
            {
                versions.Add((trie, new Dictionary<string, int>(model)));
            }
        }

        versions.Add((trie, model));
        foreach (var (t, m) in versions)
        {
            Assert.Equal(m.Count, t.Items().Count());
            for (var k = 0; k < 300; k++)
            {
                var key = "k" + k;
                Assert.Equal(m.TryGetValue(key, out var v) ? v : null, Get(t, key)?.Value);
            }
        }
    }

    [Fact]
    public void Multimap_keeps_insertion_order_and_removes_by_reference()
    {
        var a = new Item("x", 1);
        var b = new Item("x", 2);
        var c = new Item("x", 3);
        var h = WeakKey.Hash("x");
        var trie = CompactTrie<Item, WeakKey>.Empty.Set(a, h, true).Set(b, h, true).Set(c, h, true);
        Assert.Equal([1, 2, 3], ((Item[])trie.Find(h)!).Select(i => i.Value));
        trie = trie.Remove(b, h, byReference: true);
        Assert.Equal([1, 3], ((Item[])trie.Find(h)!).Select(i => i.Value));
        trie = trie.Remove(a, h, byReference: true);
        Assert.Same(c, trie.Find(h));
        Assert.Same(trie, trie.Remove(a, h, byReference: true));
        Assert.Equal(0, trie.Remove(c, h, byReference: true).Count);
    }
}
