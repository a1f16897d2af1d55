using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Forward;

/// <summary>One parsed <c>forward</c> stanza with CoreDNS's defaults.</summary>
internal sealed class ForwardOptions
{
    public string From { get; set; } = ".";

    public List<string> Except { get; } = [];

    public List<string> To { get; } = [];

    public bool ForceTcp { get; set; }

    public bool PreferUdp { get; set; }

    public TimeSpan Expire { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxFails { get; set; } = 2;

    public ForwardPolicy Policy { get; set; } = ForwardPolicy.Random;

    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public bool HealthCheckRecursionDesired { get; set; } = true;

    public string HealthCheckDomain { get; set; } = ".";

    public long MaxConcurrent { get; set; }

    public string MaxConcurrentText { get; set; } = "0";

    public DnsRcode[] NextRcodes { get; set; } = [];

    public DnsRcode[] FailoverRcodes { get; set; } = [];

    public bool FailFast { get; set; }

    public int MaxIdleConns { get; set; }

    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public int MaxConnectAttempts { get; set; }

    public IReadOnlyList<string>? TlsArgs { get; set; }

    /// <summary>Client certificate and roots loaded from <see cref="TlsArgs"/> when the <c>tls</c> line was parsed.</summary>
    public UpstreamTls? TlsConfig { get; set; }

    public string? TlsServerName { get; set; }
}

/// <summary>Parses <c>forward FROM TO... { ... }</c> as CoreDNS's parseStanza/parseBlock do (error texts included).</summary>
internal static partial class ForwardSetup
{
    public static PluginDescriptor Descriptor { get; } = new("forward", Setup, OncePerBlock: false);

    /// <summary>CoreDNS's limit on TOs per stanza.</summary>
    private const int MaxUpstreams = 15;

    public static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var logger = context.LoggerFactory.CreateLogger("plugin/forward");
        var plugins = new List<DnsPlugin>();
        var d = context.Dispenser;
        while (d.Next())
        {
            var options = ParseStanza(d, context.ResolvePath, logger);
            var plugin = new ForwardPlugin(options, BuildUpstreams(options, context.ResolvePath, logger), logger);
            context.AddLifecycle(plugin);
            plugins.Add(plugin);
        }
        context.AllowAnyClass();
        return plugins;
    }

    internal static ForwardOptions ParseStanza(Dispenser d, Func<string, string> resolvePath, ILogger logger)
    {
        var options = new ForwardOptions();
        if (!d.NextArg())
        {
            throw d.ArgErr();
        }
        var from = d.Val;
        var zones = ZoneNames.Normalize([from]);
        if (zones.Count == 0)
        {
            throw new ConfigException($"unable to normalize '{from}'");
        }
        options.From = zones[0];
        if (zones.Count > 1)
        {
            LogCidrWarning(logger, from, zones[0]);
        }
        var to = d.RemainingArgs();
        if (to.Count == 0)
        {
            throw d.ArgErr();
        }
        options.To.AddRange(HostPortOrFile(to, resolvePath));
        if (options.To.Count > MaxUpstreams)
        {
            throw new ConfigException($"more than {MaxUpstreams} TOs configured: {options.To.Count}");
        }
        while (d.NextBlock())
        {
            ParseProperty(d, options, resolvePath);
        }
        return options;
    }

