using System.Net;
using System.Net.NetworkInformation;
using ClusterDns.Corefile;

namespace ClusterDns.Server;

/// <summary>A configuration that cannot be served; the message is what CoreDNS would print.</summary>
public sealed class ConfigException(string message) : Exception(message);

/// <summary>
/// Turns a parsed Corefile into a <see cref="ServerConfig"/>: groups keys into listeners, validates duplicates,
/// runs every plugin's setup in plugin.cfg order and chains the handlers. Nothing is started here, so a failed
/// build (start-up or reload) leaves the running configuration untouched.
/// </summary>
public sealed class ConfigBuilder
{
    private readonly IReadOnlyDictionary<string, PluginDescriptor> _plugins;
    private readonly PluginOrder _order;
    private readonly ServiceHub _services;
    private readonly Func<string, InternalResolver> _resolverFor;

    public ConfigBuilder(IReadOnlyDictionary<string, PluginDescriptor> plugins, PluginOrder order, ServiceHub services, Func<string, InternalResolver> resolverFor)
    {
        _plugins = plugins;
        _order = order;
        _services = services;
        _resolverFor = resolverFor;
    }

    public ServerConfig Build(CorefileDocument document, string corefileDirectory, string hash) =>
        Build(document, corefileDirectory, () => hash);

    /// <summary>Builds the configuration; <paramref name="hash"/> runs only if something asks for the hash.</summary>
    public ServerConfig Build(CorefileDocument document, string corefileDirectory, Func<string> hash)
    {
        var collector = new ConfigCollector();
        var blocks = new List<ServerBlockRuntime>();
        var listenerBlocks = new Dictionary<string, (IPAddress? Bind, int Port, List<ServerBlockRuntime> Blocks)>(StringComparer.Ordinal);
        var built = new List<(ServerBlock Block, List<string?> Binds, ServerBlockRuntime Runtime)>();
        foreach (var block in document.Blocks)
        {
            if (block.Keys.Count == 0)
            {
                continue;
            }
            var binds = ReadBind(block);
            foreach (var key in block.Keys)
            {
                if (key.Scheme != "dns")
                {
                    throw new ConfigException($"{block.File}:{block.Line} - Error during parsing: ClusterDns does not serve {key.Scheme}:// yet: {key.Original}");
                }
            }
            var port = block.Keys[0].Port;
            var zones = new List<string>();
            foreach (var key in block.Keys)
            {
                if (!zones.Contains(key.Zone))
                {
                    zones.Add(key.Zone);
                }
            }
            var listenerAddress = ListenerAddress(binds[0], port);
            var bindAddresses = new List<IPAddress>();
            foreach (var bind in binds)
            {
                bindAddresses.Add(bind is null ? IPAddress.IPv6Any : IPAddress.Parse(bind));
            }
            var plugins = SetupPlugins(block, zones, listenerAddress, collector, corefileDirectory, bindAddresses);
            var runtime = new ServerBlockRuntime(block.Keys[0].Canonical, zones, plugins);
            blocks.Add(runtime);
            built.Add((block, binds, runtime));
            foreach (var bind in binds)
            {
                var address = ListenerAddress(bind, port);
                if (!listenerBlocks.TryGetValue(address, out var entry))
                {
                    listenerBlocks[address] = entry = (bind is null ? null : IPAddress.Parse(bind), port, []);
                }
                entry.Blocks.Add(runtime);
            }
        }
        CheckDuplicates(built);
        CheckBoundAndUnboundOverlap(listenerBlocks);
        var listeners = new List<ListenerSpec>();
        foreach (var (address, entry) in listenerBlocks)
        {
            listeners.Add(new ListenerSpec(address, entry.Bind, entry.Port,
                new ListenerRoutes(address, entry.Blocks, collector.AnyClassListeners.Contains(address),
                    collector.StacktraceListeners.Contains(address), collector.TcpSettings.GetValueOrDefault(address))));
        }
        var config = new ServerConfig(listeners, blocks, collector, hash);
        foreach (var callback in collector.ConfigBuilt)
        {
            callback(config);
        }
        return config;
    }

    /// <summary>CoreDNS's server label: <c>dns://:53</c>, or <c>dns://127.0.0.1:53</c> with <c>bind</c>.</summary>
    public static string ListenerAddress(string? bind, int port) =>
        bind is null ? $"dns://:{port}" : bind.Contains(':', StringComparison.Ordinal) ? $"dns://[{bind}]:{port}" : $"dns://{bind}:{port}";

