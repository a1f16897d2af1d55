using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>The precompiled-reply fast path: a repeated question is answered from stored bytes, patched per query.</summary>
public sealed class AnswerCacheTests
{
    private static async Task<DnsRequest> ServeAsync(ClusterDns.Plugins.Kubernetes.KubernetesPlugin plugin, DnsMessage query)
    {
        var request = new DnsRequest();
        request.Load(query.ToArray(), DnsTransport.Udp);
        await plugin.ServeAsync(request, CancellationToken.None);
        Assert.True(request.Response.Written);
        return request;
    }

    [Theory]
    [InlineData("web.ns1.svc.cluster.local.", DnsType.A)]
    [InlineData("hl.ns1.svc.cluster.local.", DnsType.SRV)]
    [InlineData("nope.ns1.svc.cluster.local.", DnsType.A)]
    [InlineData("WeB.Ns1.SVC.Cluster.Local.", DnsType.A)]
    public async Task Second_query_is_served_from_compiled_bytes_with_its_own_id_flags_and_opt(string name, DnsType type)
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        var first = await ServeAsync(plugin, DnsMessage.CreateQuery(name, type, id: 1, recursionDesired: true));
        Assert.Equal(1, plugin.Resolver.Answers.Count);
        var query = DnsMessage.CreateQuery(name, type, id: 4242, recursionDesired: false, ednsSize: 1232, dnssecOk: true);
        query.Header.CheckingDisabled = true;
        var second = await ServeAsync(plugin, query);
        Assert.Equal(1, plugin.Resolver.Answers.Count);