    private static void ParseProperty(Dispenser d, ForwardOptions options, Func<string, string> resolvePath)
    {
        var property = d.Val;
        switch (property)
        {
            case "except":
                var ignore = d.RemainingArgs();
                if (ignore.Count == 0)
                {
                    throw d.ArgErr();
                }
                foreach (var name in ignore)
                {
                    options.Except.AddRange(ZoneNames.Normalize([name]));
                }
                break;
            case "max_fails":
                options.MaxFails = ParseCount(OneArg(d));
                break;
            case "max_connect_attempts":
                options.MaxConnectAttempts = ParseCount(OneArg(d));
                break;
            case "health_check":
                var interval = GoDuration.Parse(OneArgKeepLine(d));
                if (interval < TimeSpan.Zero)
                {
                    throw new ConfigException($"health_check can't be negative: {interval.Ticks * 100}");
                }
                options.HealthCheckInterval = interval;
                options.HealthCheckDomain = ".";
                while (d.NextArg())
                {
                    switch (d.Val)
                    {
                        case "no_rec":
                            options.HealthCheckRecursionDesired = false;
                            break;
                        case "domain":
                            if (!d.NextArg())
                            {
                                throw d.ArgErr();
                            }
                            if (!ZoneNames.TryNormalizeZone(d.Val, out var domain))
                            {
                                throw new ConfigException($"health_check: invalid domain name {d.Val}");
                            }
                            options.HealthCheckDomain = domain;
                            break;
                        default:
                            throw new ConfigException($"health_check: unknown option {d.Val}");
                    }
                }
                break;
            case "force_tcp":
                NoArgs(d);
                options.ForceTcp = true;
                break;
            case "prefer_udp":
                NoArgs(d);
                options.PreferUdp = true;
                break;
            case "tls":
                var tls = d.RemainingArgs();
                if (tls.Count > 3)
                {
                    throw d.ArgErr();
                }
                options.TlsArgs = tls;
                // Loaded (and its errors reported) here, like CoreDNS's pkgtls.NewTLSConfigFromArgs in parseBlock,
                // whether or not a TO uses tls://.
                options.TlsConfig = LoadTls(tls, resolvePath);
                break;
            case "tls_servername":
                options.TlsServerName = OneArg(d);
                break;
            case "expire":
                var expire = GoDuration.Parse(OneArg(d));
                if (expire < TimeSpan.Zero)
                {
                    throw new ConfigException($"expire can't be negative: {d.Val}");
                }
                options.Expire = expire;
                break;
            case "read_timeout":
                var read = GoDuration.Parse(OneArg(d));
                if (read <= TimeSpan.Zero)
                {
                    throw new ConfigException($"read_timeout must be positive: {d.Val}");
                }
                options.ReadTimeout = read;
                break;
            case "policy":
                options.Policy = OneArg(d) switch
                {
                    "random" => ForwardPolicy.Random,
                    "round_robin" => ForwardPolicy.RoundRobin,
                    "sequential" => ForwardPolicy.Sequential,
                    var unknown => throw d.Err($"unknown policy '{unknown}'"),
                };
                break;
            case "max_concurrent":
                var text = OneArg(d);
                var max = GoStrconv.Atoi(text);
                if (max < 0)
                {
                    throw new ConfigException($"max_concurrent can't be negative: {max}");
                }
                options.MaxConcurrent = max;
                options.MaxConcurrentText = text;
                break;
            case "next":
                options.NextRcodes = ParseRcodes(d, allowNoError: true);
                break;
            case "failover":
                options.FailoverRcodes = ParseRcodes(d, allowNoError: false);
                break;
            case "failfast_all_unhealthy_upstreams":
                NoArgs(d);
                options.FailFast = true;
                break;
            case "max_idle_conns":
                var idle = OneArg(d);
                var conns = GoStrconv.Atoi(idle);
                if (conns < 0)
                {
                    throw new ConfigException($"max_idle_conns can't be negative: {conns}");
                }
                options.MaxIdleConns = conns;
                break;
            default:
                throw d.Err($"unknown property '{property}'");
        }
    }

    private static DnsRcode[] ParseRcodes(Dispenser d, bool allowNoError)
    {
        var args = d.RemainingArgs();
        if (args.Count == 0)
        {
            throw d.ArgErr();
        }
        var codes = new DnsRcode[args.Count];
        for (var i = 0; i < args.Count; i++)
        {
            // dns.StringToRcode: mnemonics only, no numbers.
            if (args[i].Length == 0 || char.IsAsciiDigit(args[i][0]) || !DnsMnemonics.TryParseRcode(args[i], out codes[i]))
            {
                throw new ConfigException($"{args[i]} is not a valid rcode");
            }
            if (!allowNoError && codes[i] == DnsRcode.NoError)
            {
                throw new ConfigException("NoError cannot be used in failover");
            }
        }
        return codes;
    }

    private static string OneArg(Dispenser d)
    {
        if (!d.NextArg())
        {
            throw d.ArgErr();
        }
        var value = d.Val;
        if (d.NextArg())
        {
            throw d.ArgErr();
        }
        return value;
    }

