using System.CommandLine;
using System.Runtime.InteropServices;
using ClusterDns.Corefile;
using ClusterDns.Logging;
using ClusterDns.Plugins;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns;

internal static class Program
{
    private static int Main(string[] args)
    {
        var conf = new Option<string?>("-conf") { Description = "Corefile to load (default: ./Corefile; 'stdin' reads standard input)" };
        var port = new Option<int>("-dns.port", "-p") { Description = "Default port for server blocks without one", DefaultValueFactory = _ => 53 };
        var plugins = new Option<bool>("-plugins") { Description = "List the plugins this build has and exit" };
        var version = new Option<bool>("-version") { Description = "Show the version and exit" };
        var quiet = new Option<bool>("-quiet") { Description = "Do not print the start-up banner" };
        var pidFile = new Option<string?>("-pidfile") { Description = "Write the process id to this file" };
        var root = new RootCommand("ClusterDns: a cluster DNS server for Kubernetes, configured by a CoreDNS Corefile")
        {
            conf, port, plugins, version, quiet, pidFile,
        };
        // Stray words are not a usage error but CoreDNS's fatal "extra command line arguments: [a b]" (exit 1).
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction((result, cancellationToken) =>
        {
            if (result.UnmatchedTokens.Count > 0)
            {
                Console.Error.WriteLine($"extra command line arguments: [{string.Join(' ', result.UnmatchedTokens)}]");
                return Task.FromResult(1);
            }
            if (result.GetValue(version))
            {
                Console.WriteLine($"ClusterDns-{ClusterDnsApp.Version}");
                Console.WriteLine($"{RuntimeInformation.RuntimeIdentifier}, dotnet{Environment.Version}");
                return Task.FromResult(0);
            }
            if (result.GetValue(plugins))
            {
                Console.WriteLine("Server types:\n  dns\n\nPlugins (in execution order):");
                foreach (var name in PluginOrder.Default.Names)
                {
                    if (BuiltinPlugins.All.ContainsKey(name) || name == "bind")
                    {
                        Console.WriteLine($"  dns.{name}");
                    }
                }
                return Task.FromResult(0);
            }
            return RunAsync(new AppOptions
            {
                Conf = result.GetValue(conf),
                DnsPort = result.GetValue(port),
                Quiet = result.GetValue(quiet),
                PidFile = result.GetValue(pidFile),
            });
        });
        var config = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return root.Parse(args).Invoke(config);
    }

    private static async Task<int> RunAsync(AppOptions options)
    {
        var provider = new CoreDnsLoggerProvider(Console.Out);
        using var loggerFactory = LoggerFactory.Create(builder => builder.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(provider));
        var logger = loggerFactory.CreateLogger("clusterdns");
        await using var app = new ClusterDnsApp(options, loggerFactory);
        app.Services.SetMinimumLogLevel = level => provider.MinimumLevel = level;
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is CorefileException or ConfigException)
        {
            provider.Flush();
            await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
            return 1;
        }
        var stop = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var interrupts = 0;
        void OnStop(PosixSignalContext context)
        {
            context.Cancel = true;
            if (context.Signal == PosixSignal.SIGINT && Interlocked.Increment(ref interrupts) > 1)
            {
                Environment.Exit(2); // a second SIGINT force-quits, as CoreDNS does
            }
            stop.TrySetResult(0);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => context.Cancel = true); // ignored, as CoreDNS does
        using var reload = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create((PosixSignal)10 /* SIGUSR1 */, context =>
        {
            context.Cancel = true;
            LogSignalReload(logger);
            _ = app.ReloadAsync();
        });
        var code = await stop.Task.ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        provider.Flush();
        return code;
    }

    private static void LogSignalReload(ILogger logger) => logger.LogInformation("SIGUSR1: Reloading");
}
