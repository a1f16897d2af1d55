using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.NodeLocal;

/// <summary>One iptables rule as node-cache installs it: table, chain, match and target.</summary>
internal sealed record IptablesRule(bool V6, string Table, string Chain, string[] Args)
{
    public string Binary => V6 ? "ip6tables" : "iptables";

    public override string ToString() => $"{Binary} -t {Table} {Chain} {string.Join(' ', Args)}";
}

/// <summary>
/// The node agent's share of NodeLocal DNSCache (node-cache's cache_app.go and pkg/netif), done with the host's
/// <c>ip</c> and <c>iptables</c>: a dummy interface holding the listen addresses (/32), the raw-table NOTRACK and
/// filter-table ACCEPT rules for DNS to and from them, re-checked every sync interval and re-added when missing,
/// and all of it removed on exit.
/// </summary>
internal sealed partial class NodeNetwork(NodeLocalOptions options, ILogger logger)
{
    /// <summary>node-cache's <c>coredns_nodecache_setup_errors_total{errortype}</c>.</summary>
    private static readonly Counter SetupErrors = PromMetrics.CreateCounter("coredns_nodecache_setup_errors_total",
        "The number of errors during periodic network setup for node-cache", ["errortype"]);

    /// <summary>Link types tried in order: dummy as node-cache creates, then a port-less bridge for kernels built without the dummy driver.</summary>
    private static readonly string[] LinkTypes = ["dummy", "bridge"];

    public IReadOnlyList<IptablesRule> Rules { get; } = BuildRules(options);

    /// <summary>The link type the interface was created with (null until created here).</summary>
    public string? LinkType { get; private set; }

    /// <summary>The rules of cache_app.go's initIptables, for every local IP, in its order (each is prepended).</summary>
    public static List<IptablesRule> BuildRules(NodeLocalOptions options)
    {
        var port = options.LocalPort.ToString(CultureInfo.InvariantCulture);
        var health = options.HealthPort.ToString(CultureInfo.InvariantCulture);
        var rules = new List<IptablesRule>();
        foreach (var address in options.LocalIps)
        {
            var ip = address.ToString();
            var v6 = NodeLocalOptions.IsV6(address);
            foreach (var proto in new[] { "tcp", "udp" })
            {
                // Queries to the local IP skip connection tracking; the filter table accepts them (no ESTABLISHED state).
                rules.Add(new(v6, "raw", "PREROUTING", ["-p", proto, "-d", ip, "--dport", port, "-j", "NOTRACK"]));
            }
            foreach (var proto in new[] { "tcp", "udp" })
            {
                rules.Add(new(v6, "filter", "INPUT", ["-p", proto, "-d", ip, "--dport", port, "-j", "ACCEPT"]));
            }
            foreach (var proto in new[] { "tcp", "udp" })
            {
                // Answers from the local IP.
                rules.Add(new(v6, "raw", "OUTPUT", ["-p", proto, "-s", ip, "--sport", port, "-j", "NOTRACK"]));
            }
            foreach (var proto in new[] { "tcp", "udp" })
            {
                rules.Add(new(v6, "filter", "OUTPUT", ["-p", proto, "-s", ip, "--sport", port, "-j", "ACCEPT"]));
            }
            foreach (var proto in new[] { "tcp", "udp" })
            {
                // Queries generated on the node itself (hostNetwork pods).
                rules.Add(new(v6, "raw", "OUTPUT", ["-p", proto, "-d", ip, "--dport", port, "-j", "NOTRACK"]));
            }
            // The liveness probe to the health plugin.
            rules.Add(new(v6, "raw", "OUTPUT", ["-p", "tcp", "-d", ip, "--dport", health, "-j", "NOTRACK"]));
            rules.Add(new(v6, "raw", "OUTPUT", ["-p", "tcp", "-s", ip, "--sport", health, "-j", "NOTRACK"]));
        }
        return rules;
    }

