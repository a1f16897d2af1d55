using ClusterDns.Corefile;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>What a plugin's setup sees: its directive's tokens, its server block, and the hooks to register side effects.</summary>
public sealed class PluginSetupContext
{
    internal PluginSetupContext(Dispenser dispenser, ServerBlock block, IReadOnlyList<string> zones, ServiceHub services,
        ConfigCollector collector, string listenerAddress, InternalResolver resolver, string corefileDirectory,
        IReadOnlyList<System.Net.IPAddress> bindAddresses)
    {
        BindAddresses = bindAddresses;
        Dispenser = dispenser;
        Block = block;
        Zones = zones;
        Services = services;
        Collector = collector;
        ListenerAddress = listenerAddress;
        Resolver = resolver;
        CorefileDirectory = corefileDirectory;
    }

    public Dispenser Dispenser { get; }

    public ServerBlock Block { get; }

    /// <summary>The block's zones, lower-case FQDN (CIDR keys already expanded).</summary>
    public IReadOnlyList<string> Zones { get; }

    public ServiceHub Services { get; }

    public ILoggerFactory LoggerFactory => Services.LoggerFactory;

    /// <summary>The block's listener label, e.g. <c>dns://:53</c>.</summary>
    public string ListenerAddress { get; }

    /// <summary>The addresses the block listens on (<c>bind</c>), or the wildcard addresses when it listens on all.</summary>
    public IReadOnlyList<System.Net.IPAddress> BindAddresses { get; }

    /// <summary>Resolves through this block's listener (the whole server, as CoreDNS's upstream does).</summary>
    public InternalResolver Resolver { get; }

    /// <summary>Directory of the Corefile, for relative file paths.</summary>
    public string CorefileDirectory { get; }

    internal ConfigCollector Collector { get; }

    public void AddHttpRoute(string address, string path, HttpHandler handler) => Collector.AddHttpRoute(address, path, handler);

    public void AddLifecycle(IPluginLifecycle lifecycle) => Collector.Lifecycles.Add(lifecycle);

    public void AddReadiness(IReadinessReporter reporter) => Collector.Readiness.Add(reporter);

    /// <summary>Runs once the whole configuration is built (every block's chain complete), before it is applied; a
    /// failed build never calls it. For side data that needs other plugins' handlers (metrics' plugin_enabled).</summary>
    public void OnConfigBuilt(Action<ServerConfig> callback) => Collector.ConfigBuilt.Add(callback);

    /// <summary>Runs on final shutdown (SIGTERM/SIGINT), before the listeners close (health's lameduck).</summary>
    public void OnShutdown(Func<Task> hook) => Collector.ShutdownHooks.Add(hook);

    /// <summary>Lets non-IN classes through on this block's listener (chaos, forward).</summary>
    public void AllowAnyClass() => Collector.AnyClassListeners.Add(ListenerAddress);

    /// <summary>Sets this block's listener's TCP timeouts and limits (<c>timeouts</c>).</summary>
    public void SetTcpSettings(TcpSettings settings) =>
        Collector.TcpSettings[ListenerAddress] = settings.Over(Collector.TcpSettings.GetValueOrDefault(ListenerAddress));

    /// <summary>Logs a stack trace with every recovered panic on this block's listener (<c>errors { stacktrace }</c>;
    /// like CoreDNS, one block asking turns it on for every block sharing the listener).</summary>
    public void LogPanicStacktraces() => Collector.StacktraceListeners.Add(ListenerAddress);

    /// <summary>A path relative to the Corefile's directory, or the path itself when absolute.</summary>
    public string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(CorefileDirectory, path));
}

/// <summary>A directive ClusterDns implements: its setup returns the handlers to chain (none for setup-only plugins,
/// one per occurrence for multi-instance plugins).</summary>
public sealed record PluginDescriptor(string Name, Func<PluginSetupContext, IReadOnlyList<DnsPlugin>> Setup, bool OncePerBlock = true);

/// <summary>Side effects gathered while building one configuration; applied only if the whole build succeeds.</summary>
internal sealed class ConfigCollector
{
    public Dictionary<string, Dictionary<string, HttpHandler>> HttpRoutes { get; } = new(StringComparer.Ordinal);

    public List<IPluginLifecycle> Lifecycles { get; } = [];

    public List<IReadinessReporter> Readiness { get; } = [];

    public List<Func<Task>> ShutdownHooks { get; } = [];

    public List<Action<ServerConfig>> ConfigBuilt { get; } = [];

    public HashSet<string> AnyClassListeners { get; } = new(StringComparer.Ordinal);

    public HashSet<string> StacktraceListeners { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TcpSettings> TcpSettings { get; } = new(StringComparer.Ordinal);

    public void AddHttpRoute(string address, string path, HttpHandler handler)
    {
        if (!HttpRoutes.TryGetValue(address, out var routes))
        {
            HttpRoutes[address] = routes = new Dictionary<string, HttpHandler>(StringComparer.Ordinal);
        }
        routes.TryAdd(path, handler);
    }
}
