using System.Net;

namespace ClusterDns.Server;

/// <summary>One DNS listener: UDP and TCP on the same address, and the zone table of the blocks on it.</summary>
public sealed record ListenerSpec(string Address, IPAddress? BindAddress, int Port, ListenerRoutes Routes);

/// <summary>A complete, validated configuration: what the host swaps in atomically on start and reload.</summary>
public sealed class ServerConfig
{
    internal ServerConfig(IReadOnlyList<ListenerSpec> listeners, IReadOnlyList<ServerBlockRuntime> blocks, ConfigCollector collector, Func<string> hash)
    {
        Listeners = listeners;
        Blocks = blocks;
        Lifecycles = collector.Lifecycles;
        ShutdownHooks = collector.ShutdownHooks;
        HttpRoutes = collector.HttpRoutes.ToDictionary(
            pair => pair.Key, pair => (IReadOnlyDictionary<string, HttpHandler>)pair.Value, StringComparer.Ordinal);
        _hash = new Lazy<string>(hash);
    }

    public IReadOnlyList<ListenerSpec> Listeners { get; }

    public IReadOnlyList<ServerBlockRuntime> Blocks { get; }

    public IReadOnlyList<IPluginLifecycle> Lifecycles { get; }

    public IReadOnlyList<Func<Task>> ShutdownHooks { get; }

    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, HttpHandler>> HttpRoutes { get; }

    private readonly Lazy<string> _hash;

    /// <summary>SHA-512 of the Corefile and its imports (hex), as reload logs and compares it. Computed on first use
    /// (only reload asks): hashing loads the OpenSSL libraries, ~4 MiB resident a Corefile without reload need not
    /// carry (docs/performance/footprint.md).</summary>
    public string Hash => _hash.Value;
}
