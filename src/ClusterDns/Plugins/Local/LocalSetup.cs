using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Local;

/// <summary>Parses <c>local { localhost_prefix on|off }</c> as CoreDNS does (every occurrence is read; the last
/// <c>localhost_prefix</c> wins).</summary>
public static class LocalSetup
{
    public static PluginDescriptor Descriptor { get; } = new("local", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) =>
        [new LocalPlugin(Parse(context.Dispenser), context.LoggerFactory.CreateLogger("plugin/local"))];

    /// <summary>True when the legacy <c>localhost.&lt;anything&gt;</c> interception is off.</summary>
    internal static bool Parse(Corefile.Dispenser d)
    {
        var disablePrefix = false;
        while (d.Next())
        {
            if (d.RemainingArgs().Count != 0)
            {
                throw d.ArgErr();
            }
            while (d.NextBlock())
            {
                if (d.Val != "localhost_prefix")
                {
                    throw d.Err($"unknown property '{d.Val}'");
                }
                var args = d.RemainingArgs();
                if (args.Count != 1)
                {
                    throw d.ArgErr();
                }
                disablePrefix = args[0] switch
                {
                    "on" => false,
                    "off" => true,
                    _ => throw d.Err($"localhost_prefix expects 'on' or 'off', got \"{args[0]}\""),
                };
            }
        }
        return disablePrefix;
    }
}
