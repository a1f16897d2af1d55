using System.Buffers;
using System.Globalization;
using System.Net;

namespace ClusterDns.Plugins.Log;

/// <summary>
/// Appends a log line into a caller-provided stack buffer, renting a larger array only when a line outgrows it,
/// so building a line costs one string at the end and nothing else.
/// </summary>
internal ref struct LineBuilder
{
    private Span<char> _buffer;
    private char[]? _rented;
    private int _length;

    public LineBuilder(Span<char> initial)
    {
        _buffer = initial;
        _rented = null;
        _length = 0;
    }

    public readonly ReadOnlySpan<char> Written => _buffer[.._length];

    public void Append(char value)
    {
        if (_length == _buffer.Length)
        {
            Grow(1);
        }
        _buffer[_length++] = value;
    }

    public void Append(scoped ReadOnlySpan<char> value)
    {
        if (_length + value.Length > _buffer.Length)
        {
            Grow(value.Length);
        }
        value.CopyTo(_buffer[_length..]);
        _length += value.Length;
    }

    public void Append(long value)
    {
        int written;
        while (!value.TryFormat(_buffer[_length..], out written, default, CultureInfo.InvariantCulture))
        {
            Grow(20);
        }
        _length += written;
    }

    public void Append(IPAddress address)
    {
        int written;
        while (!address.TryFormat(_buffer[_length..], out written))
        {
            Grow(64);
        }
        _length += written;
    }

    /// <summary>Go's <c>strconv.FormatFloat(v, 'f', -1, 64)</c>: shortest round-trip digits, never an exponent.</summary>
    public void AppendShortestFixed(double value)
    {
        Span<char> digits = stackalloc char[32];
        if (!value.TryFormat(digits, out var written, "R", CultureInfo.InvariantCulture))
        {
            Append("0");
            return;
        }
        var text = digits[..written];
        var e = text.IndexOfAny('E', 'e');
        if (e < 0)
        {
            Append(text);
            return;
        }
        // Rewrite d.dddE±xx as a plain decimal.
        var exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = text[..e];
        if (mantissa.Length > 0 && mantissa[0] == '-')
        {
            Append('-');
            mantissa = mantissa[1..];
        }
        Span<char> significant = stackalloc char[32];
        var count = 0;
        var point = -1;
        foreach (var c in mantissa)
        {
            if (c == '.')
            {
                point = count;
            }
            else
            {
                significant[count++] = c;
            }
        }
        var pointAt = (point < 0 ? count : point) + exponent; // digits before the decimal point
        if (pointAt <= 0)
        {
            Append("0.");
            for (var i = 0; i < -pointAt; i++)
            {
                Append('0');
            }
            Append(significant[..count]);
        }
        else if (pointAt >= count)
        {
            Append(significant[..count]);
            for (var i = count; i < pointAt; i++)
            {
                Append('0');
            }
        }
        else
        {
            Append(significant[..pointAt]);
            Append('.');
            Append(significant[pointAt..count]);
        }
    }

    private void Grow(int extra)
    {
        var size = Math.Max(_buffer.Length * 2, _length + extra + 64);
        var next = ArrayPool<char>.Shared.Rent(size);
        _buffer[.._length].CopyTo(next);
        if (_rented is not null)
        {
            ArrayPool<char>.Shared.Return(_rented);
        }
        _rented = next;
        _buffer = next;
    }

    public override readonly string ToString() => new(_buffer[.._length]);

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<char>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
