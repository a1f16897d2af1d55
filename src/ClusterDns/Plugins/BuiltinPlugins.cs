using ClusterDns.Server;

namespace ClusterDns.Plugins;

/// <summary>Every plugin ClusterDns implements, registered explicitly (no reflection scanning, so trimming/AOT stay possible).
/// Their run order comes from plugin.cfg, not from this list.</summary>
public static class BuiltinPlugins
{
    public static IReadOnlyDictionary<string, PluginDescriptor> All { get; } = Build(
        Whoami.WhoamiPlugin.Descriptor,
        Reload.ReloadLifecycle.Descriptor,
        Loop.LoopPlugin.Descriptor,
        Loadbalance.LoadbalancePlugin.Descriptor,
        Kubernetes.KubernetesPlugin.Descriptor,
        Prometheus.PrometheusPlugin.Descriptor,
        Errors.ErrorsPlugin.Descriptor,
        Log.LogPlugin.Descriptor,
        Hosts.HostsPlugin.Descriptor,
        Health.HealthPlugin.Descriptor,
        Ready.ReadyPlugin.Descriptor,
        Debug.DebugPlugin.Descriptor,
        Transfer.TransferPlugin.Descriptor);

    private static Dictionary<string, PluginDescriptor> Build(params PluginDescriptor[] descriptors)
    {
        var result = new Dictionary<string, PluginDescriptor>(StringComparer.Ordinal);
        foreach (var descriptor in descriptors)
        {
            result.Add(descriptor.Name, descriptor);
        }
        return result;
    }
}
