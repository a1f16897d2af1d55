using System.Globalization;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Parses the <c>kubernetes</c> directive (docs/kubernetes-dns.md §6) with CoreDNS's error texts. Dispenser errors carry the
/// <c>FILE:LINE - Error during parsing:</c> prefix; errors CoreDNS raises with plain <c>fmt.Errorf</c> do not.
/// </summary>
public static class KubernetesSetup
{
    public static PluginDescriptor Descriptor { get; } = new("kubernetes", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var options = Parse(context.Dispenser, context.Zones);
        if (options.Snapshot is { } snapshot)
        {
            options = options with { Snapshot = context.ResolvePath(snapshot) };
        }
        var resolver = context.Resolver;
        var plugin = new KubernetesPlugin(options, context.BindAddresses, context.LoggerFactory,
            (name, type, cancellationToken) => resolver(name, type, cancellationToken))
        {
            RequestUpstream = (origin, name, type, cancellationToken) => resolver(name, type, cancellationToken, origin),
        };
        context.AddLifecycle(plugin);
        context.AddReadiness(plugin);
        return [plugin];
    }

    public static KubernetesOptions Parse(Dispenser d, IReadOnlyList<string> serverBlockZones)
    {
        ArgumentNullException.ThrowIfNull(d);
        KubernetesOptions? options = null;
        var count = 0;
        while (d.Next())
        {
            if (count++ > 0)
            {
                throw new CorefileException("this plugin can only be used once per Server Block", d.File, d.Line);
            }
            options = ParseStanza(d, serverBlockZones);
        }
        return options ?? throw new CorefileException("kubernetes: missing directive");
    }

    private static KubernetesOptions ParseStanza(Dispenser d, IReadOnlyList<string> serverBlockZones)
    {
        var args = d.RemainingArgs();
        var zones = Normalize(args.Count > 0 ? args : serverBlockZones, d);
        string? primary = null;
        foreach (var zone in zones)
        {
            if (!KubernetesOptions.IsReverseZone(zone))
            {
                primary = zone;
                break;
            }
        }
        if (primary is null)
        {
            throw new CorefileException("non-reverse zone name must be used", d.File, d.Line);
        }

        var o = new KubernetesOptions { Zones = zones, PrimaryZone = primary };
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        var connection = o.Connection;
        var warnings = new List<string>();
        while (d.NextBlock())
        {
            var property = d.Val;
            switch (property)
            {
                case "endpoint_pod_names":
                    NoArgs(d);
                    o = o with { EndpointPodNames = true };
                    break;
                case "pods":
                {
                    var a = d.RemainingArgs();
                    if (a.Count != 1)
                    {
                        throw d.ArgErr();
                    }
                    var mode = a[0] switch
                    {
                        "disabled" => PodMode.Disabled,
                        "insecure" => PodMode.Insecure,
                        "verified" => PodMode.Verified,
                        _ => throw new CorefileException($"wrong value for pods: {a[0]},  must be one of: disabled, verified, insecure", d.File, d.Line),
                    };
                    o = o with { PodMode = mode };
                    break;
                }
                case "namespaces":
                {
                    var a = AtLeastOne(d);
                    foreach (var ns in a)
                    {
                        namespaces.Add(ns);
                    }
                    break;
                }
                case "endpoint":
                {
                    var a = AtLeastOne(d);
                    if (a.Count > 1)
                    {
                        warnings.Add($"Multiple endpoints have been deprecated, only the first specified endpoint '{a[0]}' is used");
                    }
                    connection = connection with { Endpoint = a[0] };
                    break;
                }
                case "tls":
                {
                    var a = d.RemainingArgs();
                    if (a.Count != 3)
                    {
                        throw d.ArgErr();
                    }
                    connection = connection with { TlsCert = a[0], TlsKey = a[1], TlsCa = a[2] };
                    break;
                }
                case "kubeconfig":
                {
                    var a = d.RemainingArgs();
                    if (a.Count is not (1 or 2))
                    {
                        throw d.ArgErr();
                    }
                    connection = connection with { Kubeconfig = a[0], KubeconfigContext = a.Count == 2 ? a[1] : null };
                    break;
                }
                case "labels":
                {
                    var selector = string.Join(' ', AtLeastOne(d));
                    if (!LabelSelector.TryValidate(selector, out var error))
                    {
                        throw new CorefileException($"unable to parse label selector value: '{selector}': {error}", d.File, d.Line);
                    }
                    o = o with { Labels = selector };
                    break;
                }
                case "namespace_labels":
                {
                    var selector = string.Join(' ', AtLeastOne(d));
                    if (!LabelSelector.TryValidate(selector, out var error))
                    {
                        throw new CorefileException($"unable to parse namespace_label selector value: '{selector}': {error}", d.File, d.Line);
                    }
                    o = o with { NamespaceLabels = selector };
                    break;
                }
                case "fallthrough":
                    o = o with { Fallthrough = Fallthrough.Parse(d) };
                    break;
                case "ttl":
                {
                    var a = AtLeastOne(d);
                    if (!GoStrconv.TryAtoi(a[0], out var ttl))
                    {
                        throw new CorefileException(GoStrconv.AtoiError(a[0]), d.File, d.Line);
                    }
                    if (ttl is < 0 or > 3600)
                    {
                        throw d.Err($"ttl must be in range [0, 3600]: {ttl}");
                    }
                    o = o with { Ttl = (uint)ttl };
                    break;
                }
                case "noendpoints":
                    NoArgs(d);
                    o = o with { NoEndpoints = true };
                    break;
                case "ignore":
                {
                    var a = d.RemainingArgs();
                    if (a.Count == 0)
                    {
                        // [Q16] (docs/kubernetes-dns.md) CoreDNS silently accepts a bare "ignore".
                        warnings.Add("'ignore' without a value has no effect");
                        break;
                    }
                    if (a[0] != "empty_service")
                    {
                        throw new CorefileException($"unable to parse ignore value: '{a[0]}'", d.File, d.Line);
                    }
                    o = o with { IgnoreEmptyService = true };
                    break;
                }
                case "multicluster":
                {
                    var mz = Normalize(d.RemainingArgs(), d);
                    foreach (var z in mz)
                    {
                        if (!Contains(zones, z))
                        {
                            throw d.Err($"multicluster zone '{z}' is not one of the kubernetes zones");
                        }
                    }
                    o = o with { MulticlusterZones = mz };
                    break;
                }
                case "zonal":
                    // CoreDNS's `<zone>._zone.<svc>…` names are not served yet: refuse rather than accept and ignore.
                    throw d.Err("zonal is not supported by ClusterDns yet");
                case "startup_timeout":
                {
                    var a = d.RemainingArgs();
                    if (a.Count != 1)
                    {
                        throw d.ArgErr();
                    }
                    if (!GoDuration.TryParse(a[0], out var timeout))
                    {
                        throw new CorefileException($"unable to parse startup_timeout value: '{a[0]}': time: invalid duration \"{a[0]}\"", d.File, d.Line);
                    }
                    if (timeout <= TimeSpan.Zero)
                    {
                        // [DEV4] (docs/kubernetes-dns.md) CoreDNS accepts it and then misbehaves; we refuse it.
                        throw d.Err($"startup_timeout must be greater than 0: {a[0]}");
                    }
                    o = o with { StartupTimeout = timeout };
                    break;
                }
                case "apiserver_qps":
                {
                    var a = ExactlyOne(d);
                    if (!double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var qps) || double.IsNaN(qps) || double.IsInfinity(qps))
                    {
                        throw d.Err($"unable to parse apiserver_qps value: '{a}'");
                    }
                    if (qps < 0)
                    {
                        throw d.Err($"apiserver_qps must be greater than or equal to 0: {a}");
                    }
                    o = o with { ApiServerQps = qps };
                    break;
                }
                case "apiserver_burst":
                    o = o with { ApiServerBurst = NonNegativeInt(d, "apiserver_burst") };
                    break;
                case "apiserver_max_inflight":
                    o = o with { ApiServerMaxInflight = NonNegativeInt(d, "apiserver_max_inflight") };
                    break;
                case "snapshot":
                    o = o with { Snapshot = ExactlyOne(d) };
                    break;
                default:
                    throw d.Err($"unknown property '{property}'");
            }
        }

