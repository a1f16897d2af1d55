using ClusterDns.Server;

namespace ClusterDns.Plugins.Chaos;

/// <summary>Parses <c>chaos [VERSION] [AUTHORS...]</c> as CoreDNS does (only the first occurrence counts) and lets
/// class CH through the block's listener.</summary>
public static class ChaosSetup
{
    /// <summary>Who <c>authors.bind</c> names when the Corefile does not (CoreDNS lists its own maintainers).</summary>
    internal static readonly IReadOnlyList<string> Owners = ["ClusterDns maintainers"];

    public static PluginDescriptor Descriptor { get; } = new("chaos", Setup, OncePerBlock: false);

    /// <summary>CoreDNS's default version text is AppName-AppVersion.</summary>
    public static string DefaultVersion => $"ClusterDns-{ClusterDnsApp.Version}";

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var (version, authors) = Parse(context.Dispenser);
        context.AllowAnyClass();
        return [new ChaosPlugin(version, authors)];
    }

    internal static (string Version, IReadOnlyList<string> Authors) Parse(Corefile.Dispenser d)
    {
        if (!d.Next())
        {
            return (string.Empty, Owners);
        }
        var args = d.RemainingArgs();
        if (d.NextBlock())
        {
            throw d.Err($"unknown property '{d.Val}'");
        }
        switch (args.Count)
        {
            case 0:
                return (Trim(DefaultVersion), Owners);
            case 1:
                return (Trim(args[0]), Owners);
        }
        // Several authors: de-duplicated, each cut to 255, sorted (the version itself is not cut, as in CoreDNS).
        var authors = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            authors.Add(Trim(args[i]));
        }
        return (args[0], [.. authors]);
    }

    /// <summary>A TXT string holds at most 255 octets.</summary>
    internal static string Trim(string s) => s.Length < 256 ? s : s[..255];
}
