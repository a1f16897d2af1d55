using ClusterDns.Server;

namespace ClusterDns.Plugins;

/// <summary>Every plugin ClusterDns implements, registered explicitly (no reflection scanning, so trimming/AOT stay possible).
/// Their run order comes from plugin.cfg, not from this list.</summary>
public static class BuiltinPlugins
{
    // One line per plugin, alphabetical, each ending in a comma (merges stay trivial).
    public static IReadOnlyDictionary<string, PluginDescriptor> All { get; } = Build(
    [
        Cache.CachePlugin.Descriptor,
        Debug.DebugPlugin.Descriptor,
        Errors.ErrorsPlugin.Descriptor,
        Forward.ForwardPlugin.Descriptor,
        Health.HealthPlugin.Descriptor,
        Hosts.HostsPlugin.Descriptor,
        Kubernetes.KubernetesPlugin.Descriptor,
        Loadbalance.LoadbalancePlugin.Descriptor,
        Log.LogPlugin.Descriptor,
        Loop.LoopPlugin.Descriptor,
        Prometheus.PrometheusPlugin.Descriptor,
        Ready.ReadyPlugin.Descriptor,
        Reload.ReloadLifecycle.Descriptor,
        Template.TemplateSetup.Descriptor,
        Transfer.TransferPlugin.Descriptor,
        Whoami.WhoamiPlugin.Descriptor,
    ]);

    private static Dictionary<string, PluginDescriptor> Build(PluginDescriptor[] descriptors)
    {
        var result = new Dictionary<string, PluginDescriptor>(StringComparer.Ordinal);
        foreach (var descriptor in descriptors)
        {
            result.Add(descriptor.Name, descriptor);
        }
        return result;
    }
}
