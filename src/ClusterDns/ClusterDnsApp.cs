using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using ClusterDns.Corefile;
using ClusterDns.Logging;
using ClusterDns.Plugins;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns;

/// <summary>Command-line settings, named after CoreDNS's flags.</summary>
public sealed record AppOptions
{
    public string? Conf { get; init; }
    public int DnsPort { get; init; } = 53;
    public bool Quiet { get; init; }
    public string? PidFile { get; init; }
    public string WorkingDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>The plugins this server knows; tests add their own (under a plugin.cfg name) to probe the server core.</summary>
    public IReadOnlyDictionary<string, PluginDescriptor> Plugins { get; init; } = BuiltinPlugins.All;

    /// <summary>Socket settings of every listener (no Corefile syntax reaches them; tests shorten the TCP timeouts).</summary>
    public ListenerOptions Listener { get; init; } = new();
}

/// <summary>
/// The running server: loads the Corefile (or the built-in default), builds and applies the configuration,
/// reloads on request keeping the old configuration when the new one fails, and stops gracefully.
/// </summary>
public sealed partial class ClusterDnsApp : IAsyncDisposable, IReloadController
{
    public static string Version => typeof(ClusterDnsApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private readonly AppOptions _options;
    private readonly ILogger _logger;
    private readonly ILogger _reloadLogger;
    private readonly DnsServerHost _host;
    private readonly ConfigBuilder _builder;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);

    public ClusterDnsApp(AppOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
        Services = new ServiceHub(loggerFactory);
        _logger = loggerFactory.CreateLogger("clusterdns");
        _reloadLogger = loggerFactory.CreateLogger("plugin/reload");
        _host = new DnsServerHost(Services, options.Listener);
        _builder = new ConfigBuilder(options.Plugins, PluginOrder.Default, Services, _host.ResolverFor);
        Services.Reloader = this;
        Services.EndpointOf = address => _host.Endpoints.TryGetValue(address, out var endpoint) ? endpoint : null;
    }

    public string? CurrentHash => _host.Current?.Hash;

    public string? ComputeHash()
    {
        if (CorefilePath is null)
        {
            return null;
        }
        try
        {
            var text = File.ReadAllText(CorefilePath);
            var parserOptions = new CorefileParserOptions { IsDirective = PluginOrder.Default.Contains, DefaultPort = _options.DnsPort };
            var document = CorefileParser.Parse(text, _options.Conf ?? "Corefile", parserOptions);
            return Hash(HashInput(text, document.Files));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CorefileException)
        {
            // A Corefile that does not parse differs from the running one; reload will report why.
            return "unparsable:" + exception.Message;
        }
    }

    public ServiceHub Services { get; }

    public DnsServerHost Host => _host;

    /// <summary>Raised after a reload attempt: true when the new configuration serves.</summary>
    public event Action<bool>? Reloaded;

    /// <summary>The Corefile path in use, or null for the built-in default / stdin.</summary>
    public string? CorefilePath { get; private set; }

    public static string DefaultCorefile(int port) => $".:{port} {{\n    whoami\n    log\n}}\n";

    /// <summary>The built-in default for this server's plugin set: <c>log</c> is left out while it is not built in, so
    /// starting without a Corefile serves whoami instead of failing on a Corefile the user never wrote.</summary>
    private string BuiltinCorefile() =>
        _options.Plugins.ContainsKey("log") ? DefaultCorefile(_options.DnsPort) : $".:{_options.DnsPort} {{\n    whoami\n}}\n";

    /// <summary>Reads, parses and builds the configuration. Throws <see cref="CorefileException"/> or <see cref="ConfigException"/>.</summary>
    public ServerConfig Load()
    {
        var (text, fileName, directory) = ReadCorefile();
        var parserOptions = new CorefileParserOptions { IsDirective = PluginOrder.Default.Contains, DefaultPort = _options.DnsPort };
        var document = CorefileParser.Parse(text, fileName, parserOptions);
        foreach (var warning in document.Warnings)
        {
            LogWarning(_logger, warning);
        }
        if (document.Blocks.Count == 0)
        {
            document = CorefileParser.Parse(BuiltinCorefile(), "Corefile", parserOptions);
        }
        var hashInput = HashInput(text, document.Files); // the files as loaded, hashed only if reload asks
        return _builder.Build(document, directory, () => Hash(hashInput));
    }

