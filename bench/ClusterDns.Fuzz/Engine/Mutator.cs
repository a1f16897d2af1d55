using System.Buffers.Binary;
using System.Text;

namespace ClusterDns.Fuzz.Engine;

/// <summary>
/// Deterministic havoc-style mutations (one <see cref="Random"/> drives every choice): bit and byte flips, interesting
/// values, chunk insert/delete/duplicate, splicing with another seed, and — for DNS packets — header counts, flags,
/// opcodes, label lengths and compression pointers; for text, tokens, lines and deep nesting.
/// </summary>
public sealed class Mutator
{
    private static readonly byte[] InterestingBytes = [0, 1, 2, 0x0F, 0x10, 0x3F, 0x40, 0x41, 0x7F, 0x80, 0x81, 0xC0, 0xC1, 0xFE, 0xFF];
    private static readonly ushort[] InterestingWords =
        [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x100, 511, 512, 513, 1232, 4095, 4096, 0x3FFF, 0x4000, 0x7FFF, 0x8000, 0xC000, 0xC00C, 0xFFFE, 0xFFFF];
    private static readonly ushort[] InterestingTypes = [1, 2, 5, 6, 12, 13, 15, 16, 28, 33, 39, 41, 43, 46, 251, 252, 255, 0, 0xFFFF];
    /// <summary>Tokens spliced into text inputs; also the AFL dictionary of the text targets (<see cref="AflDriver.Dictionary"/>).</summary>
    public static readonly string[] TextTokens =
    [
        "{", "}", "{\n", "\n}\n", "\"", "\\", "\n", " ", "\t", "#", ":", ".", ".:", ".:0", "dns://", "tls://", "https://", "[", "]", "*",
        "import", "import *", "{$HOME}", "{$", "{%", "}}", "(snip)", "(", ")", ",", "-", "0", "-1", "65536", "99999999999999999999",
        "1.2.3.4", "::1", "10.0.0.0/8", "in-addr.arpa", "cluster.local", "\u00e9", "\0", "\r\n", "null", "true", "~", "'", "&a", "*a",
        "- ", ": ", "---\n", "...\n", "{}", "[]", "\"\"", "!!binary", "<<: ", "kind", "\"kind\":", "\"items\":", "Service", "EndpointSlice",
        "Pod", "Namespace", "List", "ServiceList", "metadata", "spec", "ports", "port", "clusterIP", "clusterIPs", "None", "ExternalName",
        "addresses", "endpoints", "hostname", "ipFamilies", "IPv6", "podIP", "podIPs", "status", "phase", "1e400", "0x10", "NaN",
    ];

    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _seeds;

    public Mutator(Random random, IReadOnlyList<byte[]> seeds, int maxLength)
    {
        _random = random;
        _seeds = seeds;
        MaxLength = maxLength;
    }

    public int MaxLength { get; }

    /// <summary>Writes a mutant of <paramref name="input"/> into <paramref name="output"/> (at least <see cref="MaxLength"/>
    /// octets) and returns its length.</summary>
    public int Mutate(ReadOnlySpan<byte> input, byte[] output, bool dnsAware, bool text)
    {
        var length = Math.Min(input.Length, MaxLength);
        input[..length].CopyTo(output);
        var rounds = 1 << _random.Next(4); // 1, 2, 4 or 8 stacked mutations
        for (var i = 0; i < rounds; i++)
        {
            var choice = _random.Next(dnsAware ? 20 : text ? 18 : 13);
            length = choice switch
            {
                < 13 => Generic(choice, output, length),
                < 20 when dnsAware => Dns(choice - 13, output, length),
                _ => Text(choice - 13, output, length),
            };
        }
        return length;
    }

