using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Plugins.Acl;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Acl;

public sealed class AclPluginTests
{
    /// <summary>One query from a given loopback source and what must come back (null rcode: no reply at all).</summary>
    public sealed record AclCase(string Description, string Config, string Source, string Name, DnsType Type, DnsRcode? Rcode, ushort? Ede = null)
    {
        public override string ToString() => Description;
    }

    public static TheoryData<AclCase> Cases() => new()
    {
        new("blocked type A from the blocked net", "acl example.org {\n        block type A net 127.0.0.2/32\n    }", "127.0.0.2", "www.example.org.", DnsType.A, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("other type from the blocked net passes", "acl example.org {\n        block type A net 127.0.0.2/32\n    }", "127.0.0.2", "www.example.org.", DnsType.AAAA, DnsRcode.NoError),
        new("other source passes", "acl example.org {\n        block type A net 127.0.0.2/32\n    }", "127.0.0.3", "www.example.org.", DnsType.A, DnsRcode.NoError),
        new("name outside the rule's zones passes", "acl example.org {\n        block\n    }", "127.0.0.2", "www.example.net.", DnsType.A, DnsRcode.NoError),
        new("bare address means /32", "acl {\n        block net 127.0.0.4\n    }", "127.0.0.4", "a.test.", DnsType.A, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("bare address means /32, neighbour passes", "acl {\n        block net 127.0.0.4\n    }", "127.0.0.5", "a.test.", DnsType.A, DnsRcode.NoError),
        new("filter answers empty NOERROR", "acl {\n        filter type A net 127.0.0.0/24\n    }", "127.0.0.6", "a.test.", DnsType.A, DnsRcode.NoError, AclPlugin.EdeFiltered),
        new("allow before block wins", "acl {\n        allow net 127.0.0.7\n        block net 127.0.0.0/8\n    }", "127.0.0.7", "a.test.", DnsType.A, DnsRcode.NoError),
        new("block after allow catches the rest", "acl {\n        allow net 127.0.0.7\n        block net 127.0.0.0/8\n    }", "127.0.0.8", "a.test.", DnsType.A, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("allowlist with a bare block", "acl {\n        allow net 127.0.1.0/24\n        block\n    }", "127.0.0.9", "a.test.", DnsType.MX, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("type star and net star", "acl {\n        block type * net *\n    }", "127.0.0.10", "a.test.", DnsType.TXT, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("several types", "acl {\n        block type A AAAA net 127.0.0.11\n    }", "127.0.0.11", "a.test.", DnsType.AAAA, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("net then type", "acl {\n        block net 127.0.0.12 type MX\n    }", "127.0.0.12", "a.test.", DnsType.MX, DnsRcode.Refused, AclPlugin.EdeBlocked),
        new("net then type, other type", "acl {\n        block net 127.0.0.12 type MX\n    }", "127.0.0.12", "a.test.", DnsType.A, DnsRcode.NoError),
        new("drop sends nothing", "acl {\n        drop net 127.0.0.13\n    }", "127.0.0.13", "a.test.", DnsType.A, null),
        new("drop, other source answered", "acl {\n        drop net 127.0.0.13\n    }", "127.0.0.14", "a.test.", DnsType.A, DnsRcode.NoError),
        new("first matching rule decides", "acl a.test {\n        allow\n    }\n    acl {\n        block\n    }", "127.0.0.15", "x.a.test.", DnsType.A, DnsRcode.NoError),
        new("second rule applies outside the first's zones", "acl a.test {\n        allow\n    }\n    acl {\n        block\n    }", "127.0.0.15", "b.test.", DnsType.A, DnsRcode.Refused, AclPlugin.EdeBlocked),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Queries_from_each_source_get_CoreDNS_acl_answers(AclCase c)
    {
        await using var server = await TestDnsServer.StartAsync($".:0 {{\n    {c.Config}\n    whoami\n}}\n");
        var reply = await QueryFromAsync(server.Endpoint, IPAddress.Parse(c.Source), c.Name, c.Type, c.Rcode is null ? 1500 : 5000);
        if (c.Rcode is null)
        {
            Assert.Null(reply);
            return;
        }
        Assert.NotNull(reply);
        Assert.Equal(c.Rcode, reply.Rcode);
        var ede = reply.Additionals.OfType<OptRecord>().SelectMany(o => o.Options).Where(o => o.Code == AclPlugin.EdeOptionCode).ToList();
        if (c.Ede is { } code)
        {
            Assert.Empty(reply.Answers);
            Assert.False(reply.Header.Authoritative);
            var option = Assert.Single(ede);
            Assert.Equal(code, BinaryPrimitives.ReadUInt16BigEndian(option.Data));
        }
        else
        {
            Assert.Empty(ede);
            Assert.Contains(reply.Additionals, r => r.Type == DnsType.SRV); // whoami answered
        }
    }

    [Fact]
    public async Task Counts_blocked_filtered_dropped_and_allowed_requests()
    {
        const string corefile = ".:0 {\n    acl metrics.test {\n        block net 127.0.0.20\n        filter net 127.0.0.21\n        drop net 127.0.0.22\n    }\n    whoami\n}\n";
        await using var server = await TestDnsServer.StartAsync(corefile);
        var label = server.Endpoints.Keys.Single();
        double Value(global::Prometheus.Counter family) => family.WithLabels(label, "metrics.test.", "").Value;
        var blocked = Value(AclMetrics.Blocked);
        var filtered = Value(AclMetrics.Filtered);
        var dropped = Value(AclMetrics.Dropped);
        var allowed = AclMetrics.Allowed.WithLabels(label, "").Value;
        Assert.NotNull(await QueryFromAsync(server.Endpoint, IPAddress.Parse("127.0.0.20"), "a.metrics.test.", DnsType.A));
        Assert.NotNull(await QueryFromAsync(server.Endpoint, IPAddress.Parse("127.0.0.21"), "a.metrics.test.", DnsType.A));
        Assert.Null(await QueryFromAsync(server.Endpoint, IPAddress.Parse("127.0.0.22"), "a.metrics.test.", DnsType.A, 1500));
        Assert.NotNull(await QueryFromAsync(server.Endpoint, IPAddress.Parse("127.0.0.23"), "a.metrics.test.", DnsType.A));
        Assert.Equal(blocked + 1, Value(AclMetrics.Blocked));
        Assert.Equal(filtered + 1, Value(AclMetrics.Filtered));
        Assert.Equal(dropped + 1, Value(AclMetrics.Dropped));
        Assert.True(AclMetrics.Allowed.WithLabels(label, "").Value >= allowed + 1);
    }

    [Fact]
    public async Task Block_reply_carries_an_OPT_even_to_a_client_without_EDNS()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    acl {\n        block\n    }\n}\n");
        var reply = await QueryFromAsync(server.Endpoint, IPAddress.Loopback, "a.test.", DnsType.A, ednsSize: null);
        Assert.NotNull(reply);
        Assert.Equal(DnsRcode.Refused, reply.Rcode);
        var opt = Assert.Single(reply.Additionals.OfType<OptRecord>());
        Assert.Equal(4096, opt.UdpPayloadSize);
        Assert.True(opt.DnssecOk);
    }

    [Theory]
    [InlineData("acl {\n        deny\n    }", "plugin/acl: Corefile:3 - Error during parsing: unexpected token \"deny\"; expect 'allow', 'block', 'filter' or 'drop'")]
    [InlineData("acl {\n        block type\n    }", "plugin/acl: Corefile:3 - Error during parsing: no token specified in \"type\" section")]
    [InlineData("acl {\n        block net type A\n    }", "plugin/acl: Corefile:3 - Error during parsing: no token specified in \"net\" section")]
    [InlineData("acl {\n        block type FOO\n    }", "plugin/acl: Corefile:3 - Error during parsing: unexpected token \"FOO\"; expect legal QTYPE")]
    [InlineData("acl {\n        block net 10.0.0.0/33\n    }", "plugin/acl: Corefile:3 - Error during parsing: illegal CIDR notation \"10.0.0.0/33\"")]
    [InlineData("acl {\n        block net bogus\n    }", "plugin/acl: Corefile:3 - Error during parsing: illegal CIDR notation \"bogus/32\"")]
    [InlineData("acl {\n        block from 10.0.0.1\n    }", "plugin/acl: Corefile:3 - Error during parsing: unexpected token \"10.0.0.1\"; expect 'type | net'")]
    // CoreDNS's acl has had no `file` section since its release (only its pre-release draft had one): refused the same way.
    [InlineData("acl {\n        block file /etc/blocklist.txt\n    }", "plugin/acl: Corefile:3 - Error during parsing: unexpected token \"/etc/blocklist.txt\"; expect 'type | net'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Fact]
    public void Readme_examples_build()
    {
        var examples = ReadmeCorefiles("Acl");
        Assert.NotEmpty(examples);
        foreach (var corefile in examples)
        {
            Assert.NotEmpty(Build(corefile).Blocks);
        }
    }

    /// <summary>Sends one query over UDP from <paramref name="source"/> (any 127.0.0.0/8 address is local on Linux).</summary>
    private static async Task<DnsMessage?> QueryFromAsync(IPEndPoint server, IPAddress source, string name, DnsType type, int timeoutMs = 5000,
        ushort? ednsSize = 1232)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(source, 0));
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: ednsSize).ToArray();
        await socket.SendToAsync(query, SocketFlags.None, server);
        var buffer = new byte[65535];
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            return DnsMessage.Parse(buffer.AsSpan(0, result.ReceivedBytes));
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
