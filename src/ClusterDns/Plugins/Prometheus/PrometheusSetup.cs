using ClusterDns.Metrics;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Prometheus;

/// <summary>Registers <c>prometheus [ADDRESS] { runtime_metrics }</c>: the /metrics route and every metric family.</summary>
public static class PrometheusSetup
{
    public static PluginDescriptor Descriptor { get; } = new("prometheus", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        var address = PrometheusPlugin.DefaultAddress;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count > 1)
            {
                throw d.ArgErr();
            }
            if (args.Count == 1)
            {
                address = args[0];
            }
            while (d.NextBlock())
            {
                switch (d.Val)
                {
                    case "runtime_metrics":
                        // The runtime's meter is always exported (our go_* counterpart); nothing to switch on.
                        if (d.NextArg())
                        {
                            throw d.ArgErr();
                        }
                        break;
                    case "tls":
                        throw d.Err("tls is not supported by ClusterDns; terminate TLS in front of the metrics listener");
                    default:
                        throw d.Err($"unknown option: {d.Val}");
                }
            }
        }
        HttpAddress.Validate(address);
        MetricsCatalog.RegisterAll();
        CoreMetrics.BuildInfo.WithLabels(ClusterDnsApp.Version, PrometheusPlugin.Revision, PrometheusPlugin.GoVersion).Set(1);
        context.AddHttpRoute(address, "/metrics", PrometheusPlugin.ServeMetricsAsync);
        PluginEnabledPublisher.Register(context);
        return [new PrometheusPlugin(address)];
    }
}
