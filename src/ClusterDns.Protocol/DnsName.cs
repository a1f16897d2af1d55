using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace ClusterDns.Protocol;

/// <summary>
/// A domain name, held in uncompressed wire form (length-prefixed labels ending in the root label).
/// Case is preserved as written; equality, hashing and ordering ignore ASCII case (RFC 4343).
/// Immutable; cheap to compare, copy into a packet or slice into parents.
/// </summary>
public sealed class DnsName : IEquatable<DnsName>
{
    public const int MaxWireLength = 255;
    public const int MaxLabelLength = 63;

    private readonly byte[] _wire;
    private string? _text;

    public static readonly DnsName Root = new([0]);

    private DnsName(byte[] wire) => _wire = wire;

    /// <summary>The uncompressed wire form, ending with the root label.</summary>
    public ReadOnlySpan<byte> Wire => _wire;

    /// <summary>Octets on the wire (1 for the root).</summary>
    public int WireLength => _wire.Length;

    public bool IsRoot => _wire.Length == 1;

    /// <summary>Number of labels, not counting the root.</summary>
    public int LabelCount
    {
        get
        {
            var count = 0;
            for (var i = 0; _wire[i] != 0; i += _wire[i] + 1)
            {
                count++;
            }
            return count;
        }
    }

    /// <summary>Wraps wire bytes already known to be a valid uncompressed name.</summary>
    public static DnsName FromValidatedWire(ReadOnlySpan<byte> wire) => new(wire.ToArray());

    /// <summary>Checks and copies an uncompressed wire-form name.</summary>
    public static bool TryFromWire(ReadOnlySpan<byte> wire, [NotNullWhen(true)] out DnsName? name)
    {
        name = null;
        if (wire.Length == 0 || wire.Length > MaxWireLength)
        {
            return false;
        }
        var i = 0;
        while (true)
        {
            var length = wire[i];
            if (length == 0)
            {
                if (i != wire.Length - 1)
                {
                    return false;
                }
                name = new DnsName(wire.ToArray());
                return true;
            }
            if (length > MaxLabelLength || i + 1 + length >= wire.Length)
            {
                return false;
            }
            i += length + 1;
        }
    }

    /// <summary>Parses presentation form (<c>www.example.org.</c>, with <c>\.</c> and <c>\DDD</c> escapes).
    /// A name without a trailing dot is taken as fully qualified (relative names are the zone parser's job).</summary>
    public static DnsName Parse(string text) =>
        TryParse(text, out var name) ? name : throw new FormatException($"not a valid domain name: \"{text}\"");

    public static bool TryParse(ReadOnlySpan<char> text, [NotNullWhen(true)] out DnsName? name)
    {
        name = null;
        if (text.Length == 0)
        {
            return false;
        }
        if (text is ".")
        {
            name = Root;
            return true;
        }
        Span<byte> buffer = stackalloc byte[MaxWireLength + 1];
        var labelStart = 0;
        var position = 1;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                var labelLength = position - labelStart - 1;
                if (labelLength == 0 || labelLength > MaxLabelLength)
                {
                    return false;
                }
                buffer[labelStart] = (byte)labelLength;
                labelStart = position;
                position++;
                i++;
                if (position > MaxWireLength)
                {
                    return false;
                }
                continue;
            }
            byte value;
            if (c == '\\')
            {
                if (i + 1 >= text.Length)
                {
                    return false;
                }
                if (char.IsAsciiDigit(text[i + 1]))
                {
                    if (i + 3 >= text.Length || !char.IsAsciiDigit(text[i + 2]) || !char.IsAsciiDigit(text[i + 3]))
                    {
                        return false;
                    }
                    var number = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
                    if (number > 255)
                    {
                        return false;
                    }
                    value = (byte)number;
                    i += 4;
                }
                else
                {
                    if (text[i + 1] > 0x7F)
                    {
                        return false;
                    }
                    value = (byte)text[i + 1];
                    i += 2;
                }
            }
            else
            {
                if (c > 0x7F || c <= ' ')
                {
                    return false;
                }
                value = (byte)c;
                i++;
            }
            if (position >= MaxWireLength)
            {
                return false;
            }
            buffer[position++] = value;
        }
        // Close the last label when the text had no trailing dot.
        var last = position - labelStart - 1;
        if (last > 0)
        {
            if (last > MaxLabelLength)
            {
                return false;
            }
            buffer[labelStart] = (byte)last;
            labelStart = position;
            position++;
        }
        if (position > MaxWireLength)
        {
            return false;
        }
        buffer[labelStart] = 0;
        name = new DnsName(buffer[..position].ToArray());
        return true;
    }

    /// <summary>This name with ASCII letters lowered (the same instance when already lower).</summary>
    public DnsName ToLowerInvariant()
    {
        foreach (var b in _wire)
        {
            if (char.IsAsciiLetterUpper((char)b))
            {
                var copy = (byte[])_wire.Clone();
                DnsNameSpan.ToLower(copy);
                return new DnsName(copy);
            }
        }
        return this;
    }

    /// <summary>The name with its first <paramref name="labels"/> labels removed.</summary>
    public DnsName Parent(int labels = 1)
    {
        var offset = 0;
        for (var i = 0; i < labels && _wire[offset] != 0; i++)
        {
            offset += _wire[offset] + 1;
        }
        return offset == 0 ? this : offset == _wire.Length - 1 ? Root : new DnsName(_wire[offset..]);
    }

    /// <summary>The text of label <paramref name="index"/> (0 = leftmost), unescaped.</summary>
    public string GetLabel(int index)
    {
        var offset = 0;
        for (var i = 0; i < index; i++)
        {
            offset += _wire[offset] + 1;
        }
        return Encoding.Latin1.GetString(_wire, offset + 1, _wire[offset]);
    }

    /// <summary>True when this name equals <paramref name="zone"/> or lies below it.</summary>
    public bool IsSubdomainOf(DnsName zone) => DnsNameSpan.IsSubdomainOf(_wire, zone._wire);

    /// <summary><paramref name="prefix"/> labels (presentation form, no trailing dot) prepended to this name.</summary>
    public DnsName Prepend(string prefix)
    {
        if (prefix.Length == 0)
        {
            return this;
        }
        var head = Parse(prefix + ".");
        return Concat(head, this);
    }

    /// <summary>All labels of <paramref name="head"/> followed by <paramref name="tail"/>.</summary>
    /// <exception cref="ArgumentException">The result would exceed 255 octets.</exception>
    public static DnsName Concat(DnsName head, DnsName tail) =>
        TryConcat(head, tail, out var name) ? name : throw new ArgumentException("name too long");

    /// <summary>All labels of <paramref name="head"/> followed by <paramref name="tail"/>; false when the result
    /// would exceed 255 octets.</summary>
    public static bool TryConcat(DnsName head, DnsName tail, [NotNullWhen(true)] out DnsName? name)
    {
        var length = head._wire.Length - 1 + tail._wire.Length;
        if (length > MaxWireLength)
        {
            name = null;
            return false;
        }
        if (head.IsRoot)
        {
            name = tail;
            return true;
        }
        var wire = new byte[length];
        head._wire.AsSpan(0, head._wire.Length - 1).CopyTo(wire);
        tail._wire.CopyTo(wire, head._wire.Length - 1);
        name = new DnsName(wire);
        return true;
    }

    public bool Equals(DnsName? other) => other is not null && DnsNameSpan.EqualsIgnoreCase(_wire, other._wire);

    public override bool Equals(object? obj) => obj is DnsName other && Equals(other);

    public override int GetHashCode() => DnsNameSpan.GetHashCodeIgnoreCase(_wire);

    public static bool operator ==(DnsName? left, DnsName? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(DnsName? left, DnsName? right) => !(left == right);

    /// <summary>Presentation form with a trailing dot; special characters escaped as dig prints them.</summary>
    public override string ToString() => _text ??= DnsNameSpan.ToText(_wire);
}

