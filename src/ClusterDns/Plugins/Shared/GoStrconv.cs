using System.Globalization;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Shared;

/// <summary>Go's <c>strconv.Atoi</c> as CoreDNS's setup code calls it: an optional sign and ASCII digits, nothing
/// else (no spaces, no separators), with its error text.</summary>
internal static class GoStrconv
{
    public static bool TryAtoi(string s, out int value) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static string AtoiError(string s) => $"strconv.Atoi: parsing \"{s}\": invalid syntax";

    /// <summary>The value, or the configuration error CoreDNS reports for it.</summary>
    public static int Atoi(string s) => TryAtoi(s, out var value) ? value : throw new ConfigException(AtoiError(s));
}
