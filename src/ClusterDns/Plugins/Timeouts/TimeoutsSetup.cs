using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Timeouts;

/// <summary>
/// Registers <c>timeouts { read D; write D; idle D; maxtcpqueries N }</c>: the TCP read, write and idle timeouts
/// and the queries served per connection of this block's listener, with CoreDNS's bounds and error texts. ClusterDns
/// adds <c>max_connections N</c> and <c>max_connections_per_client N</c>, the listener's connection limits. Setup
/// only: no handler joins the chain.
/// </summary>
public static class TimeoutsSetup
{
    public static PluginDescriptor Descriptor { get; } = new("timeouts", Setup);

    private static readonly TimeSpan Shortest = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Longest = TimeSpan.FromHours(24);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        while (d.Next())
        {
            if (d.RemainingArgs().Count > 0)
            {
                throw new ConfigException("plugin/timeouts: " + d.ArgErr().Message); // CoreDNS wraps this one twice
            }
            var settings = new TcpSettings();
            var options = 0;
            while (d.NextBlock())
            {
                settings = d.Val switch
                {
                    "read" => settings with { Read = Timeout(d) },
                    "write" => settings with { Write = Timeout(d) },
                    "idle" => settings with { Idle = Timeout(d) },
                    "maxtcpqueries" or "max_queries" => settings with { MaxQueries = MaxQueries(d) },
                    "max_connections" => settings with { MaxConnections = Positive(d) },
                    "max_connections_per_client" => settings with { MaxConnectionsPerClient = Positive(d) },
                    _ => throw d.Errf($"unknown option: '{d.Val}'"),
                };
                options++;
            }
            if (options == 0)
            {
                throw new ConfigException("plugin/timeouts: " + d.Err("timeouts block with no timeouts or limits specified").Message);
            }
            context.SetTcpSettings(settings);
        }
        return [];
    }

    /// <summary>A Go duration, or a bare integer taken as seconds (CoreDNS's durations.NewDurationFromArg), from 1s to 24h.</summary>
    private static TimeSpan Timeout(Dispenser d)
    {
        var args = d.RemainingArgs();
        if (args.Count != 1)
        {
            throw d.ArgErr();
        }
        var text = GoStrconv.TryAtoi(args[0], out _) ? args[0] + "s" : args[0];
        if (!GoDuration.TryParse(text, out var timeout))
        {
            throw d.Err("failed to parse duration");
        }
        if (timeout < Shortest || timeout > Longest)
        {
            throw d.Errf($"timeout provided '{GoDuration.Format(timeout)}' needs to be between 1 second and 24 hours");
        }
        return timeout;
    }

    private static int MaxQueries(Dispenser d)
    {
        var args = d.RemainingArgs();
        if (args.Count != 1)
        {
            throw d.ArgErr();
        }
        if (!GoStrconv.TryAtoi(args[0], out var max))
        {
            throw d.Err(GoStrconv.AtoiError(args[0]));
        }
        if (max < -1 || max == 0)
        {
            throw d.Err("maxtcpqueries must be a positive integer or -1 (unlimited)");
        }
        return max;
    }

    private static int Positive(Dispenser d)
    {
        var option = d.Val;
        var args = d.RemainingArgs();
        if (args.Count != 1)
        {
            throw d.ArgErr();
        }
        if (!GoStrconv.TryAtoi(args[0], out var value))
        {
            throw d.Err(GoStrconv.AtoiError(args[0]));
        }
        if (value < 1)
        {
            throw d.Errf($"{option} must be a positive integer");
        }
        return value;
    }
}