    private (string Text, string FileName, string Directory) ReadCorefile()
    {
        if (_options.Conf == "stdin")
        {
            return (Console.In.ReadToEnd(), "stdin", _options.WorkingDirectory);
        }
        var path = _options.Conf ?? Path.Combine(_options.WorkingDirectory, "Corefile");
        if (_options.Conf is null && !File.Exists(path))
        {
            CorefilePath = null;
            return (BuiltinCorefile(), "Corefile", _options.WorkingDirectory);
        }
        var fullPath = Path.GetFullPath(path, _options.WorkingDirectory);
        var text = CorefileParser.ReadFile(fullPath, shownPath: path);
        CorefilePath = fullPath;
        return (text, _options.Conf ?? "Corefile", Path.GetDirectoryName(fullPath) ?? _options.WorkingDirectory);
    }

    /// <summary>The bytes the configuration hash covers: the Corefile's text, then each import's content.</summary>
    private static List<byte[]> HashInput(string text, IReadOnlyList<string> files)
    {
        var parts = new List<byte[]>(files.Count) { Encoding.UTF8.GetBytes(text) };
        for (var i = 1; i < files.Count; i++)
        {
            try
            {
                parts.Add(File.ReadAllBytes(files[i]));
            }
            catch (IOException)
            {
                // An import that vanished changes the hash by its absence.
            }
        }
        return parts;
    }

    private static string Hash(List<byte[]> parts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        foreach (var part in parts)
        {
            sha.AppendData(part);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var config = Load();
        await _host.ApplyAsync(config, cancellationToken).ConfigureAwait(false);
        if (_options.PidFile is { } pidFile)
        {
            await File.WriteAllTextAsync(pidFile, Environment.ProcessId + "\n", cancellationToken).ConfigureAwait(false);
        }
        if (!_options.Quiet)
        {
            PrintBanner(config);
        }
    }

    private static void PrintBanner(ServerConfig config)
    {
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            foreach (var block in listener.Routes.Blocks)
            {
                foreach (var zone in block.Zones)
                {
                    lines.Add(listener.BindAddress is null ? $"{zone}:{listener.Port}" : $"{zone}:{listener.Port} on {listener.BindAddress}");
                }
            }
        }
        var banner = new StringBuilder();
        foreach (var line in lines)
        {
            banner.AppendLine(line);
        }
        banner.AppendLine($"ClusterDns-{Version}");
        banner.AppendLine($"{OsName()}/{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}, dotnet{Environment.Version}");
        Console.Out.Write(banner.ToString());
        Console.Out.Flush();
    }

    private static string OsName() =>
        OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "darwin" : OperatingSystem.IsWindows() ? "windows" : "unknown";

    /// <summary>Re-reads the Corefile; a configuration that fails to parse, build or bind is logged and the old one keeps serving.</summary>
    public async Task<bool> ReloadAsync(CancellationToken cancellationToken = default)
    {
        await _reloadLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            LogReloading(_logger);
            ServerConfig config;
            try
            {
                config = Load();
            }
            catch (Exception exception) when (exception is CorefileException or ConfigException)
            {
                LogReloadFailed(_reloadLogger, exception.Message);
                Reloaded?.Invoke(false);
                return false;
            }
            try
            {
                await _host.ApplyAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (ConfigException exception)
            {
                LogReloadFailed(_reloadLogger, exception.Message);
                Reloaded?.Invoke(false);
                return false;
            }
            LogReloaded(_logger);
            Reloaded?.Invoke(true);
            return true;
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync().ConfigureAwait(false);
        await Services.DisposeAsync().ConfigureAwait(false);
        _reloadLock.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading")]
    private static partial void LogReloading(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading complete")]
    private static partial void LogReloaded(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Corefile changed but reload failed: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);
}
