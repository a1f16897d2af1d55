using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ClusterDns.Corefile;
using ClusterDns.Logging;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.NodeLocal;

/// <summary>
/// <c>clusterdns nodelocal</c>: NodeLocal DNSCache's node agent (k8s-dns-node-cache) and its cache in one process.
/// Sets up the interface with the local IPs, serves the Corefile (bind to those IPs, cache, forward with force_tcp to
/// the cluster DNS), then installs the NOTRACK/ACCEPT rules once the listeners are up — so a Corefile that cannot
/// serve never diverts the node's DNS — re-checks interface and rules every sync interval, and on SIGTERM stops the
/// server and removes rules and interface (unless <c>-skipteardown</c>).
/// </summary>
internal static partial class NodeLocalCommand
{
    public static Command Build(Option<string?> conf, Option<int> port)
    {
        var localIp = new Option<string>("-localip") { Description = "Comma-separated IP addresses to bind the cache to (e.g. 169.254.20.10,10.96.0.10)", Required = true };
        var setupInterface = new Option<bool>("-setupinterface") { Description = "Create the interface holding the local IPs", DefaultValueFactory = _ => true };
        var setupIptables = new Option<bool>("-setupiptables") { Description = "Install the NOTRACK and ACCEPT iptables rules", DefaultValueFactory = _ => true };
        var interfaceName = new Option<string>("-interfacename") { Description = "Name of the interface to create", DefaultValueFactory = _ => "nodelocaldns" };
        var syncInterval = new Option<string>("-syncinterval") { Description = "How often interface and rules are re-checked (seconds, or a duration like 30s)", DefaultValueFactory = _ => "60" };
        var baseCorefile = new Option<string?>("-basecorefile") { Description = "Corefile template with __PILLAR__ placeholders, rendered into -conf" };
        var upstreamService = new Option<string>("-upstreamsvc") { Description = "Service whose cluster IP fills __PILLAR__CLUSTER__DNS__ (from NAME_SERVICE_HOST)", DefaultValueFactory = _ => "kube-dns" };
        var healthPort = new Option<int>("-health-port") { Description = "Port of the health plugin (its probe skips conntrack)", DefaultValueFactory = _ => 8080 };
        var skipTeardown = new Option<bool>("-skipteardown") { Description = "Leave interface and rules in place on exit" };
        var quiet = new Option<bool>("-quiet") { Description = "Do not print the start-up banner" };
        var command = new Command("nodelocal", "Run as NodeLocal DNSCache's node agent and cache (k8s-dns-node-cache's flags)")
        {
            localIp, setupInterface, setupIptables, interfaceName, syncInterval, baseCorefile, upstreamService, healthPort, skipTeardown, quiet,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            foreach (var token in result.UnmatchedTokens)
            {
                // Go's flag package, as node-cache parses its flags: an unknown flag is a usage error (exit 2).
                await Console.Error.WriteLineAsync(token.StartsWith('-') ? $"flag provided but not defined: {token}" : $"extra command line arguments: [{token}]").ConfigureAwait(false);
                return 2;
            }
            if (!NodeLocalOptions.TryParseLocalIps(result.GetValue(localIp)!, out var ips, out var error)
                || !NodeLocalOptions.TryParseInterval(result.GetValue(syncInterval)!, out var interval, out error))
            {
                await Console.Error.WriteLineAsync($"Error parsing flags - {error}, Exiting").ConfigureAwait(false);
                return 1;
            }
            var health = result.GetValue(healthPort);
            if (health is <= 0 or > 65535)
            {
                await Console.Error.WriteLineAsync($"Error parsing flags - invalid healthcheck port specified - \"{health}\", Exiting").ConfigureAwait(false);
                return 1;
            }
            return await RunAsync(new NodeLocalOptions
            {
                LocalIps = ips,
                LocalIpText = result.GetValue(localIp)!,
                LocalPort = result.GetValue(port),
                HealthPort = health,
                SetupInterface = result.GetValue(setupInterface),
                SetupIptables = result.GetValue(setupIptables),
                InterfaceName = result.GetValue(interfaceName)!,
                SyncInterval = interval,
                SkipTeardown = result.GetValue(skipTeardown),
                Conf = result.GetValue(conf) ?? "/etc/Corefile",
                BaseCorefile = result.GetValue(baseCorefile),
                UpstreamService = result.GetValue(upstreamService)!,
                Quiet = result.GetValue(quiet),
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(NodeLocalOptions options)
    {
        var provider = new CoreDnsLoggerProvider(Console.Out);
        using var loggerFactory = LoggerFactory.Create(builder => builder.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(provider));
        var logger = loggerFactory.CreateLogger("nodelocal");
        var network = new NodeNetwork(options, logger);
        string? renderedFrom = null;
        try
        {
            renderedFrom = await RenderCorefileAsync(options, null, logger).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            provider.Flush();
            await Console.Error.WriteLineAsync($"nodelocal: {exception.Message}").ConfigureAwait(false);
            return 1;
        }

        if (options.SetupInterface)
        {
            await network.EnsureInterfaceAsync(CancellationToken.None).ConfigureAwait(false);
        }
        await using var app = new ClusterDnsApp(new AppOptions { Conf = options.Conf, DnsPort = options.LocalPort, Quiet = options.Quiet }, loggerFactory);
        app.Services.SetMinimumLogLevel = level => provider.MinimumLevel = level;
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is CorefileException or ConfigException or SocketException or IOException)
        {
            // Nothing diverted yet (the rules come after a successful start): remove the interface we made.
            if (!options.SkipTeardown)
            {
                await network.TeardownAsync(options.SetupInterface, rulesToo: false).ConfigureAwait(false);
            }
            provider.Flush();
            await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
            return 1;
        }

        using var stopSync = new CancellationTokenSource();
        if (options.SetupIptables)
        {
            await network.EnsureRulesAsync(CancellationToken.None).ConfigureAwait(false);
        }
        LogReady(logger, options.LocalIpText, options.InterfaceName, options.SyncInterval);
        var sync = SyncLoopAsync(options, network, renderedFrom, logger, stopSync.Token);

        var stop = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var interrupts = 0;
        void OnStop(PosixSignalContext context)
        {
            context.Cancel = true;
            if (context.Signal == PosixSignal.SIGINT && Interlocked.Increment(ref interrupts) > 1)
            {
                Environment.Exit(2);
            }
            stop.TrySetResult(0);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => context.Cancel = true);
        var code = await stop.Task.ConfigureAwait(false);
        await stopSync.CancelAsync().ConfigureAwait(false);
        try
        {
            await sync.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the loop ends here
        }
        await app.StopAsync().ConfigureAwait(false);
        if (!options.SkipTeardown)
        {
            await network.TeardownAsync(options.SetupInterface, options.SetupIptables).ConfigureAwait(false);
        }
        provider.Flush();
        return code;
    }

    /// <summary>node-cache's runPeriodic: every interval, rules and interface are made whole again; a changed
    /// template (the ConfigMap was edited) is rendered again, for the <c>reload</c> plugin to pick up.</summary>
    private static async Task SyncLoopAsync(NodeLocalOptions options, NodeNetwork network, string? renderedFrom, ILogger logger, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.SyncInterval);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            if (options.SetupIptables)
            {
                await network.EnsureRulesAsync(cancellationToken).ConfigureAwait(false);
            }
            if (options.SetupInterface)
            {
                await network.EnsureInterfaceAsync(cancellationToken).ConfigureAwait(false);
            }
            try
            {
                renderedFrom = await RenderCorefileAsync(options, renderedFrom, logger).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                LogTemplateFailed(logger, exception.Message);
            }
        }
    }

    /// <summary>Renders <c>-basecorefile</c> into <c>-conf</c> when it differs from <paramref name="previous"/>; returns the template read.</summary>
    private static async Task<string?> RenderCorefileAsync(NodeLocalOptions options, string? previous, ILogger logger)
    {
        if (options.BaseCorefile is null)
        {
            return null;
        }
        var template = await File.ReadAllTextAsync(options.BaseCorefile).ConfigureAwait(false);
        if (template == previous)
        {
            return previous;
        }
        var corefile = CorefileTemplate.Render(template, options, Environment.GetEnvironmentVariable);
        var temporary = options.Conf + ".tmp";
        await File.WriteAllTextAsync(temporary, corefile).ConfigureAwait(false);
        File.Move(temporary, options.Conf, overwrite: true);
        LogRendered(logger, options.BaseCorefile, options.Conf);
        return template;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rendered {Template} into {Conf}")]
    private static partial void LogRendered(ILogger logger, string template, string conf);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed to render the Corefile template: {Reason}")]
    private static partial void LogTemplateFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "nodelocal: serving on {LocalIps} (interface {Interface}), checking interface and iptables rules every {Interval}")]
    private static partial void LogReady(ILogger logger, string localIps, string @interface, TimeSpan interval);
}
