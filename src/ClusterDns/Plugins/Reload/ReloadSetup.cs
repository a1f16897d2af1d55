using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Reload;

/// <summary>Parsed <c>reload [INTERVAL] [JITTER]</c>.</summary>
public sealed record ReloadOptions(TimeSpan Interval, TimeSpan Jitter)
{
    public static ReloadOptions Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15));
}

/// <summary>Registers <c>reload [INTERVAL] [JITTER]</c>: one Corefile watcher per configuration.</summary>
public static class ReloadSetup
{
    public static PluginDescriptor Descriptor { get; } = new("reload", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser);
        if (context.Services.Reloader is { } controller)
        {
            var lifecycle = new ReloadLifecycle(options, controller, context.LoggerFactory.CreateLogger("plugin/reload"));
            context.AddLifecycle(lifecycle);
            context.OnConfigBuilt(config => lifecycle.ConfigHash = config.Hash);
        }
        return [];
    }

    /// <summary>CoreDNS's rules: INTERVAL ≥ 2s, JITTER ≥ 1s or 0, JITTER capped at INTERVAL/2.</summary>
    public static ReloadOptions Parse(Dispenser d)
    {
        var options = ReloadOptions.Default;
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count > 2)
            {
                throw d.ArgErr();
            }
            var interval = options.Interval;
            var jitter = options.Jitter;
            if (args.Count > 0)
            {
                if (!GoDuration.TryParse(args[0], out interval) || interval < TimeSpan.FromSeconds(2))
                {
                    throw d.Err($"invalid interval value: {args[0]}; minimum is 2s");
                }
            }
            if (args.Count > 1)
            {
                if (!GoDuration.TryParse(args[1], out jitter) || (jitter < TimeSpan.FromSeconds(1) && jitter != TimeSpan.Zero))
                {
                    throw d.Err($"invalid jitter value: {args[1]}; minimum is 1s");
                }
            }
            if (jitter > interval / 2)
            {
                jitter = interval / 2;
            }
            options = new ReloadOptions(interval, jitter);
            if (d.NextBlock())
            {
                throw d.ArgErr();
            }
        }
        return options;
    }
}
