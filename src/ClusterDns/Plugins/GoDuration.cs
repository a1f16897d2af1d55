using System.Globalization;

namespace ClusterDns.Plugins;

/// <summary>Go's <c>time.ParseDuration</c> syntax as Corefiles use it: <c>500ms</c>, <c>5s</c>, <c>1m30s</c>, <c>2h</c>, <c>1.5s</c>.</summary>
public static class GoDuration
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text.Length == 0)
        {
            return false;
        }
        if (text == "0")
        {
            return true;
        }
        var span = text.AsSpan();
        var negative = false;
        if (span[0] is '-' or '+')
        {
            negative = span[0] == '-';
            span = span[1..];
        }
        double totalMs = 0;
        var any = false;
        while (span.Length > 0)
        {
            var i = 0;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '.'))
            {
                i++;
            }
            if (i == 0 || !double.TryParse(span[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }
            span = span[i..];
            var j = 0;
            while (j < span.Length && !char.IsAsciiDigit(span[j]) && span[j] != '.')
            {
                j++;
            }
            double unitMs = span[..j] switch
            {
                "ns" => 1e-6,
                "us" or "µs" => 1e-3,
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => double.NaN,
            };
            if (double.IsNaN(unitMs))
            {
                return false;
            }
            totalMs += value * unitMs;
            any = true;
            span = span[j..];
        }
        if (!any)
        {
            return false;
        }
        duration = TimeSpan.FromMilliseconds(negative ? -totalMs : totalMs);
        return true;
    }

    /// <summary>Formats like Go's <c>Duration.String()</c> for whole seconds and sub-seconds: <c>5s</c>, <c>1m30s</c>, <c>500ms</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }
        if (duration < TimeSpan.FromSeconds(1))
        {
            return duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }
        var text = string.Empty;
        if (duration.Hours + duration.Days * 24 > 0)
        {
            text += (duration.Hours + duration.Days * 24).ToString(CultureInfo.InvariantCulture) + "h";
        }
        if (duration.Minutes > 0 || text.Length > 0)
        {
            text += duration.Minutes.ToString(CultureInfo.InvariantCulture) + "m";
        }
        var seconds = duration.Seconds + duration.Milliseconds / 1000.0;
        return text + seconds.ToString(CultureInfo.InvariantCulture) + "s";
    }
}