    /// <summary>The interface exists and holds every local IP: created when missing, missing addresses re-added.</summary>
    public async Task EnsureInterfaceAsync(CancellationToken cancellationToken)
    {
        var name = options.InterfaceName;
        var show = await HostCommand.RunAsync("ip", ["-o", "addr", "show", "dev", name], cancellationToken).ConfigureAwait(false);
        if (!show.Succeeded)
        {
            if (!await AddLinkAsync(name, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            show = new HostCommandResult(0, string.Empty, string.Empty);
        }
        foreach (var address in options.LocalIps)
        {
            var prefix = NodeLocalOptions.IsV6(address) ? "/128" : "/32";
            if (show.Stdout.Contains(" " + address + prefix + " ", StringComparison.Ordinal))
            {
                continue;
            }
            var add = await HostCommand.RunAsync("ip", ["addr", "add", address + prefix, "dev", name], cancellationToken).ConfigureAwait(false);
            if (add.Succeeded)
            {
                LogAddedAddress(logger, address.ToString(), name);
            }
            else if (!add.Stderr.Contains("exists", StringComparison.OrdinalIgnoreCase) && !add.Stderr.Contains("already assigned", StringComparison.OrdinalIgnoreCase))
            {
                LogError(logger, $"Error adding address {address}{prefix} to interface {name} - {add}");
                SetupErrors.WithLabels("interface_check").Inc();
            }
        }
    }

    private async Task<bool> AddLinkAsync(string name, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var type in LinkTypes)
        {
            var add = await HostCommand.RunAsync("ip", ["link", "add", name, "type", type], cancellationToken).ConfigureAwait(false);
            if (add.Succeeded)
            {
                LinkType = type;
                if (type != LinkTypes[0])
                {
                    LogFallbackLink(logger, name, type, failures[0]);
                }
                LogAddedInterface(logger, name);
                return true;
            }
            failures.Add(add.ToString());
        }
        LogError(logger, $"Failed to add non-existent interface {name}: {string.Join("; ", failures)}");
        SetupErrors.WithLabels("interface_add").Inc();
        return false;
    }

    /// <summary>Every rule is present: checked with <c>-C</c>, prepended with <c>-I</c> when missing (utiliptables' EnsureRule).</summary>
    public async Task EnsureRulesAsync(CancellationToken cancellationToken)
    {
        foreach (var rule in Rules)
        {
            var check = await IptablesAsync(rule, "-C", cancellationToken).ConfigureAwait(false);
            if (check.Succeeded)
            {
                continue;
            }
            var insert = check.ExitCode == 1 && !IsLocked(check)
                ? await IptablesAsync(rule, "-I", cancellationToken).ConfigureAwait(false)
                : check;
            if (insert.Succeeded)
            {
                LogAddedRule(logger, rule.ToString());
            }
            else if (IsLocked(insert))
            {
                LogLocked(logger, rule.ToString(), options.SyncInterval);
                SetupErrors.WithLabels("iptables_lock").Inc();
            }
            else
            {
                LogError(logger, $"Error adding iptables rule {rule} - {insert}");
                SetupErrors.WithLabels("iptables").Inc();
            }
        }
    }

    /// <summary>Removes every copy of every rule, then the interface (node-cache's TeardownNetworking).</summary>
    public async Task TeardownAsync(bool interfaceToo, bool rulesToo)
    {
        LogTearingDown(logger);
        if (interfaceToo)
        {
            var delete = await HostCommand.RunAsync("ip", ["link", "del", options.InterfaceName]).ConfigureAwait(false);
            if (!delete.Succeeded)
            {
                LogError(logger, $"Error removing interface {options.InterfaceName} - {delete}");
            }
        }
        if (rulesToo)
        {
            foreach (var rule in Rules)
            {
                // Bounded: a rule added twice (by another agent) is deleted as often as it is there.
                for (var i = 0; i < 32; i++)
                {
                    if (!(await IptablesAsync(rule, "-D", CancellationToken.None).ConfigureAwait(false)).Succeeded)
                    {
                        break;
                    }
                }
            }
        }
    }

    private static Task<HostCommandResult> IptablesAsync(IptablesRule rule, string operation, CancellationToken cancellationToken)
    {
        // -w 5: wait up to 5 s for the xtables lock that kube-proxy and the CNI also take.
        var arguments = new List<string>(rule.Args.Length + 6) { "-w", "5", "-t", rule.Table, operation, rule.Chain };
        arguments.AddRange(rule.Args);
        return HostCommand.RunAsync(rule.Binary, arguments, cancellationToken);
    }

    private static bool IsLocked(HostCommandResult result) =>
        result.Stderr.Contains("holding the xtables lock", StringComparison.Ordinal) || result.Stderr.Contains("xtables lock", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Added interface - {Name}")]
    private static partial void LogAddedInterface(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interface {Name} created as type {Type}: this kernel has no dummy driver ({Reason})")]
    private static partial void LogFallbackLink(ILogger logger, string name, string type, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Added address {Address} to interface {Name}")]
    private static partial void LogAddedAddress(ILogger logger, string address, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Added back nodelocaldns rule - {Rule}")]
    private static partial void LogAddedRule(ILogger logger, string rule);

    [LoggerMessage(Level = LogLevel.Information, Message = "Error checking/adding iptables rule {Rule}, due to xtables lock in use, retrying in {Interval}")]
    private static partial void LogLocked(ILogger logger, string rule, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    private static partial void LogError(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tearing down")]
    private static partial void LogTearingDown(ILogger logger);
}
