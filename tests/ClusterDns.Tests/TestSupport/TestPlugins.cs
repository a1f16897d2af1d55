using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Plugins that exist only to probe the server in tests. They take plugin.cfg slots ClusterDns does not implement.</summary>
public static class TestPlugins
{
    /// <summary>The built-in plugins plus <paramref name="extra"/>.</summary>
    public static IReadOnlyDictionary<string, PluginDescriptor> With(params PluginDescriptor[] extra)
    {
        var all = new Dictionary<string, PluginDescriptor>(ClusterDns.Plugins.BuiltinPlugins.All, StringComparer.Ordinal);
        foreach (var descriptor in extra)
        {
            all[descriptor.Name] = descriptor;
        }
        return all;
    }

    /// <summary>A plugin named <paramref name="slot"/> whose setup reads its arguments and builds a handler from them.</summary>
    public static PluginDescriptor Answering(string slot, Func<IReadOnlyList<string>, Func<DnsRequest, DnsMessage?>> factory) =>
        new(slot, context =>
        {
            var d = context.Dispenser;
            IReadOnlyList<string> args = [];
            while (d.Next())
            {
                args = d.RemainingArgs();
            }
            return [new DelegatePlugin(slot, factory(args))];
        });

    /// <summary>Answers with the records given as zone-file lines (owner "@" = the query name).</summary>
    public static Func<DnsRequest, DnsMessage?> Records(params string[] lines) => request =>
    {
        var reply = request.CreateReply();
        foreach (var line in lines)
        {
            var record = ZoneText.ParseRecord(line.Replace("@", request.QuestionName.ToString(), StringComparison.Ordinal));
            reply.Answers.Add(record);
        }
        return reply;
    };

    private sealed class DelegatePlugin(string name, Func<DnsRequest, DnsMessage?> answer) : DnsPlugin
    {
        public override string Name => name;

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            var reply = answer(request);
            if (reply is null)
            {
                return NextAsync(request, cancellationToken);
            }
            request.Response.Write(reply, Name);
            return new ValueTask<DnsResult>(new DnsResult(reply.Rcode));
        }
    }

    /// <summary>Relays every query to <paramref name="target"/> over UDP (a forwarder pointed at ourselves makes a loop).</summary>
    public static PluginDescriptor Relay(string slot, Func<IPEndPoint?> target) => new(slot, _ => [new RelayPlugin(slot, target)]);

    private sealed class RelayPlugin(string name, Func<IPEndPoint?> target) : DnsPlugin
    {
        public override string Name => name;

        public override async ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            if (target() is not { } endpoint)
            {
                return new DnsResult(DnsRcode.ServFail, "no target");
            }
            var reply = await TestDnsServer.ExchangeUdpAsync(endpoint, request.Query.ToArray(), TimeSpan.FromSeconds(1));
            if (reply is null)
            {
                return new DnsResult(DnsRcode.ServFail, "relay timeout");
            }
            reply.CopyTo(request.Response.GetBuffer());
            request.Response.Commit(reply.Length, Name);
            return new DnsResult(DnsRcode.NoError);
        }
    }
}