    private int Generic(int choice, byte[] buffer, int length)
    {
        switch (choice)
        {
            case 0 when length > 0:
                buffer[_random.Next(length)] ^= (byte)(1 << _random.Next(8));
                return length;
            case 1 when length > 0:
                buffer[_random.Next(length)] = (byte)_random.Next(256);
                return length;
            case 2 when length > 0:
                buffer[_random.Next(length)] = InterestingBytes[_random.Next(InterestingBytes.Length)];
                return length;
            case 3 when length > 1:
            {
                var at = _random.Next(length - 1);
                var value = _random.Next(3) switch
                {
                    0 => InterestingWords[_random.Next(InterestingWords.Length)],
                    1 => (ushort)(BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(at)) + _random.Next(-2, 3)), // lengths ±1, ±2
                    _ => (ushort)(length + _random.Next(-2, 3)),
                };
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(at), value);
                return length;
            }
            case 4 when length > 0:
            {
                var at = _random.Next(length);
                buffer[at] = (byte)(buffer[at] + _random.Next(-3, 4));
                return length;
            }
            case 5:
            {
                var count = SmallCount();
                Span<byte> random = stackalloc byte[count];
                _random.NextBytes(random);
                return Insert(buffer, length, _random.Next(length + 1), random);
            }
            case 6 when length > 0:
            {
                var at = _random.Next(length);
                var count = Math.Min(SmallCount(), length - at);
                buffer.AsSpan(at + count, length - at - count).CopyTo(buffer.AsSpan(at));
                return length - count;
            }
            case 7 when length > 0:
            {
                var from = _random.Next(length);
                var count = Math.Min(SmallCount(), length - from);
                var chunk = buffer.AsSpan(from, count).ToArray();
                return Insert(buffer, length, _random.Next(length + 1), chunk);
            }
            case 8 when length > 0:
            {
                // Overwrite a chunk with a copy of another part of the same input.
                var from = _random.Next(length);
                var to = _random.Next(length);
                var count = Math.Min(SmallCount(), Math.Min(length - from, length - to));
                buffer.AsSpan(from, count).ToArray().CopyTo(buffer.AsSpan(to));
                return length;
            }
            case 9 when _seeds.Count > 0:
            {
                // Splice: our prefix, another seed's suffix.
                var other = _seeds[_random.Next(_seeds.Count)];
                var cut = _random.Next(length + 1);
                var otherCut = _random.Next(other.Length + 1);
                var count = Math.Min(other.Length - otherCut, MaxLength - cut);
                other.AsSpan(otherCut, count).CopyTo(buffer.AsSpan(cut));
                return cut + count;
            }
            case 10 when length > 0:
                return _random.Next(length); // truncate
            case 11 when _seeds.Count > 0:
            {
                // Insert a chunk of another seed.
                var other = _seeds[_random.Next(_seeds.Count)];
                if (other.Length == 0)
                {
                    return length;
                }
                var from = _random.Next(other.Length);
                var count = Math.Min(SmallCount() * 4, other.Length - from);
                return Insert(buffer, length, _random.Next(length + 1), other.AsSpan(from, count));
            }
            case 12 when length > 0:
            {
                // Repeat one octet many times (runs of 0x00, 0xC0, 0x3F...).
                var at = _random.Next(length);
                var run = new byte[_random.Next(1, 300)];
                Array.Fill(run, _random.Next(2) == 0 ? buffer[at] : InterestingBytes[_random.Next(InterestingBytes.Length)]);
                return Insert(buffer, length, at, run);
            }
            default:
                return length;
        }
    }

    private int Dns(int choice, byte[] buffer, int length)
    {
        if (length < 12)
        {
            return Generic(5, buffer, length);
        }
        switch (choice)
        {
            case 0:
            {
                // A header count: 0..3, one more or less, or huge.
                var at = 4 + 2 * _random.Next(4);
                var current = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(at));
                var value = _random.Next(4) switch
                {
                    0 => (ushort)_random.Next(4),
                    1 => (ushort)(current + 1),
                    2 => (ushort)(current - 1),
                    _ => InterestingWords[_random.Next(InterestingWords.Length)],
                };
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(at), value);
                return length;
            }
            case 1:
            {
                // Flags: QR, opcode, AA/TC/RD/RA/Z/AD/CD, rcode.
                var flags = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2));
                flags = _random.Next(4) switch
                {
                    0 => (ushort)(flags ^ 0x8000),
                    1 => (ushort)((flags & ~0x7800) | (_random.Next(16) << 11)),
                    2 => (ushort)(flags ^ (1 << _random.Next(11))),
                    _ => (ushort)_random.Next(65536),
                };
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), flags);
                return length;
            }
            case 2:
            {
                // A label length octet of the question name (or a random later name position).
                var at = LabelPosition(buffer, length);
                buffer[at] = _random.Next(5) switch
                {
                    0 => (byte)_random.Next(64),
                    1 => (byte)(buffer[at] + 1),
                    2 => (byte)(buffer[at] - 1),
                    3 => 63,
                    _ => InterestingBytes[_random.Next(InterestingBytes.Length)],
                };
                return length;
            }
            case 3:
            {
                // A compression pointer at a label position: backwards, forwards, to itself, into the header.
                var at = LabelPosition(buffer, length);
                var target = _random.Next(4) switch
                {
                    0 => 12,
                    1 => at,
                    2 => _random.Next(12),
                    _ => _random.Next(length + 4),
                };
                if (at + 2 > length)
                {
                    length = at + 2;
                }
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(at), (ushort)(0xC000 | (target & 0x3FFF)));
                return _random.Next(2) == 0 ? length : at + 2 + (length - at - 2) / 2;
            }
            case 4:
            {
                // Append a record: OPT with random options, or a random type with random RDATA; bump ARCOUNT.
                Span<byte> record = stackalloc byte[64];
                var type = _random.Next(2) == 0 ? (ushort)41 : InterestingTypes[_random.Next(InterestingTypes.Length)];
                record[0] = _random.Next(4) == 0 ? (byte)0xC0 : (byte)0;
                var n = record[0] == 0xC0 ? 2 : 1;
                if (n == 2)
                {
                    record[1] = 12;
                }
                BinaryPrimitives.WriteUInt16BigEndian(record[n..], type);
                BinaryPrimitives.WriteUInt16BigEndian(record[(n + 2)..], InterestingWords[_random.Next(InterestingWords.Length)]);
                BinaryPrimitives.WriteUInt32BigEndian(record[(n + 4)..], _random.Next(2) == 0 ? 0x8000u : (uint)_random.Next());
                var dataLength = _random.Next(0, 64 - n - 10);
                _random.NextBytes(record.Slice(n + 10, dataLength));
                if (type == 41 && dataLength >= 4)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(record[(n + 10)..], (ushort)_random.Next(16));
                    BinaryPrimitives.WriteUInt16BigEndian(record[(n + 12)..], (ushort)_random.Next(dataLength - 3));
                }
                BinaryPrimitives.WriteUInt16BigEndian(record[(n + 8)..], (ushort)(dataLength + _random.Next(-1, 2) * (_random.Next(8) == 0 ? 1 : 0)));
                var added = Insert(buffer, length, length, record[..(n + 10 + dataLength)]);
                var arcount = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(10));
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(10), (ushort)(arcount + 1));
                return added;
            }
            case 5:
            {
                // Question type and class: interesting types, CH/HS/NONE/ANY classes.
                var end = QuestionNameEnd(buffer, length);
                if (end < 0 || end + 4 > length)
                {
                    return length;
                }
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(end), InterestingTypes[_random.Next(InterestingTypes.Length)]);
                ushort[] classes = [1, 3, 4, 254, 255, 0, 0xFFFF];
                if (_random.Next(3) == 0)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(end + 2), classes[_random.Next(classes.Length)]);
                }
                return length;
            }
            default:
            {
                // Insert a label (possibly 63 long) into the question name.
                var at = LabelPosition(buffer, length);
                var size = _random.Next(3) == 0 ? 63 : _random.Next(1, 10);
                var label = new byte[size + 1];
                label[0] = (byte)size;
                for (var i = 1; i < label.Length; i++)
                {
                    label[i] = (byte)('a' + _random.Next(26));
                }
                return Insert(buffer, length, at, label);
            }
        }
    }

    private int Text(int choice, byte[] buffer, int length)
    {
        switch (choice)
        {
            case 0:
            case 1:
            {
                var token = Encoding.UTF8.GetBytes(TextTokens[_random.Next(TextTokens.Length)]);
                return Insert(buffer, length, TokenBoundary(buffer, length), token);
            }
            case 2 when length > 0:
            {
                // Duplicate a whole line.
                var (start, end) = Line(buffer, length);
                return Insert(buffer, length, start, buffer.AsSpan(start, end - start).ToArray());
            }
            case 3 when length > 0:
            {
                // Delete a whole line.
                var (start, end) = Line(buffer, length);
                buffer.AsSpan(end, length - end).CopyTo(buffer.AsSpan(start));
                return length - (end - start);
            }
            case 4:
            {
                // Deep nesting: many openers (braces, brackets, YAML indentation).
                string[] openers = ["{", "[", "{\n", "- ", "[{\"a\":", "a: {", " "];
                var opener = Encoding.UTF8.GetBytes(openers[_random.Next(openers.Length)]);
                var count = _random.Next(4) == 0 ? _random.Next(100, 3000) : _random.Next(1, 100);
                var run = new byte[Math.Min(opener.Length * count, Math.Max(0, MaxLength - length))];
                for (var i = 0; i < run.Length; i++)
                {
                    run[i] = opener[i % opener.Length];
                }
                return Insert(buffer, length, TokenBoundary(buffer, length), run);
            }
            default:
                return Generic(_random.Next(13), buffer, length);
        }
    }

    private int SmallCount() => _random.Next(4) == 0 ? _random.Next(1, 64) : _random.Next(1, 5);

    private int Insert(byte[] buffer, int length, int at, ReadOnlySpan<byte> data)
    {
        var count = Math.Min(data.Length, MaxLength - length);
        if (count <= 0)
        {
            return length;
        }
        buffer.AsSpan(at, length - at).CopyTo(buffer.AsSpan(at + count));
        data[..count].CopyTo(buffer.AsSpan(at));
        return length + count;
    }

    /// <summary>A label start of the question name, or a random position past the header.</summary>
    private int LabelPosition(byte[] buffer, int length)
    {
        Span<int> starts = stackalloc int[128];
        var count = 0;
        var position = 12;
        while (position < length && count < starts.Length)
        {
            starts[count++] = position;
            var octet = buffer[position];
            if (octet == 0 || octet >= 0x40)
            {
                break;
            }
            position += octet + 1;
        }
        return count > 0 && _random.Next(4) != 0 ? starts[_random.Next(count)] : length > 12 ? 12 + _random.Next(length - 12) : 12;
    }

    private static int QuestionNameEnd(byte[] buffer, int length)
    {
        var position = 12;
        while (position < length)
        {
            var octet = buffer[position];
            if (octet == 0)
            {
                return position + 1;
            }
            if (octet >= 0xC0)
            {
                return position + 2;
            }
            if (octet >= 0x40)
            {
                return -1;
            }
            position += octet + 1;
        }
        return -1;
    }

    private int TokenBoundary(byte[] buffer, int length)
    {
        var at = _random.Next(length + 1);
        while (at < length && buffer[at] is not ((byte)' ' or (byte)'\n' or (byte)'\t') && _random.Next(8) != 0)
        {
            at++;
        }
        return at;
    }

    private (int Start, int End) Line(byte[] buffer, int length)
    {
        var at = _random.Next(length);
        var start = at;
        while (start > 0 && buffer[start - 1] != '\n')
        {
            start--;
        }
        var end = at;
        while (end < length && buffer[end] != '\n')
        {
            end++;
        }
        return (start, Math.Min(length, end + 1));
    }
}