    /// <summary>
    /// CoreDNS's validateZonesAndListeningAddresses, after every block's setup: a zone, port and bind address may be
    /// served by one block without a view; blocks with a view may share it, but only before that block (a view after
    /// it could never be reached).
    /// </summary>
    private static void CheckDuplicates(List<(ServerBlock Block, List<string?> Binds, ServerBlockRuntime Runtime)> built)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (block, binds, runtime) in built)
        {
            foreach (var key in block.Keys)
            {
                foreach (var bind in binds)
                {
                    var identity = $"{key.Zone}:{key.Port}@{bind}";
                    if (runtime.View is null ? !seen.Add(identity) : seen.Contains(identity))
                    {
                        throw new ConfigException($"cannot serve {key.Canonical} - it is already defined");
                    }
                }
            }
        }
    }

    private static void CheckBoundAndUnboundOverlap(Dictionary<string, (IPAddress? Bind, int Port, List<ServerBlockRuntime> Blocks)> listeners)
    {
        foreach (var (address, entry) in listeners)
        {
            if (entry.Bind is null)
            {
                continue;
            }
            var wildcard = ListenerAddress(null, entry.Port);
            if (!listeners.TryGetValue(wildcard, out var unbound))
            {
                continue;
            }
            foreach (var block in entry.Blocks)
            {
                foreach (var zone in block.Zones)
                {
                    foreach (var other in unbound.Blocks)
                    {
                        if (other.Zones.Contains(zone))
                        {
                            throw new ConfigException($"cannot serve dns://{zone}:{entry.Port} - zone overlap listener capacity with {wildcard}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>The block's <c>bind</c> addresses (IPs or interface names), or a single null for "all interfaces".</summary>
    private static List<string?> ReadBind(ServerBlock block)
    {
        var group = block.Find("bind");
        if (group is null)
        {
            return [null];
        }
        var addresses = new List<string?>();
        var dispenser = new Dispenser(group);
        while (dispenser.Next())
        {
            var args = dispenser.RemainingArgs();
            if (args.Count == 0)
            {
                throw new ConfigException("plugin/bind: " + dispenser.ArgErr().Message);
            }
            foreach (var arg in args)
            {
                if (IPAddress.TryParse(arg, out var ip))
                {
                    AddDistinct(addresses, ip.ToString());
                    continue;
                }
                var found = false;
                foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                {
                    if (nic.Name != arg)
                    {
                        continue;
                    }
                    found = true;
                    foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                    {
                        if (!unicast.Address.IsIPv6LinkLocal)
                        {
                            AddDistinct(addresses, unicast.Address.ToString());
                        }
                    }
                }
                if (!found)
                {
                    throw new ConfigException($"plugin/bind: {dispenser.Err($"not a valid IP address or interface name: \"{arg}\"").Message}");
                }
            }
            while (dispenser.NextBlock())
            {
                // `except` is accepted for compatibility; interface expansion above never includes excluded addresses twice.
            }
        }
        return addresses;

        static void AddDistinct(List<string?> list, string address)
        {
            if (!list.Contains(address))
            {
                list.Add(address);
            }
        }
    }

    private List<DnsPlugin> SetupPlugins(ServerBlock block, IReadOnlyList<string> zones, string listenerAddress, ConfigCollector collector,
        string corefileDirectory, IReadOnlyList<IPAddress> bindAddresses)
    {
        var groups = new List<DirectiveGroup>(block.Directives);
        groups.Sort((a, b) => _order.IndexOf(a.Name).CompareTo(_order.IndexOf(b.Name)));
        var chain = new List<DnsPlugin>();
        foreach (var group in groups)
        {
            if (group.Name == "bind")
            {
                continue;
            }
            var first = group.Tokens[0];
            if (!_plugins.TryGetValue(group.Name, out var descriptor))
            {
                throw new ConfigException($"{first.File}:{first.Line} - Error during parsing: Unknown directive '{group.Name}' (a CoreDNS plugin that ClusterDns does not implement yet)");
            }
            if (descriptor.OncePerBlock && CountOccurrences(group) > 1)
            {
                throw new ConfigException($"plugin/{group.Name}: this plugin can only be used once per Server Block");
            }
            var context = new PluginSetupContext(new Dispenser(group), block, zones, _services, collector, listenerAddress,
                _resolverFor(listenerAddress), corefileDirectory, bindAddresses);
            try
            {
                chain.AddRange(descriptor.Setup(context));
            }
            catch (Exception exception) when (exception is CorefileException or FormatException or ArgumentException or IOException or ConfigException)
            {
                throw new ConfigException($"plugin/{group.Name}: {exception.Message}");
            }
        }
        return chain;
    }

    /// <summary>How many times the directive starts a line at brace depth 0 within its group.</summary>
    private static int CountOccurrences(DirectiveGroup group)
    {
        var count = 0;
        var depth = 0;
        var previousLine = -1;
        var previousFile = string.Empty;
        foreach (var token in group.Tokens)
        {
            var startsLine = token.Line != previousLine || token.File != previousFile;
            if (depth == 0 && startsLine && token.Text == group.Name)
            {
                count++;
            }
            if (token.Text == "{")
            {
                depth++;
            }
            else if (token.Text == "}" && depth > 0)
            {
                depth--;
            }
            previousLine = token.Line;
            previousFile = token.File;
        }
        return count;
    }
}