        if (namespaces.Count != 0 && o.NamespaceLabels is not null)
        {
            throw d.Err("namespaces and namespace_labels cannot both be set");
        }
        if (o.NoEndpoints && o.IgnoreEmptyService)
        {
            // [Q17] (docs/kubernetes-dns.md) Every ClusterIP service counts as empty without endpoint data.
            warnings.Add("noendpoints with ignore empty_service makes every ClusterIP service NXDOMAIN");
        }
        return o with { Namespaces = namespaces, Connection = connection, Warnings = warnings };
    }

    private static IReadOnlyList<string> Normalize(IReadOnlyList<string> zones, Dispenser d)
    {
        try
        {
            return ZoneNames.Normalize(zones);
        }
        catch (FormatException e)
        {
            throw new CorefileException(e.Message, d.File, d.Line);
        }
    }

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        foreach (var item in list)
        {
            if (item == value)
            {
                return true;
            }
        }
        return false;
    }

    private static void NoArgs(Dispenser d)
    {
        if (d.RemainingArgs().Count != 0)
        {
            throw d.ArgErr();
        }
    }

    private static IReadOnlyList<string> AtLeastOne(Dispenser d)
    {
        var a = d.RemainingArgs();
        return a.Count == 0 ? throw d.ArgErr() : a;
    }

    private static string ExactlyOne(Dispenser d)
    {
        var a = d.RemainingArgs();
        return a.Count != 1 ? throw d.ArgErr() : a[0];
    }

    private static int NonNegativeInt(Dispenser d, string name)
    {
        var a = ExactlyOne(d);
        if (!GoStrconv.TryAtoi(a, out var value))
        {
            throw d.Err($"unable to parse {name} value: '{a}'");
        }
        if (value < 0)
        {
            throw d.Err($"{name} must be greater than or equal to 0: {a}");
        }
        return value;
    }
}
