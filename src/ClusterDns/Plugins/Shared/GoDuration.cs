using System.Globalization;
using System.Text;

namespace ClusterDns.Plugins.Shared;

/// <summary>
/// Go's <c>time.ParseDuration</c> and <c>Duration.String</c>, with Go's error texts, because Corefile
/// options and log lines must read exactly as CoreDNS's do (<c>5m0s</c>, <c>time: invalid duration "x"</c>).
/// Shared by every plugin that reads a duration option.
/// </summary>
public static class GoDuration
{
    private const long NanosPerTick = 100;

    public static bool TryParse(string text, out TimeSpan value) => TryParse(text, out value, out _);

    /// <summary>Parses or throws <see cref="FormatException"/> with Go's message (setup code reports it as the plugin error).</summary>
    public static TimeSpan Parse(string text) => TryParse(text, out var value, out var error) ? value : throw new FormatException(error);

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> is Go's message.</summary>
    public static bool TryParse(string text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = string.Empty;
        var s = text.AsSpan();
        var negative = false;
        if (s.Length > 0 && s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s.SequenceEqual("0"))
        {
            return true;
        }
        if (s.IsEmpty)
        {
            error = Invalid(text);
            return false;
        }
        decimal total = 0;
        while (!s.IsEmpty)
        {
            var i = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }
            var intDigits = i;
            var fracDigits = 0;
            if (i < s.Length && s[i] == '.')
            {
                i++;
                var start = i;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    i++;
                }
                fracDigits = i - start;
            }
            if (intDigits == 0 && fracDigits == 0)
            {
                error = Invalid(text); // no digits, e.g. ".s"
                return false;
            }
            if (!decimal.TryParse(s[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                error = Invalid(text);
                return false;
            }
            s = s[i..];
            var u = 0;
            while (u < s.Length && s[u] != '.' && !char.IsAsciiDigit(s[u]))
            {
                u++;
            }
            if (u == 0)
            {
                error = $"time: missing unit in duration {Quote(text)}";
                return false;
            }
            decimal unit = s[..u] switch
            {
                "ns" => 1m,
                "us" or "\u00b5s" or "\u03bcs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => 0m,
            };
            if (unit == 0m)
            {
                error = $"time: unknown unit {Quote(s[..u].ToString())} in duration {Quote(text)}";
                return false;
            }
            total += number * unit;
            if (total > long.MaxValue)
            {
                error = Invalid(text);
                return false;
            }
            s = s[u..];
        }
        var ticks = (long)(total / NanosPerTick);
        value = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    private static string Invalid(string text) => $"time: invalid duration {Quote(text)}";

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>Go's <c>Duration.String</c>: <c>0s</c>, <c>1.5ms</c>, <c>30s</c>, <c>5m0s</c>, <c>1h0m0s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        var nanos = duration.Ticks * NanosPerTick;
        if (nanos == 0)
        {
            return "0s";
        }
        var builder = new StringBuilder();
        if (nanos < 0)
        {
            builder.Append('-');
            nanos = -nanos;
        }
        if (nanos < 1_000_000_000)
        {
            // Below a second Go picks the largest unit that keeps an integer part.
            var (scale, unit) = nanos < 1_000 ? (1L, "ns") : nanos < 1_000_000 ? (1_000L, "\u00b5s") : (1_000_000L, "ms");
            AppendFraction(builder, nanos, scale);
            return builder.Append(unit).ToString();
        }
        var hours = nanos / 3_600_000_000_000;
        nanos -= hours * 3_600_000_000_000;
        var minutes = nanos / 60_000_000_000;
        nanos -= minutes * 60_000_000_000;
        if (hours > 0)
        {
            builder.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }
        if (hours > 0 || minutes > 0)
        {
            builder.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }
        AppendFraction(builder, nanos, 1_000_000_000);
        return builder.Append('s').ToString();
    }

    private static void AppendFraction(StringBuilder builder, long value, long scale)
    {
        builder.Append((value / scale).ToString(CultureInfo.InvariantCulture));
        var fraction = value % scale;
        if (fraction == 0)
        {
            return;
        }
        var digits = scale.ToString(CultureInfo.InvariantCulture).Length - 1;
        var text = fraction.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
        builder.Append('.').Append(text);
    }
}
