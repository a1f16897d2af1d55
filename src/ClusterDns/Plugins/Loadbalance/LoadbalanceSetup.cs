using ClusterDns.Server;

namespace ClusterDns.Plugins.Loadbalance;

/// <summary>Registers <c>loadbalance [round_robin]</c>; other policies are refused with CoreDNS's texts.</summary>
public static class LoadbalanceSetup
{
    public static PluginDescriptor Descriptor { get; } = new("loadbalance", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count > 1)
            {
                throw d.ArgErr();
            }
            if (args.Count == 1 && args[0] != "round_robin")
            {
                throw args[0] == "weighted"
                    ? d.Err("the weighted policy is not supported by ClusterDns yet; use round_robin")
                    : d.Err($"unknown policy: {args[0]}");
            }
            if (d.NextBlock())
            {
                throw d.Err($"unknown property '{d.Val}'");
            }
        }
        return [new LoadbalancePlugin()];
    }
}
