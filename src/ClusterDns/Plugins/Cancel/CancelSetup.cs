using ClusterDns.Plugins.Shared;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Cancel;

/// <summary>Parses <c>cancel [TIMEOUT]</c> as CoreDNS: default 5001 ms, a Go duration above zero; the last occurrence in a
/// block wins.</summary>
public static class CancelSetup
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMilliseconds(5001);

    public static PluginDescriptor Descriptor { get; } = new("cancel", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) => [new CancelPlugin(Parse(context))];

    internal static TimeSpan Parse(PluginSetupContext context)
    {
        var d = context.Dispenser;
        var timeout = DefaultTimeout;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            switch (args.Count)
            {
                case 0:
                    timeout = DefaultTimeout;
                    break;
                case 1:
                    if (!GoDuration.TryParse(args[0], out var duration))
                    {
                        throw new ConfigException($"invalid duration: \"{args[0]}\"");
                    }
                    if (duration <= TimeSpan.Zero)
                    {
                        throw new ConfigException($"invalid negative duration: \"{args[0]}\"");
                    }
                    timeout = duration;
                    break;
                default:
                    throw d.ArgErr();
            }
        }
        return timeout;
    }
}
