using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Tools;

/// <summary>What <c>clusterdns explain</c> was asked.</summary>
internal sealed record ExplainOptions
{
    public required string Name { get; init; }
    public DnsType Type { get; init; } = DnsType.A;
    public string Namespace { get; init; } = "default";
    public int Ndots { get; init; } = 5;
    public IReadOnlyList<string>? Search { get; init; }
    public required AppOptions App { get; init; }
}

/// <summary>
/// <c>clusterdns explain NAME</c>: resolves a name the way a pod's stub resolver would — the <c>search</c> list of its
/// namespace and the <c>ndots:5</c> rule — through the Corefile's plugin chain in memory (no sockets are opened), and
/// prints for every query tried which server block and plugin answered, the records, and for NXDOMAIN inside a
/// kubernetes zone the reason in words.
/// </summary>
internal static class ExplainCommand
{
    public static async Task<int> RunAsync(ExplainOptions options, ILoggerFactory loggerFactory, TextWriter output)
    {
        await using var app = new ClusterDnsApp(options.App, loggerFactory);
        var config = app.Load();
        foreach (var lifecycle in config.Lifecycles)
        {
            await lifecycle.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        try
        {
            var listener = PickListener(config, options.App.DnsPort);
            var kubernetes = FindKubernetes(listener.Routes);
            var domain = (kubernetes?.Options.PrimaryZone ?? "cluster.local.").TrimEnd('.');
            var search = options.Search ?? [$"{options.Namespace}.svc.{domain}", $"svc.{domain}", domain];
            var candidates = Candidates(options.Name, options.Ndots, search, output);
            var logger = loggerFactory.CreateLogger("clusterdns");
            var client = ExplainAutopath.Client(listener.Routes, kubernetes, options.Namespace, output);
            var nodata = false;
            foreach (var candidate in candidates)
            {
                var (reply, plugin, block) = await QueryAsync(listener.Routes, candidate, options.Type, logger, client).ConfigureAwait(false);
                output.WriteLine(Describe(candidate, options.Type, reply, plugin, block, kubernetes));
                if (reply is null)
                {
                    continue;
                }
                if (ExplainAutopath.Shortcut(reply, plugin, candidates) is { } shortcut)
                {
                    output.WriteLine(shortcut);
                    return reply.Rcode == DnsRcode.NoError && reply.Answers.Count > 0 ? 0 : 1;
                }
                var rcode = reply.Rcode;
                if (rcode == DnsRcode.NoError && reply.Answers.Count > 0)
                {
                    output.WriteLine($"=> resolved: the stub resolver stops at {candidate}");
                    return 0;
                }
                if (rcode == DnsRcode.NoError)
                {
                    nodata = true; // glibc keeps searching after NODATA and reports it if nothing better comes
                }
                else if (rcode != DnsRcode.NXDomain)
                {
                    output.WriteLine($"=> {rcode.ToText()}: the stub resolver gives up here");
                    return 1;
                }
            }
            output.WriteLine(nodata
                ? "=> no records of this type (NODATA): the name exists but has no " + options.Type.ToText() + " record"
                : "=> NXDOMAIN for every candidate");
            return 1;
        }
        finally
        {
            foreach (var lifecycle in config.Lifecycles)
            {
                await lifecycle.StopAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>resolv.conf semantics: an absolute name is tried alone; one with at least ndots dots is tried as is
    /// first, otherwise after the search list.</summary>
    internal static IReadOnlyList<string> Candidates(string name, int ndots, IReadOnlyList<string> search, TextWriter output)
    {
        if (name.EndsWith('.'))
        {
            output.WriteLine($"\"{name}\" is absolute (ends with a dot): it is the only query.");
            return [name];
        }
        var dots = 0;
        foreach (var c in name)
        {
            dots += c == '.' ? 1 : 0;
        }
        var expanded = new List<string>(search.Count + 1);
        foreach (var suffix in search)
        {
            expanded.Add($"{name}.{suffix.TrimEnd('.')}.");
        }
        output.WriteLine($"search {string.Join(' ', search)}   options ndots:{ndots}");
        if (dots >= ndots)
        {
            output.WriteLine($"\"{name}\" has {dots} dot(s), at least ndots:{ndots}: it is tried as is first, then with the search list.");
            expanded.Insert(0, name + ".");
        }
        else
        {
            output.WriteLine($"\"{name}\" has {dots} dot(s), fewer than ndots:{ndots}: the search list is tried first, then the name as is.");
            expanded.Add(name + ".");
        }
        return expanded;
    }

    private static ListenerSpec PickListener(ServerConfig config, int port)
    {
        foreach (var listener in config.Listeners)
        {
            if (listener.Port == port)
            {
                return listener;
            }
        }
        return config.Listeners[0];
    }

    private static KubernetesPlugin? FindKubernetes(ListenerRoutes routes)
    {
        foreach (var block in routes.Blocks)
        {
            foreach (var plugin in block.Plugins)
            {
                if (plugin is KubernetesPlugin kubernetes)
                {
                    return kubernetes;
                }
            }
        }
        return null;
    }

    private static async Task<(DnsMessage? Reply, string Plugin, string Block)> QueryAsync(ListenerRoutes routes, string name, DnsType type, ILogger logger,
        IPAddress client)
    {
        var request = new DnsRequest(client.AddressFamily);
        var query = DnsMessage.CreateQuery(name, type, id: 1, ednsSize: 4096);
        var disposition = request.Load(query.ToArray(), DnsTransport.Udp);
        request.SetRemote(new IPEndPoint(client, 0));
        var block = routes.Route(request)?.Key ?? "(no server block)"; // views see the client explain asks as
        await QueryProcessor.ProcessAsync(request, disposition, routes, logger, CancellationToken.None).ConfigureAwait(false);
        var reply = request.Response.Written && DnsMessage.TryParse(request.Response.Bytes, out var parsed, out _) ? parsed : null;
        return (reply, request.Response.Plugin, block);
    }

    private static string Describe(string name, DnsType type, DnsMessage? reply, string plugin, string block, KubernetesPlugin? kubernetes)
    {
        var text = new StringBuilder();
        text.Append("  ").Append(name).Append(' ').Append(type.ToText()).Append("  [").Append(block).Append("] ");
        if (reply is null)
        {
            return text.Append("no reply").ToString();
        }
        text.Append(reply.Rcode.ToText()).Append(" from ").Append(plugin.Length == 0 ? "the server" : plugin);
        foreach (var record in reply.Answers)
        {
            text.Append("\n      ").Append(record);
        }
        if (reply.Rcode == DnsRcode.NXDomain && kubernetes is not null && plugin == "kubernetes"
            && KubernetesExplainer.WhyMissing(kubernetes, name.ToLowerInvariant()) is { } why)
        {
            text.Append("\n      why: ").Append(why);
        }
        else if (reply.Rcode == DnsRcode.NoError && reply.Answers.Count == 0)
        {
            text.Append("\n      (NODATA: the name exists, no ").Append(type.ToText()).Append(" record)");
        }
        return text.ToString();
    }
}
