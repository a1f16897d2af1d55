using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>
/// Answers are per query, never per first asker: every odd header sent as the first query for a fresh name must leave
/// the next plain query's reply exactly a plain reply — through each path that compiles a reply once and serves it to
/// many clients (the kubernetes answer cache, the cache plugin, hosts' precomputed records).
/// </summary>
public sealed class PerQueryReplyTests
{
    /// <summary>One odd first query: its header flags and the OPT record it carries (null: none).</summary>
    public sealed record OddHeader(string Name, ushort Flags, byte[]? Opt)
    {
        public override string ToString() => Name;
    }

    private const ushort Rd = DnsHeader.RdBit;

    private static readonly OddHeader[] OddHeaders =
    [
        new OddHeader("opcode NOTIFY", 0x2000 | Rd, null),
        new OddHeader("opcode NOTIFY, RD=0", 0x2000, null),
        new OddHeader("opcode UPDATE", 0x2800 | Rd, null),
        new OddHeader("opcode STATUS", 0x1000 | Rd, null),
        new OddHeader("opcode 15", 0x7800 | Rd, null),
        new OddHeader("RD=0", 0, null),
        new OddHeader("AA set", DnsHeader.AaBit | Rd, null),
        new OddHeader("TC set", DnsHeader.TcBit | Rd, null),
        new OddHeader("Z set", DnsHeader.ZBit | Rd, null),
        new OddHeader("AD set", DnsHeader.AdBit | Rd, null),
        new OddHeader("CD set", DnsHeader.CdBit | Rd, null),
        new OddHeader("RA set", DnsHeader.RaBit | Rd, null),
        new OddHeader("QR set", DnsHeader.QrBit | Rd, null),
        new OddHeader("rcode bits 15", 0x000F | Rd, null),
        new OddHeader("every bit", 0x27FF, null),
        new OddHeader("EDNS DO", Rd, Opt(1232, version: 0, doBit: true)),
        new OddHeader("EDNS size 512", Rd, Opt(512, version: 0, doBit: false)),
        new OddHeader("EDNS size 65535", Rd, Opt(65535, version: 0, doBit: false)),
        new OddHeader("EDNS version 1", Rd, Opt(1232, version: 1, doBit: false)),
        new OddHeader("EDNS cookie+nsid+ecs+padding", Rd, Opt(1232, version: 0, doBit: false,
            Option(10, [1, 2, 3, 4, 5, 6, 7, 8]), Option(3, []), Option(8, [0, 1, 24, 0, 10, 0, 0]), Option(12, new byte[16]))),
        new OddHeader("NOTIFY + CD + DO", 0x2000 | DnsHeader.CdBit, Opt(4096, version: 0, doBit: true)),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_odd_first_query_leaves_plain_replies_plain(bool tcp)
    {
        await using var stack = await Stack.StartAsync(OddHeaders.Length);
        for (var n = 0; n < OddHeaders.Length; n++)
        {
            var odd = OddHeaders[n];
            foreach (var (path, question, control, type) in Stack.Questions)
            {
                // Fresh per odd header: kubernetes and hosts compile per name as written (a new letter case is a new
                // entry); the cache plugin gets a new name.
                var name = path == "cache" ? $"c{n + 1}.up.test." : Mixed(question, n + 1);
                // The reference: the control question answered twice (the second from whatever compiled the first).
                await stack.ExchangeAsync(PlainQuery(control, type), tcp);
                var expected = Signature(await stack.ExchangeAsync(PlainQuery(control, type), tcp), control);

                // Any reply, or none (dropped): only what it leaves behind matters.
                await stack.ExchangeAsync(Query(0x0101, odd.Flags, name, type, odd.Opt), tcp, TimeSpan.FromMilliseconds(300));
                for (var i = 0; i < 2; i++)
                {
                    var reply = await stack.ExchangeAsync(PlainQuery(name, type), tcp);
                    var what = $"{odd} first, then plain {name} {type.ToText()} ({path}, tcp={tcp})";
                    Assert.True(reply is not null, $"{what}: no reply");
                    Assert.True(BinaryPrimitives.ReadUInt16BigEndian(reply) == 0x4242, $"{what}: id");
                    var got = Signature(reply, name);
                    Assert.True(expected == got, $"{what}:\n expected {expected}\n got      {got}");
                }
            }
        }
    }

    /// <summary>As CoreDNS's SizeAndDo: the query's NSID, EXPIRE, COOKIE, TCP-KEEPALIVE and PADDING options come back
    /// verbatim in the reply's OPT (others, like ECS, do not), on every path: compiled, cached, hosts, error replies.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Replies_echo_the_querys_supported_edns_options(bool tcp)
    {
        await using var stack = await Stack.StartAsync(1);
        byte[][] echoed = [Option(10, [1, 2, 3, 4, 5, 6, 7, 8]), Option(3, []), Option(9, []), Option(11, []), Option(12, new byte[8])];
        var sent = Opt(1232, version: 0, doBit: true, [echoed[0], echoed[1], Option(8, [0, 1, 24, 0, 10, 0, 0]), echoed[2], echoed[3], echoed[4]]);
        var expected = Convert.ToHexString(echoed.SelectMany(o => o).ToArray());
        (string Path, string Name, DnsType Type)[] questions =
        [
            .. Stack.Questions.Select(q => (q.Path, q.Path == "cache" ? "c1.up.test." : q.Name, q.Type)),
            ("refused (no zone)", "elsewhere.invalid.", DnsType.A),
        ];
        foreach (var (path, name, type) in questions)
        {
            for (var i = 0; i < 2; i++) // the first answer computes, the second comes from whatever compiled it
            {
                var reply = await stack.ExchangeAsync(Query(0x4242, Rd, name, type, sent), tcp);
                var what = $"{path} {name} {type.ToText()} #{i + 1} (tcp={tcp})";
                Assert.True(reply is not null, $"{what}: no reply");
                var opt = DnsMessage.Parse(reply).Opt;
                Assert.True(opt is not null, $"{what}: no OPT");
                Assert.True(opt.DnssecOk, $"{what}: DO not echoed");
                var got = Convert.ToHexString(opt.Options.SelectMany(o => Option(o.Code, o.Data)).ToArray());
                Assert.True(expected == got, $"{what}: options {got}, expected {expected}");
            }
        }
    }

    /// <summary>The name with ASCII letters upper-cased where the bits of <paramref name="pattern"/> say.</summary>
    private static string Mixed(string name, int pattern)
    {
        var chars = name.ToCharArray();
        var bit = 0;
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsAsciiLetterLower(chars[i]) && ((pattern >> (bit++ % 16)) & 1) == 1)
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }
        return new string(chars);
    }

    /// <summary>Header word, counts and records (owner relative to the question, lower case, TTL left out: the cache
    /// plugin counts TTLs down), and the OPT's size, flags and option count.</summary>
    private static string Signature(byte[]? reply, string question)
    {
        Assert.NotNull(reply);
        var message = DnsMessage.Parse(reply);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"flags={BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)):x4} ");
        text.Append(CultureInfo.InvariantCulture, $"counts={message.Questions.Count}/{message.Answers.Count}/{message.Authorities.Count}/{message.Additionals.Count}");
        foreach (var q in message.Questions)
        {
            text.Append(" | q ").Append(Relative(q.Name.ToString(), question)).Append(' ').Append(q.Type.ToText()).Append(' ').Append(q.Class.ToText());
        }
        foreach (var section in new[] { message.Answers, message.Authorities, message.Additionals })
        {
            foreach (var record in section)
            {
                if (record is OptRecord opt)
                {
                    text.Append(CultureInfo.InvariantCulture, $" | OPT size={opt.UdpPayloadSize} ttl={opt.Ttl:x8} data={opt.DataText()}");
                    continue;
                }
                text.Append(" | ").Append(Relative(record.Name.ToString(), question)).Append(' ').Append(record.Type.ToText())
                    .Append(' ').Append(Relative(record.DataText(), question));
            }
        }
        return text.ToString();
    }

    private static string Relative(string text, string question) =>
        text.ToLowerInvariant().Replace(question.ToLowerInvariant(), "@", StringComparison.Ordinal);

    private static byte[] PlainQuery(string name, DnsType type) => Query(0x4242, Rd, name, type, Opt(1232, version: 0, doBit: false));

    private static byte[] Query(ushort id, ushort flags, string name, DnsType type, byte[]? opt) =>
        ServerTestKit.RawQuery(id, flags, 1, 0, 0, (ushort)(opt is null ? 0 : 1), ServerTestKit.Question(name, type), opt ?? []);

    private static byte[] Opt(ushort size, byte version, bool doBit, params byte[][] options)
    {
        var data = options.SelectMany(o => o).ToArray();
        var opt = new byte[11 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(opt.AsSpan(1), (ushort)DnsType.OPT);
        BinaryPrimitives.WriteUInt16BigEndian(opt.AsSpan(3), size);
        opt[6] = version;
        BinaryPrimitives.WriteUInt16BigEndian(opt.AsSpan(7), (ushort)(doBit ? 0x8000 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(opt.AsSpan(9), (ushort)data.Length);
        data.CopyTo(opt, 11);
        return opt;
    }

    private static byte[] Option(ushort code, byte[] data)
    {
        var option = new byte[4 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(option, code);
        BinaryPrimitives.WriteUInt16BigEndian(option.AsSpan(2), (ushort)data.Length);
        data.CopyTo(option, 4);
        return option;
    }

    /// <summary>One listener with a block per precompiling path, and an upstream for the cache plugin.</summary>
    private sealed class Stack : IAsyncDisposable
    {
        private readonly TestDnsServer _upstream;
        private readonly TestDnsServer _server;

        private Stack(TestDnsServer upstream, TestDnsServer server) => (_upstream, _server) = (upstream, server);

        public static async Task<Stack> StartAsync(int cacheNames)
        {
            var names = new StringBuilder();
            for (var i = 0; i <= cacheNames; i++)
            {
                names.Append(CultureInfo.InvariantCulture, $" c{i}.up.test");
            }
            var upstream = await TestDnsServer.StartAsync($"up.test:0 {{\n    hosts {{\n        10.0.1.1{names}\n    }}\n}}\n");
            var yaml = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "examples", "demo-cluster.yaml"));
            var port = ServerTestKit.FreePort();
            var corefile = $$"""
                cluster.local:{{port}} {
                    kubernetes cluster.local in-addr.arpa {
                        snapshot demo-cluster.yaml
                    }
                }
                hosts.test:{{port}} {
                    hosts {
                        10.0.0.1 legacy.hosts.test
                    }
                }
                up.test:{{port}} {
                    cache 30
                    forward . 127.0.0.1:{{upstream.Port}}
                }
                """;
            try
            {
                var server = await TestDnsServer.StartAsync(corefile, new Dictionary<string, string> { ["demo-cluster.yaml"] = yaml });
                return new Stack(upstream, server);
            }
            catch
            {
                await upstream.DisposeAsync();
                throw;
            }
        }

        /// <summary>A question per path, and its control: the same question with other letter cases (a separate
        /// entry where replies are compiled per name as written) or, for the cache plugin, another name.</summary>
        public static readonly (string Path, string Name, string Control, DnsType Type)[] Questions =
        [
            ("kubernetes A", "kiali.istio-system.svc.cluster.local.", "KIALI.istio-system.svc.cluster.local.", DnsType.A),
            ("kubernetes SOA", "cluster.local.", "CLUSTER.local.", DnsType.SOA),
            ("kubernetes NXDOMAIN", "nope.default.svc.cluster.local.", "NOPE.default.svc.cluster.local.", DnsType.A),
            ("kubernetes PTR", "1.0.96.10.in-addr.arpa.", "1.0.96.10.IN-ADDR.arpa.", DnsType.PTR),
            ("hosts", "legacy.hosts.test.", "LEGACY.hosts.test.", DnsType.A),
            ("cache", "cN.up.test.", "c0.up.test.", DnsType.A),
        ];

        public async Task<byte[]?> ExchangeAsync(byte[] query, bool tcp, TimeSpan? timeout = null) =>
            tcp ? await TestDnsServer.ExchangeTcpAsync(_server.Endpoint, query, timeout)
                : await _server.ExchangeUdpAsync(query, timeout ?? TimeSpan.FromSeconds(2));

        public async ValueTask DisposeAsync()
        {
            await _server.DisposeAsync();
            await _upstream.DisposeAsync();
        }
    }
}
