using System.Globalization;

namespace ClusterDns.Plugins;

/// <summary>Go's <c>time.ParseDuration</c> syntax as Corefiles use it: <c>500ms</c>, <c>5s</c>, <c>1m30s</c>, <c>2h</c>, <c>1.5s</c>.</summary>
public static class GoDuration
{
    public static bool TryParse(string s, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var i = 0;
        var negative = false;
        if (i < s.Length && s[i] is '+' or '-')
        {
            negative = s[i] == '-';
            i++;
        }
        if (s.Length - i == 1 && s[i] == '0')
        {
            return true; // bare "0" needs no unit
        }
        if (i == s.Length)
        {
            return false;
        }
        decimal totalNs = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (i == start || !decimal.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }
            decimal scale = s.AsSpan(unitStart, i - unitStart) switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => 0m,
            };
            if (scale == 0m)
            {
                return false;
            }
            totalNs += number * scale;
            if (totalNs > long.MaxValue)
            {
                return false;
            }
        }
        var ticks = (long)(totalNs / 100m);
        value = TimeSpan.FromTicks(negative ? -ticks : ticks);
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
