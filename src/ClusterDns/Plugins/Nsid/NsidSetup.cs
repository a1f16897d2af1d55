using System.Text;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Nsid;

/// <summary>Parses <c>nsid [DATA...]</c> as CoreDNS does: the words joined by spaces, the host name by default.</summary>
public static class NsidSetup
{
    public static PluginDescriptor Descriptor { get; } = new("nsid", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) => [new NsidPlugin(Encoding.UTF8.GetBytes(Parse(context.Dispenser)))];

    internal static string Parse(Corefile.Dispenser d)
    {
        var data = Chaos.ChaosPlugin.HostName();
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count > 0)
            {
                data = string.Join(' ', args);
            }
        }
        return data;
    }
}
