using System.Globalization;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>Go's <c>time.ParseDuration</c> syntax (<c>500ms</c>, <c>1m30s</c>, <c>-2h</c>, <c>0</c>).</summary>
internal static class GoDuration
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
}
