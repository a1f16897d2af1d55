using System.Runtime.CompilerServices;
using ClusterDns.Metrics;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Prometheus;

/// <summary>
/// <c>coredns_plugin_enabled{server,zone,view,name} 1</c> for every handler of every block that loads prometheus, per
/// listener and zone, as CoreDNS sets it on startup. One publisher per configuration build: it reads the finished
/// chains once the build succeeded and swaps the series in when that configuration starts serving (CoreDNS resets
/// the gauge on reload), so a failed build never touches them.
/// </summary>
internal sealed class PluginEnabledPublisher : IPluginLifecycle
{
    private static readonly ConditionalWeakTable<object, PluginEnabledPublisher> PerBuild = new();
    private static readonly Lock Gate = new();
    private static PluginEnabledPublisher? _active;
    private static HashSet<Labels> _published = [];

    private readonly HashSet<Labels> _series = [];

    public static void Register(PluginSetupContext context)
    {
        if (PerBuild.TryGetValue(context.Collector, out _))
        {
            return;
        }
        var publisher = new PluginEnabledPublisher();
        PerBuild.Add(context.Collector, publisher);
        context.AddLifecycle(publisher);
        context.OnConfigBuilt(publisher.Collect);
    }

    private void Collect(ServerConfig config)
    {
        foreach (var listener in config.Listeners)
        {
            foreach (var block in listener.Routes.Blocks)
            {
                if (!HasPrometheus(block))
                {
                    continue;
                }
                foreach (var zone in block.Zones)
                {
                    foreach (var plugin in block.Plugins)
                    {
                        _series.Add(new Labels(listener.Address, zone, block.ViewName, plugin.Name));
                    }
                }
            }
        }
    }

    private static bool HasPrometheus(ServerBlockRuntime block)
    {
        foreach (var plugin in block.Plugins)
        {
            if (plugin is PrometheusPlugin)
            {
                return true;
            }
        }
        return false;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (Gate)
        {
            foreach (var old in _published)
            {
                if (!_series.Contains(old))
                {
                    CoreMetrics.PluginEnabled.RemoveLabelled(old.Server, old.Zone, old.View, old.Name);
                }
            }
            foreach (var labels in _series)
            {
                CoreMetrics.PluginEnabled.WithLabels(labels.Server, labels.Zone, labels.View, labels.Name).Set(1);
            }
            _published = [.. _series];
            _active = this;
        }
        return Task.CompletedTask;
    }

    /// <summary>Runs after a newer configuration started (it then owns the series) or on shutdown.</summary>
    public Task StopAsync()
    {
        lock (Gate)
        {
            if (_active == this)
            {
                foreach (var old in _published)
                {
                    CoreMetrics.PluginEnabled.RemoveLabelled(old.Server, old.Zone, old.View, old.Name);
                }
                _published = [];
                _active = null;
            }
        }
        return Task.CompletedTask;
    }

    private readonly record struct Labels(string Server, string Zone, string View, string Name);
}
