using System.Globalization;
using System.Net;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Transfer;

/// <summary>Registration and option parsing of <c>transfer [ZONES...] { to ADDRESS... }</c>, as CoreDNS's transfer setup.</summary>
public static class TransferSetup
{
    // Several stanzas (different zones or peers) may share a block, as in CoreDNS.
    public static PluginDescriptor Descriptor { get; } = new("transfer", Setup, OncePerBlock: false);

    internal static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        var rules = new List<TransferRule>();
        while (d.Next())
        {
            var args = d.RemainingArgs();
            IReadOnlyList<string> zones;
            try
            {
                zones = args.Count == 0 ? context.Zones : ZoneNames.Normalize(args);
            }
            catch (FormatException e)
            {
                throw d.Err(e.Message);
            }
            var any = false;
            var peers = new List<IPAddress>();
            while (d.NextBlock())
            {
                if (d.Val != "to")
                {
                    throw d.Err($"unknown property \"{d.Val}\"");
                }
                var hosts = d.RemainingArgs();
                if (hosts.Count == 0)
                {
                    throw d.ArgErr();
                }
                foreach (var host in hosts)
                {
                    if (host == "*")
                    {
                        any = true;
                    }
                    else if (ParsePeer(host) is { } peer)
                    {
                        peers.Add(peer);
                    }
                    else
                    {
                        throw d.Err($"not an IP address: {host}");
                    }
                }
            }
            if (!any && peers.Count == 0)
            {
                throw d.Err("'to' is required");
            }
            rules.Add(new TransferRule(zones, any, [.. peers]));
        }
        return [new TransferPlugin([.. rules], context.LoggerFactory.CreateLogger("plugin/transfer"))];
    }

    /// <summary>An address with an optional port (<c>10.0.0.1</c>, <c>10.0.0.1:53</c>, <c>[fd00::1]:53</c>); the port does not matter for who may transfer.</summary>
    private static IPAddress? ParsePeer(string host)
    {
        if (GoNet.TryParseIp(host, out var ip))
        {
            return ip;
        }
        return GoNet.TrySplitHostPort(host, out var address, out var port)
            && ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && GoNet.TryParseIp(address, out ip) ? ip : null;
    }
}
