using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using DnsClient;
using DnsClient.Protocol;

namespace ClusterDns.Protocol.Tests;

/// <summary>Byte-exact agreement with independent implementations: captures of BIND's dig and live exchanges
/// with DnsClient.NET (and dig, when installed) against a loopback responder built on this codec.</summary>
public class GoldenTests
{
    private const string WebName = "03776562036e73310373766307636c7573746572056c6f63616c00"; // web.ns1.svc.cluster.local.

    /// <summary>(dig command, captured datagram, id, flags, name, type, OPT: null or (size, DO, options hex)).</summary>
    public static TheoryData<string, string, ushort, ushort, string, DnsType, string?> DigQueries => new()
    {
        { "dig web.ns1.svc.cluster.local A (dig 9.18 defaults: RD, AD, EDNS 1232, cookie)",
            "fd220120000100000000000103776562036e73310373766307636c7573746572056c6f63616c000001000100002904d000000000000c000a000870ea74173907bd27",
            0xfd22, 0x0120, "web.ns1.svc.cluster.local.", DnsType.A, "1232,False,000a000870ea74173907bd27" },
        { "dig +noedns",
            "e05b0120000100000000000003776562036e73310373766307636c7573746572056c6f63616c0000010001",
            0xe05b, 0x0120, "web.ns1.svc.cluster.local.", DnsType.A, null },
        { "dig Web.NS1.svc.cluster.local AAAA +nocookie +noad",
            "05fa0100000100000000000103576562034e53310373766307636c7573746572056c6f63616c00001c000100002904d0000000000000",
            0x05fa, 0x0100, "Web.NS1.svc.cluster.local.", DnsType.AAAA, "1232,False," },
        { "dig _http._tcp.web.ns1.svc.cluster.local SRV +dnssec +nocookie",
            "3aee01200001000000000001055f68747470045f74637003776562036e73310373766307636c7573746572056c6f63616c000021000100002904d0000080000000",
            0x3aee, 0x0120, "_http._tcp.web.ns1.svc.cluster.local.", DnsType.SRV, "1232,True," },
    };

    [Theory]
    [MemberData(nameof(DigQueries))]
    public void Dig_query_parses_and_is_reproduced_exactly(string command, string hex, ushort id, ushort flags, string name, DnsType type, string? opt)
    {
        var wire = Convert.FromHexString(hex);
        Span<byte> nameBuffer = stackalloc byte[255];
        Assert.Equal(QueryDisposition.Query, DnsQueryParser.Parse(wire, nameBuffer, out var info));
        Assert.Equal(name, DnsNameSpan.ToText(nameBuffer[..info.NameLength]));
        Assert.Equal(type, info.Type);
        Assert.Equal(opt is not null, info.HasOpt);

        var built = new DnsMessage { Header = new DnsHeader { Id = id, Flags = flags } };
        built.Questions.Add(new DnsQuestion(DnsName.Parse(name), type));
        if (opt is not null)
        {
            var parts = opt.Split(',');
            var options = new List<EdnsOption>();
            var optionBytes = Convert.FromHexString(parts[2]);
            for (var i = 0; i < optionBytes.Length; i += 4 + Packet.ReadU16(optionBytes, i + 2))
            {
                options.Add(new EdnsOption(Packet.ReadU16(optionBytes, i), optionBytes[(i + 4)..(i + 4 + Packet.ReadU16(optionBytes, i + 2))]));
            }
            built.Additionals.Add(OptRecord.Create(ushort.Parse(parts[0]), bool.Parse(parts[1]), options: options));
            Assert.Equal(ushort.Parse(parts[0]), info.UdpPayloadSize);
            Assert.Equal(bool.Parse(parts[1]), info.DnssecOk);
            Assert.Equal(optionBytes, wire.AsSpan(info.OptDataOffset, info.OptDataLength).ToArray());
        }
        Assert.True(wire.AsSpan().SequenceEqual(built.ToArray()), command);
        Assert.Equal(wire, DnsMessage.Parse(wire).ToArray());
        Assert.True(wire.AsSpan(DnsHeader.Size).StartsWith(Convert.FromHexString(WebName)) || !name.StartsWith("web", StringComparison.Ordinal));
    }

    /// <summary>Answers every query on a loopback UDP port from <paramref name="answer"/>; records what it received.</summary>
    private sealed class Responder : IDisposable
    {
        private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public List<byte[]> Received { get; } = [];

        public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

