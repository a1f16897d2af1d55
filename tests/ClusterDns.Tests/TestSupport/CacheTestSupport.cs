using System.Net;
using ClusterDns.Plugins.Cache;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.TestSupport;

/// <summary>The plugin behind the cache: answers with whatever the test's function builds (null = SERVFAIL unwritten).</summary>
internal sealed class ScriptedPlugin(Func<DnsRequest, DnsMessage?> answer) : DnsPlugin
{
    private int _calls;

    public override string Name => "scripted";

    public int Calls => Volatile.Read(ref _calls);

    public Func<DnsRequest, DnsMessage?> Answer { get; set; } = answer;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Answer(request) is not { } reply)
        {
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail, "upstream down"));
        }
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    /// <summary>A reply to the request with the given answers, authority and rcode (RA set, AA clear, OPT echoed).</summary>
    public static DnsMessage Reply(DnsRequest request, DnsRcode rcode, DnsRecord[] answers, DnsRecord[]? authority = null, bool ad = false)
    {
        var reply = request.CreateReply(rcode, authoritative: false);
        reply.Header.RecursionAvailable = true;
        reply.Header.AuthenticData = ad;
        reply.Answers.AddRange(answers);
        if (authority is not null)
        {
            reply.Authorities.AddRange(authority);
        }
        return reply;
    }

    public static DnsRecord A(DnsRequest request, string address, uint ttl) =>
        new ARecord(IPAddress.Parse(address)) { Name = request.QuestionName, Ttl = ttl };

    public static DnsRecord Soa(string zone, uint ttl, uint minimum) =>
        new SoaRecord(DnsName.Parse("ns." + zone), DnsName.Parse("hostmaster." + zone), 1, 7200, 1800, 86400, minimum) { Name = DnsName.Parse(zone), Ttl = ttl };
}

internal static class CacheTestSupport
{
    public static (CachePlugin Cache, ScriptedPlugin Inner, ManualClock Time) Create(CacheOptions? options = null, Func<DnsRequest, DnsMessage?>? answer = null)
    {
        var time = new ManualClock();
        var cache = new CachePlugin(options ?? new CacheOptions(), "dns://:53", time, NullLogger.Instance);
        var inner = new ScriptedPlugin(answer ?? (request => ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, "192.0.2.1", 300)])));
        cache.Next = inner;
        return (cache, inner, time);
    }

    public static async Task<DnsMessage> Serve(CachePlugin cache, DnsRequest request)
    {
        var result = await cache.ServeAsync(request, CancellationToken.None);
        Assert.True(request.Response.Written, $"not written: {result}");
        return DnsMessage.Parse(request.Response.Bytes);
    }

    public static Task<DnsMessage> Serve(CachePlugin cache, string name, DnsType type = DnsType.A, bool dnssecOk = false,
        bool checkingDisabled = false, ushort? ednsSize = 1232, bool tcp = false) =>
        Serve(cache, ForwardTestSupport.Request(name, type, tcp, ednsSize, dnssecOk, checkingDisabled));
}
