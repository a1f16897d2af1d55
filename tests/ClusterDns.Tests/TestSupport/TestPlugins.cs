using System.Collections.Concurrent;
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

    /// <summary>A test plugin registered under a plugin.cfg name ClusterDns does not implement; the factory gets the
    /// setup context and the directive's arguments (<c>template v1</c> → ["v1"]).</summary>
    public static PluginDescriptor Plugin(string name, Func<PluginSetupContext, IReadOnlyList<string>, DnsPlugin> create) =>
        new(name, context =>
        {
            var d = context.Dispenser;
            IReadOnlyList<string> args = [];
            while (d.Next())
            {
                args = d.RemainingArgs();
            }
            return [create(context, args)];
        });

    /// <summary>A plugin named <paramref name="slot"/> whose setup reads its arguments and builds a handler from them.</summary>
    public static PluginDescriptor Answering(string slot, Func<IReadOnlyList<string>, Func<DnsRequest, DnsMessage?>> factory) =>
        Plugin(slot, (_, args) => new DelegatePlugin(slot, factory(args)));

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
            reply.CopyTo(request.Response.GetBuffer(reply.Length));
            request.Response.Commit(reply.Length, Name);
            return new DnsResult(DnsRcode.NoError);
        }
    }
}

/// <summary>Answers every query with one TXT record carrying <see cref="Text"/> (in the query's class).</summary>
public sealed class TxtPlugin(string name, string text) : DnsPlugin
{
    public override string Name => name;

    public string Text => text;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var reply = request.CreateReply();
        reply.Answers.Add(new TxtRecord([text]) { Name = request.QuestionName, Class = request.Class, Ttl = 5 });
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    /// <summary><c>NAME [TEXT]</c> in a block: answers TEXT, or the block's first zone when no text is given.</summary>
    public static PluginDescriptor Descriptor(string name) =>
        TestPlugins.Plugin(name, (context, args) => new TxtPlugin(name, args.Count > 0 ? args[0] : context.Zones[0]));
}

/// <summary>Answers names starting with "slow" after a delay (awaiting, not blocking), others at once; the TXT is the name.</summary>
public sealed class DelayPlugin(TimeSpan delay) : DnsPlugin
{
    public override string Name => "erratic";

    public override async ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var name = request.Name;
        if (name.StartsWith("slow", StringComparison.Ordinal))
        {
            await Task.Delay(delay, cancellationToken);
        }
        var reply = request.CreateReply();
        reply.Answers.Add(new TxtRecord([name]) { Name = request.QuestionName, Ttl = 5 });
        request.Response.Write(reply, Name);
        return DnsResult.Success;
    }
}

/// <summary>Answers A queries with <c>count</c> distinct A records (10.0.x.y): a reply far over 512 octets.</summary>
public sealed class ManyAPlugin(int count) : DnsPlugin
{
    public override string Name => "file";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var reply = request.CreateReply();
        for (var i = 0; i < count; i++)
        {
            reply.Answers.Add(new ARecord(new IPAddress([10, 0, (byte)(i / 256), (byte)(i % 256)])) { Name = request.QuestionName, Ttl = 30 });
        }
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }
}

/// <summary>Throws for names starting with "boom" (synchronously, or after an await for "boom-async"); passes the rest on.</summary>
public sealed class ThrowingPlugin : DnsPlugin
{
    public override string Name => "template";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (request.Name.StartsWith("boom-async", StringComparison.Ordinal))
        {
            return ThrowLaterAsync();
        }
        if (request.Name.StartsWith("boom", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("test plugin exploded");
        }
        return NextAsync(request, cancellationToken);
    }

    private static async ValueTask<DnsResult> ThrowLaterAsync()
    {
        await Task.Yield();
        throw new InvalidOperationException("test plugin exploded later");
    }
}

/// <summary>Passes every query on (so a chain ending in it runs out of plugins).</summary>
public sealed class PassPlugin(string name) : DnsPlugin
{
    public override string Name => name;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken) => NextAsync(request, cancellationToken);
}

/// <summary>An outer plugin that records what the inner chain returned, as <c>errors</c> sees it.</summary>
public sealed class ResultRecorder : DnsPlugin
{
    public ConcurrentQueue<DnsResult> Results { get; } = new();

    public override string Name => "errors";

    public override async ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var result = await NextAsync(request, cancellationToken);
        Results.Enqueue(result);
        return result;
    }
}

/// <summary>Like CoreDNS's chaos: lets non-IN classes through on its listener and answers with a TXT.</summary>
public sealed class ChaosLikePlugin : DnsPlugin
{
    public override string Name => "chaos";

    public static PluginDescriptor Descriptor { get; } = TestPlugins.Plugin("chaos", (context, _) =>
    {
        context.AllowAnyClass();
        return new ChaosLikePlugin();
    });

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var reply = request.CreateReply();
        reply.Answers.Add(new TxtRecord(["ClusterDns"]) { Name = request.QuestionName, Class = request.Class });
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }
}

/// <summary>Writes a prepared 100-record reply as raw bytes (the cache / precompiled-answer fast path), whatever the transport.</summary>
public sealed class RawBytesPlugin : DnsPlugin
{
    public override string Name => "cache";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var reply = request.CreateReply();
        for (var i = 0; i < 100; i++)
        {
            reply.Answers.Add(new ARecord(new IPAddress([10, 1, 0, (byte)i])) { Name = request.QuestionName, Ttl = 30 });
        }
        var bytes = reply.ToArray(); // encoded for 64 KiB: not truncated
        bytes.CopyTo(request.Response.GetBuffer(bytes.Length));
        request.Response.Commit(bytes.Length, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }
}

/// <summary>Answers "alias.*" by resolving "target.example." TXT through the server's own listener (<see cref="InternalResolver"/>).</summary>
public sealed class ResolvingPlugin(InternalResolver resolver) : DnsPlugin
{
    public override string Name => "template";

    public override async ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (!request.Name.StartsWith("alias.", StringComparison.Ordinal))
        {
            return await NextAsync(request, cancellationToken);
        }
        var upstream = await resolver(DnsName.Parse("target.example."), DnsType.TXT, cancellationToken);
        var reply = request.CreateReply();
        if (upstream is not null)
        {
            foreach (var answer in upstream.Answers)
            {
                reply.Answers.Add(answer);
            }
        }
        request.Response.Write(reply, Name);
        return DnsResult.Success;
    }
}

/// <summary>A test-only plugin under a plugin.cfg name ClusterDns does not implement ("erratic"), used as a chain
/// end that answers as told, returns errors, or reports readiness.</summary>
internal sealed class ErraticTestPlugin : DnsPlugin, IReadinessReporter
{
    private readonly Func<DnsRequest, DnsResult> _serve;

    private ErraticTestPlugin(Func<DnsRequest, DnsResult> serve) => _serve = serve;

    public override string Name => "erratic";

    public bool Ready { get; set; }

    bool IReadinessReporter.IsReady => Ready;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken) =>
        new(_serve(request));

    /// <summary>Built-in plugins plus "erratic" behaving as <paramref name="serve"/>; <paramref name="created"/> sees each instance.</summary>
    public static IReadOnlyDictionary<string, PluginDescriptor> With(Func<DnsRequest, DnsResult> serve, Action<ErraticTestPlugin>? created = null)
    {
        return TestPlugins.With(new PluginDescriptor("erratic", context =>
        {
            var plugin = new ErraticTestPlugin(serve);
            context.AddReadiness(plugin);
            created?.Invoke(plugin);
            return [plugin];
        }));
    }
}
