using System.Net;
using ClusterDns.Plugins.Cache;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.CacheTestSupport;
using static ClusterDns.Tests.TestSupport.ForwardTestSupport;

namespace ClusterDns.Tests.Plugins.Cache;

public sealed class CachePluginTests
{
    [Fact]
    public async Task Ttl_counts_down_per_second_and_hits_are_authoritative()
    {
        var (cache, inner, time) = Create();
        var miss = await Serve(cache, "www.example.org.");
        Assert.Equal(300u, miss.Answers[0].Ttl);
        Assert.False(miss.Header.Authoritative);
        time.Advance(TimeSpan.FromSeconds(1));
        var hit = await Serve(cache, "www.example.org.");
        Assert.Equal(1, inner.Calls);
        Assert.Equal(299u, hit.Answers[0].Ttl);
        Assert.True(hit.Header.Authoritative);
        Assert.True(hit.Header.RecursionAvailable);
        Assert.True(hit.Header.IsResponse);
        Assert.Equal("192.0.2.1", ((ARecord)hit.Answers[0]).Address.ToString());
        time.Advance(TimeSpan.FromSeconds(10.9));
        Assert.Equal(289u, (await Serve(cache, "www.example.org.")).Answers[0].Ttl);
        time.Advance(TimeSpan.FromSeconds(289));
        await Serve(cache, "www.example.org."); // TTL 0 is a miss
        Assert.Equal(2, inner.Calls);
        Assert.Equal(2, cache.Misses);
        Assert.Equal(2, cache.SuccessHits);
        Assert.Equal(4, cache.Requests);
    }

    [Fact]
    public async Task Ttl_argument_caps_the_reply_and_the_stored_duration()
    {
        var (cache, _, time) = Create(new CacheOptions { SuccessMaxTtl = TimeSpan.FromSeconds(30), DenialMaxTtl = TimeSpan.FromSeconds(30) });
        Assert.Equal(30u, (await Serve(cache, "a.example.org.")).Answers[0].Ttl);
        time.Advance(TimeSpan.FromSeconds(12));
        Assert.Equal(18u, (await Serve(cache, "a.example.org.")).Answers[0].Ttl);
    }