    private static string OneArgKeepLine(Dispenser d) => d.NextArg() ? d.Val : throw d.ArgErr();

    private static void NoArgs(Dispenser d)
    {
        if (d.NextArg())
        {
            throw d.ArgErr();
        }
    }

    /// <summary>A Go uint32 count held in an int: values past int.MaxValue mean "unbounded" all the same, and must not
    /// wrap negative (a negative max_connect_attempts would fail every query).</summary>
    private static int ParseCount(string text) => (int)Math.Min(ParseUint(text), int.MaxValue);

    private static uint ParseUint(string text) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ConfigException($"strconv.ParseUint: parsing \"{text}\": invalid syntax");

    /// <summary>parse.HostPortOrFile: IPs get the default port of their transport; anything else must be a resolv.conf file.</summary>
    internal static List<string> HostPortOrFile(IReadOnlyList<string> args, Func<string, string> resolvePath)
    {
        var servers = new List<string>();
        foreach (var arg in args)
        {
            var (transport, host) = SplitTransport(arg);
            if (host.Length == 0)
            {
                throw new ConfigException($"invalid address: \"{arg}\"");
            }
            if (transport is not ("dns" or "tls"))
            {
                throw new ConfigException($"'{transport}' is not supported as a destination protocol in forward: {arg}");
            }
            var sni = string.Empty;
            var address = host;
            if (transport == "tls" && host.IndexOf('%') is var percent and >= 0 && !host.StartsWith('['))
            {
                sni = host[percent..];
                address = host[..percent];
            }
            if (GoNet.TrySplitHostPort(address, out var ip, out var port))
            {
                if (!IsIp(ip))
                {
                    servers.AddRange(FromFile(host, resolvePath));
                    continue;
                }
                servers.Add(transport == "tls" ? $"tls://{FormatHost(ip)}:{port}{sni}" : $"{FormatHost(ip)}:{port}");
                continue;
            }
            if (!IsIp(address))
            {
                servers.AddRange(FromFile(host, resolvePath));
                continue;
            }
            servers.Add(transport == "tls" ? $"tls://{FormatHost(address)}:853{sni}" : $"{FormatHost(address)}:53");
        }
        if (servers.Count == 0)
        {
            throw new ConfigException("no valid upstream addresses found");
        }
        return servers;
    }

    private static (string Transport, string Host) SplitTransport(string s)
    {
        foreach (var scheme in (ReadOnlySpan<string>)["dns", "tls", "https", "grpc", "quic", "h3"])
        {
            var prefix = scheme + "://";
            if (s.StartsWith(prefix, StringComparison.Ordinal))
            {
                return (scheme, s[prefix.Length..]);
            }
        }
        return ("dns", s);
    }

    private static bool IsIp(string s) => GoNet.TryParseIp(s, out _);

    private static string FormatHost(string ip) => ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip;