        var a = first.Response.ReadMessage();
        var b = second.Response.ReadMessage();
        Assert.Equal(4242, b.Header.Id);
        Assert.False(b.Header.RecursionDesired);
        Assert.True(b.Header.CheckingDisabled);
        Assert.True(b.Header.Authoritative);
        Assert.Equal(a.Rcode, b.Rcode);
        Assert.Equal(a.Answers, b.Answers);
        Assert.Equal(a.Authorities, b.Authorities);
        var opt = Assert.IsType<OptRecord>(b.Additionals[^1]);
        Assert.True(opt.DnssecOk);
        Assert.Equal(1232, opt.UdpPayloadSize);
        Assert.Equal(a.Additionals, b.Additionals.Take(b.Additionals.Count - 1));
        Assert.Equal(name, b.Questions[0].Name.ToString());
    }

    [Fact]
    public async Task Different_case_is_a_different_entry_and_echoes_its_case()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        await ServeAsync(plugin, DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A));
        var upper = await ServeAsync(plugin, DnsMessage.CreateQuery("WEB.ns1.svc.cluster.local.", DnsType.A));
        Assert.Equal(2, plugin.Resolver.Answers.Count);
        Assert.Equal("WEB.ns1.svc.cluster.local.", upper.Response.ReadMessage().Answers[0].Name.ToString());
    }

    [Fact]
    public async Task Too_large_for_the_client_falls_back_to_truncation()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        var big = await ServeAsync(plugin, DnsMessage.CreateQuery("_http._tcp.hl.ns1.svc.cluster.local.", DnsType.SRV, ednsSize: 4096));
        Assert.False(big.Response.ReadMessage().Header.Truncated);
        var small = new DnsRequest();
        var raw = DnsMessage.CreateQuery("_http._tcp.hl.ns1.svc.cluster.local.", DnsType.SRV).ToArray();
        small.Load(raw, DnsTransport.Udp);
        await plugin.ServeAsync(small, CancellationToken.None);
        Assert.True(small.Response.Length <= 512);
    }

    [Fact]
    public async Task Class_is_part_of_the_question_that_is_echoed()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        var chaos = DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A);
        chaos.Questions[0] = chaos.Questions[0] with { Class = DnsClass.CH };
        await ServeAsync(plugin, chaos);
        var internet = await ServeAsync(plugin, DnsMessage.CreateQuery("web.ns1.svc.cluster.local.", DnsType.A));
        Assert.Equal(DnsClass.IN, internet.Response.ReadMessage().Questions[0].Class);
    }

    [Fact]
    public async Task Thousands_of_distinct_questions_grow_the_table_and_each_is_served_as_first_answered()
    {
        var (plugin, _) = F1Fixture.CreatePlugin("P0");
        const int Questions = 3_000; // beyond the table's initial 1,024 slots: several growths
        var first = new byte[Questions][];
        for (var i = 0; i < Questions; i++)
        {
            var (name, type) = Question(i);
            first[i] = (await ServeAsync(plugin, DnsMessage.CreateQuery(name, type, id: 1))).Response.Bytes.ToArray();
        }
        var stored = plugin.Resolver.Answers.Count;
        Assert.Equal(Questions, stored);
        for (var i = 0; i < Questions; i++)
        {
            var (name, type) = Question(i);
            Assert.Equal(first[i], (await ServeAsync(plugin, DnsMessage.CreateQuery(name, type, id: 1))).Response.Bytes.ToArray());
        }
        Assert.Equal(stored, plugin.Resolver.Answers.Count); // the second pass compiled nothing new

        // Names under the zone, NXDOMAIN and NODATA (with the SOA) and hits, each asked once in its own case.
        static (string Name, DnsType Type) Question(int i) => (i % 4) switch
        {
            0 => ($"n{i}.ns1.svc.cluster.local.", DnsType.A),
            1 => ($"n{i}.ns1.svc.cluster.local.", DnsType.AAAA),
            2 => ($"web.ns1.svc.cluster.local.", (DnsType)(100 + i)),
            _ => ($"w{i}.ns1.svc.cluster.local.", DnsType.SRV),
        };
    }

    [Fact]
    public void A_full_cache_starts_over_and_a_superseded_reply_is_replaced_in_place()
    {
        var cache = new AnswerCache();
        var token = new IndexGeneration();
        for (var i = 0; i < 10; i++)
        {
            var (request, reply) = Question($"q{i}.example.", 10, i);
            cache.Store(request, reply, token, capacity: 4);
            Assert.True(cache.Count <= 4);
            Assert.True(cache.TryServe(Question($"q{i}.example.", 99, 0).Request, "test"));
        }
        Assert.False(cache.TryServe(Question("q0.example.", 99, 0).Request, "test")); // dropped when the cache started over

        var count = cache.Count;
        token.Supersede();
        Assert.False(cache.TryServe(Question("q9.example.", 99, 0).Request, "test"));
        var (again, fresh) = Question("q9.example.", 10, 42);
        cache.Store(again, fresh, new IndexGeneration(), capacity: 4);
        Assert.Equal(count, cache.Count);
        var served = Question("q9.example.", 7, 0).Request;
        Assert.True(cache.TryServe(served, "test"));
        var message = served.Response.ReadMessage();
        Assert.Equal(7, message.Header.Id);
        Assert.Equal((byte)42, Assert.IsType<ARecord>(Assert.Single(message.Answers)).Address.GetAddressBytes()[3]);
    }

    [Fact]
    public void Concurrent_readers_and_writers_through_growths_and_restarts_only_ever_serve_the_asked_question()
    {
        // Lock-free readers against writers that grow the table and start it over (capacity 1,500 < 4,000 names).
        var cache = new AnswerCache();
        var served = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var random = new Random(worker);
            for (var op = 0; op < 30_000; op++)
            {
                var i = random.Next(4_000);
                var (request, reply) = Question($"q{i}.example.", (ushort)op, i % 251);
                if (!cache.TryServe(request, "test"))
                {
                    cache.Store(request, reply, capacity: 1_500);
                    continue;
                }
                var message = request.Response.ReadMessage();
                Assert.Equal((ushort)op, message.Header.Id);
                Assert.Equal($"q{i}.example.", message.Questions[0].Name.ToString());
                Assert.Equal((byte)(i % 251), Assert.IsType<ARecord>(Assert.Single(message.Answers)).Address.GetAddressBytes()[3]);
                Interlocked.Increment(ref served);
            }
        });
        Assert.True(served > 10_000, $"{served} served from the cache");
        Assert.InRange(cache.Count, 1, 1_500);
    }

    [Fact]
    public void Storing_a_question_costs_its_reply_bytes_and_one_small_entry()
    {
        // Memory per distinct question is what the load benchmark's RSS slope is made of (docs/PERFORMANCE.md,
        // "Memory under load"): the encoded reply, one entry object and the amortised slot array; no key copy, no
        // per-entry garbage when the table grows.
        const int Questions = 20_000;
        var pairs = new (DnsRequest Request, DnsMessage Reply)[Questions];
        for (var i = 0; i < Questions; i++)
        {
            pairs[i] = Question($"q{i}.ns1.svc.cluster.local.", 1, i % 251);
        }
        var replyBytes = pairs[0].Reply.ToArray().Length;
        var cache = new AnswerCache();
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var (request, reply) in pairs)
        {
            cache.Store(request, reply, capacity: 1 << 20);
        }
        var perQuestion = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Questions;
        Assert.Equal(Questions, cache.Count);
        // reply array (24-byte header + bytes, 8-aligned) + entry (≤ 64) + slots (at ≥ 25% load: ≤ 32 live and ≤ 32
        // outgrown). 196 B for a 58-byte reply today; the ConcurrentDictionary layout before it took ≈ 310.
        Assert.True(perQuestion <= replyBytes + 32 + 64 + 64, $"{perQuestion:F0} B per question for a {replyBytes}-byte reply");
    }

    /// <summary>A request for <paramref name="name"/> A and a reply holding one address ending in <paramref name="last"/>.</summary>
    private static (DnsRequest Request, DnsMessage Reply) Question(string name, ushort id, int last)
    {
        var request = new DnsRequest();
        request.Load(DnsMessage.CreateQuery(name, DnsType.A, id: id).ToArray(), DnsTransport.Udp);
        var reply = request.CreateReply();
        reply.Additionals.Clear();
        reply.Answers.Add(new ARecord(new System.Net.IPAddress([10, 0, 0, (byte)last])) { Name = request.QuestionName, Ttl = 5 });
        return (request, reply);
    }
}