    [Fact]
    public async Task Minimum_ttl_applies_to_short_answers()
    {
        var (cache, _, _) = Create(answer: request => ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, "192.0.2.1", 1)]));
        Assert.Equal(5u, (await Serve(cache, "a.example.org.")).Answers[0].Ttl);
    }

    [Fact]
    public async Task Hit_keeps_client_id_case_and_opt()
    {
        var (cache, inner, _) = Create();
        await Serve(cache, "www.example.org.");
        var request = Request("WWW.Example.ORG.", DnsType.A, id: 999);
        var hit = await Serve(cache, request);
        Assert.Equal(1, inner.Calls);
        Assert.Equal(999, hit.Header.Id);
        Assert.Equal("WWW.Example.ORG.", hit.Question!.Name.ToString());
        Assert.Equal(1232, hit.Opt!.UdpPayloadSize);
        Assert.True(hit.Header.RecursionDesired);
        var noEdns = await Serve(cache, "www.example.org.", ednsSize: null);
        Assert.Null(noEdns.Opt);
        Assert.Single(noEdns.Answers);
    }

    [Fact]
    public async Task Do_and_cd_bits_get_separate_entries()
    {
        var (cache, inner, _) = Create();
        await Serve(cache, "x.example.org.");
        await Serve(cache, "x.example.org.", dnssecOk: true);
        await Serve(cache, "x.example.org.", checkingDisabled: true);
        await Serve(cache, "x.example.org.", DnsType.AAAA);
        Assert.Equal(4, inner.Calls);
        var doHit = await Serve(cache, "x.example.org.", dnssecOk: true);
        Assert.True(doHit.Opt!.DnssecOk);
        await Serve(cache, "x.example.org.", checkingDisabled: true);
        await Serve(cache, "x.example.org.");
        Assert.Equal(4, inner.Calls);
        Assert.Equal(4, cache.SuccessEntries);
    }

    [Fact]
    public async Task Ad_bit_is_cleared_unless_do_or_ad_was_asked()
    {
        var (cache, _, _) = Create(answer: request => ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, "192.0.2.1", 60)], ad: true));
        Assert.False((await Serve(cache, "s.example.org.")).Header.AuthenticData);
        Assert.False((await Serve(cache, "s.example.org.")).Header.AuthenticData);
        Assert.True((await Serve(cache, "s.example.org.", dnssecOk: true)).Header.AuthenticData);
        Assert.True((await Serve(cache, "s.example.org.", dnssecOk: true)).Header.AuthenticData);
    }

    [Fact]
    public async Task Nxdomain_is_cached_with_the_soa_ttl_and_without_soa_not_at_all()
    {
        var withSoa = true;
        var (cache, inner, time) = Create(answer: request => ScriptedPlugin.Reply(request, DnsRcode.NXDomain, [],
            withSoa ? [ScriptedPlugin.Soa("example.org.", 60, 3600)] : null));
        var miss = await Serve(cache, "nope.example.org.");
        Assert.Equal(DnsRcode.NXDomain, miss.Rcode);
        Assert.Equal(60u, miss.Authorities[0].Ttl);
        time.Advance(TimeSpan.FromSeconds(20));
        var hit = await Serve(cache, "nope.example.org.");
        Assert.Equal(DnsRcode.NXDomain, hit.Rcode);
        Assert.Equal(40u, hit.Authorities[0].Ttl);
        Assert.IsType<SoaRecord>(hit.Authorities[0]);
        Assert.Equal(1, inner.Calls);
        Assert.Equal(1, cache.DenialEntries);
        Assert.Equal(1, cache.DenialHits);

        withSoa = false;
        await Serve(cache, "gone.example.org.");
        await Serve(cache, "gone.example.org.");
        Assert.Equal(3, inner.Calls);
    }

    [Fact]
    public async Task Nodata_is_a_denial_and_servfail_is_cached_briefly()
    {
        var rcode = DnsRcode.NoError;
        var (cache, inner, time) = Create(answer: request => ScriptedPlugin.Reply(request, rcode, [],
            rcode == DnsRcode.NoError ? [ScriptedPlugin.Soa("example.org.", 600, 30)] : null));
        await Serve(cache, "n.example.org.", DnsType.AAAA);
        await Serve(cache, "n.example.org.", DnsType.AAAA);
        Assert.Equal(1, inner.Calls);
        Assert.Equal(1, cache.DenialEntries);

        rcode = DnsRcode.ServFail;
        Assert.Equal(DnsRcode.ServFail, (await Serve(cache, "f.example.org.")).Rcode);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(DnsRcode.ServFail, (await Serve(cache, "f.example.org.")).Rcode);
        Assert.Equal(2, inner.Calls);
        time.Advance(TimeSpan.FromSeconds(1));
        await Serve(cache, "f.example.org.");
        Assert.Equal(3, inner.Calls);

        rcode = DnsRcode.Refused;
        await Serve(cache, "r.example.org.");
        await Serve(cache, "r.example.org.");
        Assert.Equal(5, inner.Calls);
    }

    [Fact]
    public async Task Truncated_replies_and_mismatched_questions_are_not_stored()
    {
        var truncated = true;
        var (cache, inner, _) = Create(answer: request =>
        {
            var reply = ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, "192.0.2.1", 60)]);
            reply.Header.Truncated = truncated;
            if (!truncated)
            {
                reply.Questions[0] = new DnsQuestion(DnsName.Parse("other.example."), DnsType.A);
            }
            return reply;
        });
        await Serve(cache, "t.example.org.");
        await Serve(cache, "t.example.org.");
        Assert.Equal(2, inner.Calls);
        truncated = false;
        await Serve(cache, "t.example.org.");
        await Serve(cache, "t.example.org.");
        Assert.Equal(4, inner.Calls);
        Assert.Equal(2, cache.Drops);
        Assert.Equal(0, cache.SuccessEntries);
    }

    [Fact]
    public async Task Unwritten_servfail_passes_through_uncached()
    {
        var (cache, inner, _) = Create(answer: _ => null);
        var result = await cache.ServeAsync(Request("d.example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(DnsRcode.ServFail, result.Rcode);
        Assert.Equal("upstream down", result.Error);
        await cache.ServeAsync(Request("d.example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(2, inner.Calls);
    }

    [Fact]
    public async Task Capacity_bounds_the_entries_under_a_flood()
    {
        var (cache, _, _) = Create();
        Assert.Equal(9984, cache.SuccessStore.Capacity);
        for (var i = 0; i < 50_000; i++)
        {
            var request = Request($"h{Random.Shared.Next()}-{i}.example.org.", DnsType.A);
            await cache.ServeAsync(request, CancellationToken.None);
        }
        Assert.InRange(cache.SuccessEntries, 9000, 9984);
        Assert.True(cache.SuccessEvictions >= 50_000 - 9984);
    }

    [Fact]
    public void Small_capacities_round_to_shards_of_at_least_four()
    {
        Assert.Equal(1024, new CacheStore(100).Capacity);
        Assert.Equal(256 * 39, new CacheStore(10_000).Capacity);
        Assert.Equal(256 * 40, new CacheStore(10_240).Capacity);
    }

    [Fact]
    public async Task Serve_stale_immediate_answers_with_ttl_zero_and_refreshes_in_the_background()
    {
        var up = true;
        var (cache, inner, time) = Create(new CacheOptions { StaleUpTo = TimeSpan.FromHours(1) },
            request => up ? ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, "192.0.2.1", 30)]) : null);
        await Serve(cache, "stale.example.org.");
        up = false;
        time.Advance(TimeSpan.FromSeconds(100));
        var stale = await Serve(cache, "stale.example.org.");
        Assert.Equal(0u, stale.Answers[0].Ttl);
        Assert.Equal(1, cache.ServedStale);
        await Forward.ForwardServerTests.WaitUntil(() => inner.Calls == 2, TimeSpan.FromSeconds(5));
        // Still stale (refresh failed), still served.
        await Forward.ForwardServerTests.WaitUntil(() => cache.Prefetches == 1, TimeSpan.FromSeconds(5));
        Assert.Equal(0u, (await Serve(cache, "stale.example.org.")).Answers[0].Ttl);
        // Past the stale window: a miss.
        time.Advance(TimeSpan.FromHours(1));
        var result = await cache.ServeAsync(Request("stale.example.org.", DnsType.A), CancellationToken.None);
        Assert.Equal(DnsRcode.ServFail, result.Rcode);
    }

    [Fact]
    public async Task Serve_stale_verify_refreshes_first_and_serves_stale_only_when_that_fails()
    {
        var address = "192.0.2.1";
        var up = true;
        var (cache, inner, time) = Create(new CacheOptions { StaleUpTo = TimeSpan.FromHours(1), VerifyStale = true },
            request => up ? ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, address, 30)]) : null);
        await Serve(cache, "v.example.org.");
        time.Advance(TimeSpan.FromSeconds(40));
        up = false;
        var stale = await Serve(cache, "v.example.org.");
        Assert.Equal(0u, stale.Answers[0].Ttl);
        Assert.Equal(2, inner.Calls);
        up = true;
        address = "192.0.2.2";
        var fresh = await Serve(cache, "v.example.org.");
        Assert.Equal("192.0.2.2", ((ARecord)fresh.Answers[0]).Address.ToString());
        Assert.Equal(30u, fresh.Answers[0].Ttl);
        Assert.Equal(3, inner.Calls);
        Assert.Equal(30u, (await Serve(cache, "v.example.org.")).Answers[0].Ttl);
        Assert.Equal(3, inner.Calls);
    }

    [Fact]
    public async Task Disabled_zones_are_not_stored_in_that_cache()
    {
        var options = new CacheOptions
        {
            SuccessExcept = ["cluster.local."],
            DenialExcept = ["cluster.local."],
            SuccessMaxTtl = TimeSpan.FromSeconds(30),
            DenialMaxTtl = TimeSpan.FromSeconds(30),
        };
        var (cache, inner, _) = Create(options, request => request.Name.StartsWith("nx", StringComparison.Ordinal)
            ? ScriptedPlugin.Reply(request, DnsRcode.NXDomain, [], [ScriptedPlugin.Soa("cluster.local.", 5, 5)])
            : ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, "10.96.0.1", 5)]));
        await Serve(cache, "kubernetes.default.svc.cluster.local.");
        await Serve(cache, "kubernetes.default.svc.cluster.local.");
        await Serve(cache, "nx.svc.cluster.local.");
        await Serve(cache, "nx.svc.cluster.local.");
        Assert.Equal(4, inner.Calls);
        await Serve(cache, "example.org.");
        await Serve(cache, "example.org.");
        await Serve(cache, "nx.example.org.");
        await Serve(cache, "nx.example.org.");
        Assert.Equal(6, inner.Calls);
    }

    [Fact]
    public async Task Keepttl_serves_the_stored_ttl()
    {
        var (cache, _, time) = Create(new CacheOptions { KeepTtl = true });
        await Serve(cache, "k.example.org.");
        time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(300u, (await Serve(cache, "k.example.org.")).Answers[0].Ttl);
    }

    [Fact]
    public async Task Prefetch_refreshes_popular_entries_before_they_expire()
    {
        var address = "192.0.2.1";
        var (cache, inner, time) = Create(new CacheOptions { Prefetch = 2, PrefetchDuration = TimeSpan.FromMinutes(1), PrefetchPercentage = 10 },
            request => ScriptedPlugin.Reply(request, DnsRcode.NoError, [ScriptedPlugin.A(request, address, 100)]));
        await Serve(cache, "p.example.org.");
        time.Advance(TimeSpan.FromSeconds(50));
        await Serve(cache, "p.example.org.");   // hit 1, ttl 50: no prefetch
        time.Advance(TimeSpan.FromSeconds(41));
        address = "192.0.2.2";
        var hit = await Serve(cache, "p.example.org."); // hit 2, ttl 9 <= 10: prefetch, still the old answer
        Assert.Equal("192.0.2.1", ((ARecord)hit.Answers[0]).Address.ToString());
        await Forward.ForwardServerTests.WaitUntil(() => cache.Prefetches == 1 && inner.Calls == 2, TimeSpan.FromSeconds(5));
        await Forward.ForwardServerTests.WaitUntil(() => cache.SuccessStore.Count == 1, TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        var refreshed = await Serve(cache, "p.example.org.");
        Assert.Equal("192.0.2.2", ((ARecord)refreshed.Answers[0]).Address.ToString());
        Assert.Equal(100u, refreshed.Answers[0].Ttl);
    }

    [Fact]
    public async Task Oversized_entry_is_truncated_for_a_small_udp_client()
    {
        var (cache, _, _) = Create(answer: request =>
        {
            var records = new DnsRecord[60];
            for (var i = 0; i < records.Length; i++)
            {
                records[i] = ScriptedPlugin.A(request, $"10.0.{i / 250}.{i % 250 + 1}", 60);
            }
            return ScriptedPlugin.Reply(request, DnsRcode.NoError, records);
        });
        var full = await Serve(cache, "big.example.org.", tcp: true);
        Assert.Equal(60, full.Answers.Count);
        var small = await Serve(cache, "big.example.org.", ednsSize: null);
        Assert.True(small.Header.Truncated);
        Assert.True(small.Answers.Count < 60);
    }

    [Fact]
    public async Task Cache_hits_do_not_allocate()
    {
        var (cache, _, _) = Create();
        var request = Request("zero.example.org.", DnsType.A);
        await cache.ServeAsync(request, CancellationToken.None);
        for (var i = 0; i < 100; i++)
        {
            var warm = cache.ServeAsync(request, CancellationToken.None);
            Assert.True(warm.IsCompletedSuccessfully);
        }
        var pending = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            if (!cache.ServeAsync(request, CancellationToken.None).IsCompletedSuccessfully)
            {
                pending++;
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(0, pending);
        Assert.Equal(1100, cache.SuccessHits);
    }
}
