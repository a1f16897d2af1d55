using ClusterDns.Server;

namespace ClusterDns.Plugins;

/// <summary>Every plugin ClusterDns implements, registered explicitly (no reflection scanning, so trimming/AOT stay possible).
/// Their run order comes from plugin.cfg, not from this list.</summary>
public static class BuiltinPlugins
{
    // One line per plugin, alphabetical, each ending in a comma (merges stay trivial).
    public static IReadOnlyDictionary<string, PluginDescriptor> All { get; } = Build(
    [
        Acl.AclSetup.Descriptor,
        Any.AnySetup.Descriptor,
        Autopath.AutopathSetup.Descriptor,
        Bufsize.BufsizeSetup.Descriptor,
        Cache.CacheSetup.Descriptor,
        Cancel.CancelSetup.Descriptor,
        Chaos.ChaosSetup.Descriptor,
        Debug.DebugSetup.Descriptor,
        Dns64.Dns64Setup.Descriptor,
        Errors.ErrorsSetup.Descriptor,
        ZoneFiles.FileSetup.Descriptor,
        Forward.ForwardSetup.Descriptor,
        Header.HeaderSetup.Descriptor,
        Health.HealthSetup.Descriptor,
        Hosts.HostsSetup.Descriptor,
        K8sExternal.K8sExternalSetup.Descriptor,
        Kubernetes.KubernetesSetup.Descriptor,
        Loadbalance.LoadbalanceSetup.Descriptor,
        Local.LocalSetup.Descriptor,
        Log.LogSetup.Descriptor,
        Loop.LoopSetup.Descriptor,
        Metadata.MetadataSetup.Descriptor,
        Minimal.MinimalSetup.Descriptor,
        Nsid.NsidSetup.Descriptor,
        Prometheus.PrometheusSetup.Descriptor,
        Ready.ReadySetup.Descriptor,
        Reload.ReloadSetup.Descriptor,
        Rewrite.RewriteSetup.Descriptor,
        Template.TemplateSetup.Descriptor,
        Timeouts.TimeoutsSetup.Descriptor,
        Transfer.TransferSetup.Descriptor,
        View.ViewSetup.Descriptor,
        Whoami.WhoamiSetup.Descriptor,
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