        public Responder(Action<DnsMessage, DnsMessage> answer)
        {
            _loop = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                while (!_stop.IsCancellationRequested)
                {
                    UdpReceiveResult datagram;
                    try
                    {
                        datagram = await _udp.ReceiveAsync(_stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    lock (Received)
                    {
                        Received.Add(datagram.Buffer);
                    }
                    var nameBuffer = new byte[255];
                    if (DnsQueryParser.Parse(datagram.Buffer, nameBuffer, out _) != QueryDisposition.Query
                        || !DnsMessage.TryParse(datagram.Buffer, out var query, out _))
                    {
                        continue;
                    }
                    var reply = DnsMessage.CreateReply(query);
                    reply.Header.Authoritative = true;
                    answer(query, reply);
                    if (query.Opt is not null)
                    {
                        reply.Additionals.Add(OptRecord.Create(1232));
                    }
                    var length = reply.Write(buffer, query.Opt?.UdpPayloadSize ?? 512);
                    await _udp.SendAsync(buffer.AsMemory(0, length), datagram.RemoteEndPoint);
                }
            });
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _udp.Dispose();
            _stop.Dispose();
        }
    }

    private static DnsName N(string text) => DnsName.Parse(text);

    /// <summary>The zone the responder serves: a cluster-DNS-like answer set with compression everywhere.</summary>
    private static void Answer(DnsMessage query, DnsMessage reply)
    {
        var q = query.Questions[0];
        switch (q.Type)
        {
            case DnsType.A:
                reply.Answers.Add(new ARecord(IPAddress.Parse("10.96.0.10")) { Name = q.Name, Ttl = 5 });
                reply.Answers.Add(new ARecord(IPAddress.Parse("10.96.0.11")) { Name = q.Name, Ttl = 5 });
                break;
            case DnsType.AAAA:
                reply.Answers.Add(new AaaaRecord(IPAddress.Parse("fd00::a")) { Name = q.Name, Ttl = 5 });
                break;
            case DnsType.SRV:
                reply.Answers.Add(new SrvRecord(0, 50, 8080, N("pod-1.web.ns1.svc.cluster.local.")) { Name = q.Name, Ttl = 5 });
                reply.Answers.Add(new SrvRecord(0, 50, 8080, N("pod-2.web.ns1.svc.cluster.local.")) { Name = q.Name, Ttl = 5 });
                reply.Additionals.Add(new ARecord(IPAddress.Parse("10.1.0.1")) { Name = N("pod-1.web.ns1.svc.cluster.local."), Ttl = 5 });
                reply.Additionals.Add(new ARecord(IPAddress.Parse("10.1.0.2")) { Name = N("pod-2.web.ns1.svc.cluster.local."), Ttl = 5 });
                break;
            case DnsType.TXT:
                reply.Answers.Add(new TxtRecord(["v=1", "hello world", ""]) { Name = q.Name, Ttl = 5 });
                break;
            case DnsType.MX:
                reply.Answers.Add(new MxRecord(10, N("mail.ns1.svc.cluster.local.")) { Name = q.Name, Ttl = 5 });
                break;
            case DnsType.PTR:
                reply.Answers.Add(new PtrRecord(N("web.ns1.svc.cluster.local.")) { Name = q.Name, Ttl = 5 });
                break;
            case DnsType.CNAME:
                reply.Answers.Add(new CnameRecord(N("web.ns1.svc.cluster.local.")) { Name = q.Name, Ttl = 5 });
                break;
            default:
                reply.Rcode = DnsRcode.NXDomain;
                reply.Authorities.Add(new SoaRecord(N("ns.dns.cluster.local."), N("hostmaster.cluster.local."), 1700000000, 7200, 1800, 86400, 5)
                { Name = N("cluster.local."), Ttl = 5 });
                break;
        }
    }

