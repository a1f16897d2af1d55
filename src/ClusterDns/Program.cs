using System.CommandLine;
using System.Runtime.InteropServices;
using ClusterDns.Corefile;
using ClusterDns.Logging;
using ClusterDns.Plugins;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tools;
using Microsoft.Extensions.Logging;

namespace ClusterDns;

internal static partial class Program
{
    private static int Main(string[] args)
    {
        var conf = new Option<string?>("-conf") { Recursive = true, Description = "Corefile to load (default: ./Corefile; 'stdin' reads standard input)" };
        var port = new Option<int>("-dns.port", "-p") { Recursive = true, Description = "Default port for server blocks without one", DefaultValueFactory = _ => 53 };
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
                // Go's flag package: an unknown flag is a usage error (exit 2); stray words are fatal (exit 1).
                foreach (var token in result.UnmatchedTokens)
                {
                    if (token.StartsWith('-') && token.Length > 1)
                    {
                        Console.Error.WriteLine($"flag provided but not defined: {token}");
                        return Task.FromResult(2);
                    }
                }
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
        root.Subcommands.Add(BuildExplainCommand(conf, port));
        root.Subcommands.Add(BuildCheckCommand(conf, port));
        root.Subcommands.Add(NodeLocal.NodeLocalCommand.Build(conf, port));
        var config = new InvocationConfiguration { ProcessTerminationTimeout = null };
        return root.Parse(args).Invoke(config);
    }

    private static Command BuildExplainCommand(Option<string?> conf, Option<int> port)
    {
        var name = new Argument<string>("NAME") { Description = "The name as an application would look it up, e.g. web or web.prod" };
        var type = new Argument<string>("TYPE") { Description = "Query type", DefaultValueFactory = _ => "A" };
        var ns = new Option<string>("-namespace", "-n") { Description = "Namespace of the asking pod (its search list)", DefaultValueFactory = _ => "default" };
        var ndots = new Option<int>("-ndots") { Description = "resolv.conf ndots", DefaultValueFactory = _ => 5 };
        var search = new Option<string?>("-search") { Description = "Search list to use instead of the pod's (space separated)" };
        var command = new Command("explain", "Show how a pod's resolver would look NAME up through this Corefile, and why it fails")
        {
            name, type, ns, ndots, search,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!DnsMnemonics.TryParseType(result.GetValue(type)!, out var qtype))
            {
                await Console.Error.WriteLineAsync($"unknown type: {result.GetValue(type)}").ConfigureAwait(false);
                return 2;
            }
            using var loggerFactory = LoggerFactory.Create(builder => builder.ClearProviders()
                .AddProvider(new CoreDnsLoggerProvider(Console.Error, LogLevel.Warning)));
            var searchText = result.GetValue(search);
            try
            {
                return await ExplainCommand.RunAsync(new ExplainOptions
                {
                    Name = result.GetValue(name)!,
                    Type = qtype,
                    Namespace = result.GetValue(ns)!,
                    Ndots = result.GetValue(ndots),
                    Search = searchText is null ? null : searchText.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                    App = new AppOptions { Conf = result.GetValue(conf), DnsPort = result.GetValue(port), Quiet = true },
                }, loggerFactory, Console.Out).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is CorefileException or ConfigException)
            {
                await Console.Error.WriteLineAsync(exception.Message).ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }

    private static Command BuildCheckCommand(Option<string?> conf, Option<int> port)
    {
        var configMap = new Option<string?>("--configmap") { Description = "Check data.Corefile of a ConfigMap as 'kubectl get cm coredns -n kube-system -o yaml' prints it" };
        var command = new Command("check", "Build the Corefile without serving and report every problem with its file and line") { configMap };
        command.SetAction(async (result, cancellationToken) =>
        {
            using var loggerFactory = LoggerFactory.Create(builder => builder.ClearProviders()
                .AddProvider(new CoreDnsLoggerProvider(Console.Error, LogLevel.Warning)));
            return await CheckCommand.RunAsync(new CheckOptions
            {
                Conf = result.GetValue(conf),
                ConfigMap = result.GetValue(configMap),
                DnsPort = result.GetValue(port),
            }, loggerFactory, Console.Out, Console.Error).ConfigureAwait(false);
        });
        return command;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "SIGUSR1: Reloading")]
    private static partial void LogSignalReload(ILogger logger);
}
