using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Hosts;

/// <summary>What one hosts text says, in file order: name → addresses per family, address → names (CoreDNS's Map).</summary>
internal sealed class HostsMap
{
    public Dictionary<string, List<IPAddress>> Name4 { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, List<IPAddress>> Name6 { get; } = new(StringComparer.Ordinal);

    /// <summary>Keyed by the reverse name of the address (<c>4.3.2.1.in-addr.arpa.</c>), so PTR lookups need no parsing.</summary>
    public Dictionary<string, List<string>> Addr { get; } = new(StringComparer.Ordinal);

    /// <summary>CoreDNS's Map.Len: every address of every name plus every reverse name.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var list in Name4.Values)
            {
                count += list.Count;
            }
            foreach (var list in Name6.Values)
            {
                count += list.Count;
            }
            foreach (var list in Addr.Values)
            {
                count += list.Count;
            }
            return count;
        }
    }

    /// <summary>Parses hosts(5) text: <c>IP name [aliases...]</c>, '#' comments; names outside <paramref name="origins"/> are skipped.</summary>
    public static HostsMap Parse(string text, ZoneSet origins, bool autoReverse)
    {
        var map = new HostsMap();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.AsSpan();
            var comment = line.IndexOf('#');
            if (comment >= 0)
            {
                line = line[..comment];
            }
            var fields = line.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !GoNet.TryParseIp(fields[0], out var address))
            {
                continue;
            }
            var v4 = address.AddressFamily == AddressFamily.InterNetwork;
            for (var i = 1; i < fields.Length; i++)
            {
                var name = (fields[i].EndsWith('.') ? fields[i] : fields[i] + ".").ToLowerInvariant();
                if (!DnsName.TryParse(name, out var dnsName) || !origins.Covers(dnsName.Wire))
                {
                    continue;
                }
                Add(v4 ? map.Name4 : map.Name6, name, address);
                if (autoReverse)
                {
                    Add(map.Addr, ReverseName(address), name);
                }
            }
        }
        return map;
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string key, T value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }
        list.Add(value);
    }

    /// <summary><c>d.c.b.a.in-addr.arpa.</c> or the 32-nibble <c>ip6.arpa.</c> name.</summary>
    public static string ReverseName(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        var builder = new StringBuilder(80);
        if (bytes.Length == 4)
        {
            for (var i = 3; i >= 0; i--)
            {
                builder.Append(bytes[i].ToString(CultureInfo.InvariantCulture)).Append('.');
            }
            return builder.Append("in-addr.arpa.").ToString();
        }
        for (var i = 15; i >= 0; i--)
        {
            builder.Append("0123456789abcdef"[bytes[i] & 0xF]).Append('.').Append("0123456789abcdef"[bytes[i] >> 4]).Append('.');
        }
        return builder.Append("ip6.arpa.").ToString();
    }
}

/// <summary>Precomputed answers for one owner name: each record is ready-to-copy wire bytes owned by the question (pointer 0xC00C).</summary>
internal sealed record HostsAnswers(byte[][] A, byte[][] Aaaa);

/// <summary>
/// An immutable view of file + inline entries with every answer precomputed, swapped whole on reload, so a hit
/// is two dictionary probes by wire bytes and a copy. File entries come first, inline ones after (CoreDNS appends).
/// </summary>
internal sealed class HostsSnapshot
{
    private readonly Dictionary<byte[], HostsAnswers> _names;
    private readonly Dictionary<byte[], byte[][]> _reverse;
    private readonly Dictionary<byte[], HostsAnswers>.AlternateLookup<ReadOnlySpan<byte>> _namesLookup;
    private readonly Dictionary<byte[], byte[][]>.AlternateLookup<ReadOnlySpan<byte>> _reverseLookup;

    private HostsSnapshot(Dictionary<byte[], HostsAnswers> names, Dictionary<byte[], byte[][]> reverse, int count)
    {
        _names = names;
        _reverse = reverse;
        _namesLookup = names.GetAlternateLookup<ReadOnlySpan<byte>>();
        _reverseLookup = reverse.GetAlternateLookup<ReadOnlySpan<byte>>();
        Count = count;
    }

    public static HostsSnapshot Empty { get; } = Build(new HostsMap(), new HostsMap(), 3600);

    /// <summary>Entries as CoreDNS's coredns_hosts_entries counts them (file + inline).</summary>
    public int Count { get; }

    public bool TryGetName(ReadOnlySpan<byte> lowerName, out HostsAnswers answers) => _namesLookup.TryGetValue(lowerName, out answers!);

    public bool TryGetReverse(ReadOnlySpan<byte> lowerName, out byte[][] records) => _reverseLookup.TryGetValue(lowerName, out records!);

    public static HostsSnapshot Build(HostsMap file, HostsMap inline, uint ttl)
    {
        var names = new Dictionary<byte[], HostsAnswers>(WireComparer.Instance);
        var all = new HashSet<string>(file.Name4.Keys, StringComparer.Ordinal);
        all.UnionWith(file.Name6.Keys);
        all.UnionWith(inline.Name4.Keys);
        all.UnionWith(inline.Name6.Keys);
        foreach (var name in all)
        {
            var a = Records(Concat(file.Name4, inline.Name4, name), ttl, static ip => ip.GetAddressBytes(), DnsType.A);
            var aaaa = Records(Concat(file.Name6, inline.Name6, name), ttl, static ip => ip.GetAddressBytes(), DnsType.AAAA);
            names[Wire(name)] = new HostsAnswers(a, aaaa);
        }
        var reverse = new Dictionary<byte[], byte[][]>(WireComparer.Instance);
        var addresses = new HashSet<string>(file.Addr.Keys, StringComparer.Ordinal);
        addresses.UnionWith(inline.Addr.Keys);
        foreach (var address in addresses)
        {
            reverse[Wire(address)] = Records(Concat(file.Addr, inline.Addr, address), ttl, static target => Wire(target), DnsType.PTR);
        }
        return new HostsSnapshot(names, reverse, file.Count + inline.Count);
    }

    private static List<T> Concat<T>(Dictionary<string, List<T>> first, Dictionary<string, List<T>> second, string key)
    {
        var result = new List<T>();
        if (first.TryGetValue(key, out var a))
        {
            result.AddRange(a);
        }
        if (second.TryGetValue(key, out var b))
        {
            result.AddRange(b);
        }
        return result;
    }

    private static byte[][] Records<T>(List<T> values, uint ttl, Func<T, byte[]> rdata, DnsType type)
    {
        var records = new byte[values.Count][];
        for (var i = 0; i < values.Count; i++)
        {
            var data = rdata(values[i]);
            var record = new byte[12 + data.Length];
            record[0] = 0xC0; // owner: pointer to the question name at offset 12
            record[1] = 0x0C;
            BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(2), (ushort)type);
            BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(4), (ushort)DnsClass.IN);
            BinaryPrimitives.WriteUInt32BigEndian(record.AsSpan(6), ttl);
            BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(10), (ushort)data.Length);
            data.CopyTo(record, 12);
            records[i] = record;
        }
        return records;
    }

    private static byte[] Wire(string name) => DnsName.Parse(name).ToLowerInvariant().Wire.ToArray();

    /// <summary>Byte-wise key comparer that also accepts spans, so lookups do not allocate a key.</summary>
    private sealed class WireComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static WireComparer Instance { get; } = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