    [Fact]
    public async Task DnsClient_reads_our_answers_and_we_read_its_queries()
    {
        using var responder = new Responder(Answer);
        var client = new LookupClient(new LookupClientOptions(new NameServer(IPAddress.Loopback, responder.Port))
        {
            UseCache = false,
            Retries = 0,
            Timeout = TimeSpan.FromSeconds(5),
            UseTcpFallback = false,
            ContinueOnDnsError = true,
            ThrowDnsErrors = false,
        });

        var a = await client.QueryAsync("web.ns1.svc.cluster.local", QueryType.A);
        Assert.False(a.HasError, a.ErrorMessage);
        Assert.True(a.Header.HasAuthorityAnswer);
        Assert.Equal(["10.96.0.10", "10.96.0.11"], a.Answers.ARecords().Select(r => r.Address.ToString()));
        Assert.All(a.Answers, r => Assert.Equal("web.ns1.svc.cluster.local.", r.DomainName.Value));

        var aaaa = await client.QueryAsync("web.ns1.svc.cluster.local", QueryType.AAAA);
        Assert.Equal("fd00::a", Assert.Single(aaaa.Answers.AaaaRecords()).Address.ToString());

        var srv = await client.QueryAsync("_http._tcp.web.ns1.svc.cluster.local", QueryType.SRV);
        Assert.Equal(["pod-1.web.ns1.svc.cluster.local.", "pod-2.web.ns1.svc.cluster.local."],
            srv.Answers.SrvRecords().Select(r => r.Target.Value));
        Assert.All(srv.Answers.SrvRecords(), r => Assert.Equal((8080, 50, 0), (r.Port, r.Weight, r.Priority)));
        Assert.Equal(["10.1.0.1", "10.1.0.2"], srv.Additionals.ARecords().Select(r => r.Address.ToString()));

        var txt = await client.QueryAsync("t.ns1.svc.cluster.local", QueryType.TXT);
        Assert.Equal(["v=1", "hello world", ""], Assert.Single(txt.Answers.TxtRecords()).Text);

        var mx = await client.QueryAsync("ns1.svc.cluster.local", QueryType.MX);
        var mxRecord = Assert.Single(mx.Answers.MxRecords());
        Assert.Equal((10, "mail.ns1.svc.cluster.local."), (mxRecord.Preference, mxRecord.Exchange.Value));

        var ptr = await client.QueryReverseAsync(IPAddress.Parse("10.96.0.10"));
        Assert.Equal("web.ns1.svc.cluster.local.", Assert.Single(ptr.Answers.PtrRecords()).PtrDomainName.Value);

        var cname = await client.QueryAsync("alias.ns1.svc.cluster.local", QueryType.CNAME);
        Assert.Equal("web.ns1.svc.cluster.local.", Assert.Single(cname.Answers.CnameRecords()).CanonicalName.Value);

        var nx = await client.QueryAsync("missing.cluster.local", QueryType.NS);
        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, nx.Header.ResponseCode);
        var soa = Assert.Single(nx.Authorities.SoaRecords());
        Assert.Equal(("ns.dns.cluster.local.", "hostmaster.cluster.local.", 1700000000u, 5u),
            (soa.MName.Value, soa.RName.Value, soa.Serial, soa.Minimum));

        // DnsClient's own queries: ours to parse, and re-encoding them gives the very same bytes.
        lock (responder.Received)
        {
            Assert.Equal(8, responder.Received.Count);
            foreach (var query in responder.Received)
            {
                Assert.True(DnsMessage.TryParse(query, out var parsed, out _));
                Assert.Equal(query, parsed.ToArray());
            }
        }
    }

    [Fact]
    public void Dig_reads_our_answers()
    {
        var dig = new[] { "/usr/bin/dig", "/bin/dig" }.FirstOrDefault(File.Exists);
        if (dig is null)
        {
            return; // dig (bind9-dnsutils) not installed: covered by the captured queries and DnsClient above
        }
        using var responder = new Responder(Answer);
        foreach (var (name, type) in new[] { ("web.ns1.svc.cluster.local.", DnsType.A), ("_http._tcp.web.ns1.svc.cluster.local.", DnsType.SRV),
                     ("t.ns1.svc.cluster.local.", DnsType.TXT), ("Web.NS1.svc.cluster.local.", DnsType.AAAA), ("missing.cluster.local.", DnsType.NS) })
        {
            var start = new ProcessStartInfo(dig, $"@127.0.0.1 -p {responder.Port} +tries=1 +time=3 +noall +answer +authority +additional +nocookie {name} {type.ToText()}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            Assert.True(process.WaitForExit(10_000));
            Assert.Equal(0, process.ExitCode);
            var query = DnsMessage.CreateQuery(name, type);
            var expected = DnsMessage.CreateReply(query);
            Answer(query, expected);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith(';')).Select(Normalize).ToList();
            Assert.Equal(expected.Answers.Concat(expected.Authorities).Concat(expected.Additionals).Select(r => Normalize(r.ToString())), lines);
        }

        static string Normalize(string line) => string.Join(' ', line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
    }
}