/// <summary>Operations on names held as uncompressed wire bytes in spans (the allocation-free hot path).</summary>
public static class DnsNameSpan
{
    /// <summary>Lowers ASCII letters in place. Length octets are at most 63, below 'A' (65),
    /// so lowering every octet is safe.</summary>
    public static void ToLower(Span<byte> wire)
    {
        for (var i = 0; i < wire.Length; i++)
        {
            var b = wire[i];
            if ((uint)(b - 'A') <= 'Z' - 'A')
            {
                wire[i] = (byte)(b | 0x20);
            }
        }
    }

    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (var i = 0; i < a.Length; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x != y && Lower(x) != Lower(y))
            {
                return false;
            }
        }
        return true;
    }

    private static byte Lower(byte b) => (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;

    public static int GetHashCodeIgnoreCase(ReadOnlySpan<byte> wire)
    {
        var hash = new HashCode();
        foreach (var b in wire)
        {
            hash.Add(Lower(b));
        }
        return hash.ToHashCode();
    }

    /// <summary>True when <paramref name="name"/> equals <paramref name="zone"/> or lies below it (case-insensitive).</summary>
    public static bool IsSubdomainOf(ReadOnlySpan<byte> name, ReadOnlySpan<byte> zone)
    {
        if (zone.Length > name.Length)
        {
            return false;
        }
        // Walk label boundaries of name until the remaining suffix has the zone's length.
        var offset = 0;
        while (name.Length - offset > zone.Length)
        {
            // A compression pointer or reserved label type here means the span is not a plain wire name.
            if (name[offset] > DnsName.MaxLabelLength)
            {
                return false;
            }
            offset += name[offset] + 1;
        }
        return name.Length - offset == zone.Length && EqualsIgnoreCase(name[offset..], zone);
    }

    /// <summary>Number of labels (root not counted).</summary>
    public static int CountLabels(ReadOnlySpan<byte> wire)
    {
        var count = 0;
        for (var i = 0; i < wire.Length && wire[i] != 0; i += wire[i] + 1)
        {
            count++;
        }
        return count;
    }

    public static string ToText(ReadOnlySpan<byte> wire)
    {
        if (wire.Length <= 1)
        {
            return ".";
        }
        var builder = new StringBuilder(wire.Length + 8);
        var i = 0;
        while (i < wire.Length && wire[i] != 0)
        {
            var length = wire[i];
            for (var j = i + 1; j <= i + length && j < wire.Length; j++)
            {
                AppendEscaped(builder, wire[j]);
            }
            builder.Append('.');
            i += length + 1;
        }
        return builder.ToString();
    }

    private static void AppendEscaped(StringBuilder builder, byte b)
    {
        switch (b)
        {
            case (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'@' or (byte)'$':
                builder.Append('\\').Append((char)b);
                break;
            case < 0x21 or > 0x7E:
                builder.Append('\\').Append((b / 100).ToString(System.Globalization.CultureInfo.InvariantCulture))
                    .Append((b / 10 % 10).ToString(System.Globalization.CultureInfo.InvariantCulture))
                    .Append((b % 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                builder.Append((char)b);
                break;
        }
    }
}
