using ClusterDns.Plugins.Shared;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Bufsize;

/// <summary>Parses <c>bufsize [SIZE]</c> as CoreDNS does: only the first occurrence counts, SIZE 512–4096 (RFC 6891),
/// default 1232 (DNS Flag Day 2020).</summary>
public static class BufsizeSetup
{
    public const int DefaultSize = 1232;

    public static PluginDescriptor Descriptor { get; } = new("bufsize", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) => [new BufsizePlugin((ushort)Parse(context))];

    internal static int Parse(PluginSetupContext context)
    {
        var d = context.Dispenser;
        if (d.Next())
        {
            var args = d.RemainingArgs();
            switch (args.Count)
            {
                case 0:
                    return DefaultSize;
                case 1 when GoStrconv.TryAtoi(args[0], out var size) && size is >= 512 and <= 4096:
                    return size;
            }
        }
        // CoreDNS wraps this error in plugin.Error twice, so the prefix appears twice.
        throw new ConfigException("plugin/bufsize: " + d.ArgErr().Message);
    }
}