    /// <summary>The <c>nameserver</c> lines of a resolv.conf-style file, on port 53.</summary>
    private static List<string> FromFile(string path, Func<string, string> resolvePath)
    {
        var full = resolvePath(path);
        if (!File.Exists(full))
        {
            throw new ConfigException($"not an IP address or file: \"{path}\"");
        }
        var servers = new List<string>();
        foreach (var line in File.ReadLines(full))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || fields[0] != "nameserver" || fields[0].StartsWith('#') || fields[0].StartsWith(';'))
            {
                continue;
            }
            var server = fields[1];
            var zone = server.IndexOf('%');
            if (zone >= 0)
            {
                server = server[..zone];
            }
            if (GoNet.TryParseIp(server, out _))
            {
                servers.Add($"{FormatHost(server)}:53");
            }
        }
        return servers;
    }

    private static Upstream[] BuildUpstreams(ForwardOptions options, Func<string, string> resolvePath, ILogger logger)
    {
        var healthDomain = DnsName.Parse(options.HealthCheckDomain).Wire.ToArray();
        var upstreams = new Upstream[options.To.Count];
        UpstreamTls? sharedTls = null;
        for (var i = 0; i < upstreams.Length; i++)
        {
            var (transport, host) = SplitTransport(options.To[i]);
            string? sni = null;
            var percent = host.IndexOf('%');
            if (transport == "tls" && percent >= 0 && !host.StartsWith('['))
            {
                sni = host[(percent + 1)..];
                host = host[..percent];
            }
            GoNet.TrySplitHostPort(host, out var ip, out var portText);
            if (!ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                throw new ConfigException($"invalid port in address: \"{options.To[i]}\"");
            }
            if (!GoNet.TryParseIp(ip, out var address))
            {
                throw new ConfigException($"not an IP address or file: \"{options.To[i]}\"");
            }
            var endPoint = new IPEndPoint(address, port);
            UpstreamTls? tls = null;
            if (transport == "tls")
            {
                sharedTls ??= new UpstreamTls
                {
                    ServerName = options.TlsServerName,
                    ClientCertificates = options.TlsConfig?.ClientCertificates,
                    Roots = options.TlsConfig?.Roots,
                };
                tls = sni is null ? sharedTls : new UpstreamTls { ServerName = sni, ClientCertificates = sharedTls.ClientCertificates, Roots = sharedTls.Roots };
            }
            upstreams[i] = new Upstream(host, endPoint, tls, logger)
            {
                Expire = options.Expire,
                MaxIdleConns = options.MaxIdleConns,
                ReadTimeout = options.ReadTimeout,
                HealthCheckInterval = options.HealthCheckInterval < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : options.HealthCheckInterval,
                HealthCheckRecursionDesired = options.HealthCheckRecursionDesired,
                HealthCheckDomain = healthDomain,
                HealthCheckTcp = options.ForceTcp && transport != "tls",
            };
        }
        return upstreams;
    }

    /// <summary><c>tls [CERT KEY] [CA]</c>: no args = system roots; one = CA; two = client cert and key; three = both.
    /// Error texts are CoreDNS's pkg/tls ones (<c>error reading CA: open CA: no such file or directory</c>,
    /// <c>could not read root certs: %!s(&lt;nil&gt;)</c>, <c>could not load TLS cert: ...</c>).</summary>
    private static UpstreamTls LoadTls(IReadOnlyList<string> args, Func<string, string> resolvePath)
    {
        X509Certificate2Collection? client = null;
        X509Certificate2Collection? roots = null;
        if (args.Count >= 2)
        {
            string certPem;
            string keyPem;
            try
            {
                certPem = ReadFileGo(args[0], resolvePath);
                keyPem = ReadFileGo(args[1], resolvePath);
            }
            catch (ConfigException exception)
            {
                throw new ConfigException($"could not load TLS cert: {exception.Message}");
            }
            try
            {
                client = [X509Certificate2.CreateFromPem(certPem, keyPem)];
            }
            catch (Exception exception) when (exception is System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new ConfigException($"could not load TLS cert: tls: {exception.Message}");
            }
        }
        if (args.Count is 1 or 3)
        {
            var ca = args[^1];
            string pem;
            try
            {
                pem = ReadFileGo(ca, resolvePath);
            }
            catch (ConfigException exception)
            {
                throw new ConfigException($"error reading {ca}: {exception.Message}");
            }
            roots = [];
            try
            {
                roots.ImportFromPem(pem);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                roots.Clear();
            }
            if (roots.Count == 0)
            {
                // x509.CertPool.AppendCertsFromPEM found no certificate; CoreDNS formats the (nil) read error.
                throw new ConfigException("could not read root certs: %!s(<nil>)");
            }
        }
        return new UpstreamTls { ClientCertificates = client, Roots = roots };
    }

    /// <summary>os.ReadFile with Go's error text (<c>open PATH: no such file or directory</c>) as a ConfigException.</summary>
    private static string ReadFileGo(string path, Func<string, string> resolvePath)
    {
        try
        {
            return File.ReadAllText(resolvePath(path));
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"open {path}: no such file or directory");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ConfigException(Directory.Exists(resolvePath(path)) ? $"read {path}: is a directory" : $"open {path}: permission denied");
        }
        catch (IOException exception)
        {
            throw new ConfigException($"read {path}: {exception.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unsupported CIDR notation: '{From}' expands to multiple zones. Using only '{Zone}'.")]
    private static partial void LogCidrWarning(ILogger logger, string from, string zone);
}
