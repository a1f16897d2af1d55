using System.Collections.Concurrent;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Tests.Server;

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
        ServerTestKit.Plugin(name, (context, args) => new TxtPlugin(name, args.Count > 0 ? args[0] : context.Zones[0]));
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

    public static PluginDescriptor Descriptor { get; } = ServerTestKit.Plugin("chaos", (context, _) =>
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
        bytes.CopyTo(request.Response.GetBuffer());
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
