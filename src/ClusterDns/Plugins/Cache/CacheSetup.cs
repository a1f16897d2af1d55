using System.Globalization;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Forward;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Cache;

/// <summary>The parsed <c>cache</c> directive with CoreDNS's defaults.</summary>
internal sealed class CacheOptions
{
    public IReadOnlyList<string> Zones { get; set; } = ["."];

    public int SuccessCapacity { get; set; } = 10000;

    public int DenialCapacity { get; set; } = 10000;

    public TimeSpan SuccessMaxTtl { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan SuccessMinTtl { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan DenialMaxTtl { get; set; } = TimeSpan.FromMinutes(30);

    public TimeSpan DenialMinTtl { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan ServFailTtl { get; set; } = TimeSpan.FromSeconds(5);

    public int Prefetch { get; set; }

    public TimeSpan PrefetchDuration { get; set; } = TimeSpan.FromMinutes(1);

    public int PrefetchPercentage { get; set; } = 10;

    public TimeSpan StaleUpTo { get; set; }

    public bool VerifyStale { get; set; }

    public IReadOnlyList<string> SuccessExcept { get; set; } = [];

    public IReadOnlyList<string> DenialExcept { get; set; } = [];

    public bool KeepTtl { get; set; }
}

/// <summary>Registers <c>cache</c> and parses <c>cache [TTL] [ZONES...] { ... }</c> as CoreDNS's cacheParse does, error texts included.</summary>
internal static class CacheSetup
{
    public static PluginDescriptor Descriptor { get; } = new("cache", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser, context.Zones);
        return [new CachePlugin(options, context.ListenerAddress, TimeProvider.System, context.LoggerFactory.CreateLogger("plugin/cache"))];
    }

    public static CacheOptions Parse(Dispenser d, IReadOnlyList<string> blockZones)
    {
        var options = new CacheOptions();
        var seen = false;
        while (d.Next())
        {
            if (seen)
            {
                throw new ConfigException("this plugin can only be used once per Server Block");
            }
            seen = true;
            var args = new List<string>(d.RemainingArgs());
            if (args.Count > 0 && int.TryParse(args[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ttl))
            {
                if (ttl <= 0)
                {
                    throw new ConfigException($"cache TTL can not be zero or negative: {ttl}");
                }
                options.SuccessMaxTtl = options.DenialMaxTtl = TimeSpan.FromSeconds(ttl);
                args.RemoveAt(0);
            }
            var origins = args.Count > 0 ? ZoneNames.Normalize(args) : blockZones;
            while (d.NextBlock())
            {
                var property = d.Val;
                var values = d.RemainingArgs();
                switch (property)
                {
                    case "success":
                    case "denial":
                        ParseCapacity(d, options, property == "success", values);
                        break;
                    case "prefetch":
                        ParsePrefetch(d, options, values);
                        break;
                    case "serve_stale":
                        if (values.Count > 2)
                        {
                            throw d.ArgErr();
                        }
                        options.StaleUpTo = TimeSpan.FromHours(1);
                        if (values.Count > 0)
                        {
                            var stale = GoDuration.Parse(values[0]);
                            if (stale < TimeSpan.Zero)
                            {
                                throw new ConfigException("invalid negative duration for serve_stale");
                            }
                            options.StaleUpTo = stale;
                        }
                        options.VerifyStale = false;
                        if (values.Count > 1)
                        {
                            var mode = values[1].ToLowerInvariant();
                            if (mode is not ("immediate" or "verify"))
                            {
                                throw new ConfigException($"invalid value for serve_stale refresh mode: {mode}");
                            }
                            options.VerifyStale = mode == "verify";
                        }
                        break;
                    case "servfail":
                        if (values.Count != 1)
                        {
                            throw d.ArgErr();
                        }
                        var servfail = GoDuration.Parse(values[0]);
                        if (servfail < TimeSpan.Zero)
                        {
                            throw new ConfigException("invalid negative ttl for servfail");
                        }
                        if (servfail > TimeSpan.FromMinutes(5))
                        {
                            throw new ConfigException("caching SERVFAIL responses over 5 minutes is not permitted");
                        }
                        options.ServFailTtl = servfail;
                        break;
                    case "disable":
                        if (values.Count < 1)
                        {
                            throw d.ArgErr();
                        }
                        var zones = values.Count > 1 ? ZoneNames.Normalize(values.Skip(1)) : origins;
                        switch (values[0])
                        {
                            case "success":
                                options.SuccessExcept = zones;
                                break;
                            case "denial":
                                options.DenialExcept = zones;
                                break;
                            default:
                                throw new ConfigException("cache type for disable must be \"success\" or \"denial\"");
                        }
                        break;
                    case "keepttl":
                        if (values.Count != 0)
                        {
                            throw d.ArgErr();
                        }
                        options.KeepTtl = true;
                        break;
                    default:
                        throw d.ArgErr();
                }
            }
            options.Zones = origins;
        }
        return options;
    }

    private static void ParseCapacity(Dispenser d, CacheOptions options, bool success, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            throw d.ArgErr();
        }
        var capacity = GoStrconv.Atoi(values[0]);
        if (success)
        {
            options.SuccessCapacity = capacity;
        }
        else
        {
            options.DenialCapacity = capacity;
        }
        if (values.Count > 1)
        {
            var ttl = GoStrconv.Atoi(values[1]);
            if (ttl <= 0)
            {
                throw new ConfigException($"cache TTL can not be zero or negative: {ttl}");
            }
            if (success)
            {
                options.SuccessMaxTtl = TimeSpan.FromSeconds(ttl);
            }
            else
            {
                options.DenialMaxTtl = TimeSpan.FromSeconds(ttl);
            }
            if (values.Count > 2)
            {
                var min = GoStrconv.Atoi(values[2]);
                if (min < 0)
                {
                    throw new ConfigException($"cache min TTL can not be negative: {min}");
                }
                if (success)
                {
                    options.SuccessMinTtl = TimeSpan.FromSeconds(min);
                }
                else
                {
                    options.DenialMinTtl = TimeSpan.FromSeconds(min);
                }
            }
        }
    }

    private static void ParsePrefetch(Dispenser d, CacheOptions options, IReadOnlyList<string> values)
    {
        if (values.Count is 0 or > 3)
        {
            throw d.ArgErr();
        }
        var amount = GoStrconv.Atoi(values[0]);
        if (amount < 0)
        {
            throw new ConfigException($"prefetch amount should be positive: {amount}");
        }
        options.Prefetch = amount;
        if (values.Count > 1)
        {
            options.PrefetchDuration = GoDuration.Parse(values[1]);
        }
        if (values.Count > 2)
        {
            var pct = values[2];
            if (pct.Length == 0 || pct[^1] != '%')
            {
                throw new ConfigException($"last character of percentage should be `%`, but is: '{(pct.Length == 0 ? ' ' : pct[^1])}'");
            }
            var number = GoStrconv.Atoi(pct[..^1]);
            if (number < 10 || number > 90)
            {
                throw new ConfigException($"percentage should fall in range [10, 90]: {number}");
            }
            options.PrefetchPercentage = number;
        }
    }
}
