using System.Buffers.Binary;
using System.Net;
using ClusterDns.Protocol;

namespace ClusterDns.Fuzz.Seeds;

/// <summary>
/// The binary seed corpus (bench/ClusterDns.Fuzz/corpus/wire/*.bin is this list written out by
/// <c>--write-corpus</c>): real queries and replies covering the shapes the server meets.
/// </summary>
public static class SeedPackets
{
    public static IReadOnlyList<(string Name, byte[] Packet)> All()
    {
        var seeds = new List<(string, byte[])>
        {
            ("a-plain", Query("kubernetes.default.svc.cluster.local.", DnsType.A, edns: null)),
            ("a-edns", Query("kubernetes.default.svc.cluster.local.", DnsType.A)),
            ("aaaa-edns-do", Query("kube-dns.kube-system.svc.cluster.local.", DnsType.AAAA, dnssecOk: true)),
            ("srv", Query("_dns._udp.kube-dns.kube-system.svc.cluster.local.", DnsType.SRV)),
            ("srv-plain", Query("_https._tcp.kubernetes.default.svc.cluster.local.", DnsType.SRV, edns: null)),
            ("ptr-v4", Query("1.0.96.10.in-addr.arpa.", DnsType.PTR)),
            ("ptr-v6", Query("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", DnsType.PTR)),
            ("any", Query("kubernetes.default.svc.cluster.local.", DnsType.ANY)),
            ("txt-whoami", Query("whoami.example.org.", DnsType.TXT, edns: 4096)),
            ("ns-zone", Query("cluster.local.", DnsType.NS)),
            ("soa-zone", Query("cluster.local.", DnsType.SOA, edns: 1232)),
            ("pod-a", Query("10-244-1-5.default.pod.cluster.local.", DnsType.A)),
            ("headless", Query("web-0.nginx.default.svc.cluster.local.", DnsType.A)),
            ("external", Query("legacy.example.org.", DnsType.A, edns: 512)),
            ("root", Query(".", DnsType.NS)),
            ("nxdomain", Query("nope.nope.svc.cluster.local.", DnsType.A)),
            ("mixed-case", Query("KuBeRnEtEs.DeFaUlT.SvC.cLuStEr.LoCaL.", DnsType.A)),
            ("ch-version-bind", Query("version.bind.", DnsType.TXT, @class: DnsClass.CH, edns: null)),
            ("class-any", Query("kubernetes.default.svc.cluster.local.", DnsType.A, @class: DnsClass.ANY)),
            ("class-none", Query("kubernetes.default.svc.cluster.local.", DnsType.A, @class: DnsClass.NONE)),
            ("axfr", Query("cluster.local.", DnsType.AXFR, edns: null)),
            ("ixfr", Ixfr()),
            ("type-0", Query("example.org.", (DnsType)0)),
            ("type-65535", Query("example.org.", (DnsType)65535)),
            ("opt-as-qtype", Query("example.org.", DnsType.OPT)),
            ("long-name", Query(LongName(), DnsType.A)),
            ("many-labels", Query(ManyLabels(), DnsType.A)),
            ("label-63", Query(new string('x', 63) + ".default.svc.cluster.local.", DnsType.A)),
            ("edns-cookie", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (10, Bytes(8, 0xC1)))),
            ("edns-cookie-server", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (10, Bytes(24, 0xC2)))),
            ("edns-nsid", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (3, []))),
            ("edns-ecs-v4", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (8, [0, 1, 24, 0, 10, 244, 1]))),
            ("edns-ecs-v6", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.AAAA), (8, [0, 2, 56, 0, 0xFD, 0, 0, 0, 0, 0, 1]))),
            ("edns-padding", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (12, new byte[64]))),
            ("edns-keepalive", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (11, []))),
            ("edns-expire", WithOptions(Query("cluster.local.", DnsType.SOA), (9, []))),
            ("edns-unknown", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.A), (65001, [1, 2, 3]))),
            ("edns-all", WithOptions(Query("kubernetes.default.svc.cluster.local.", DnsType.SRV, dnssecOk: true),
                (3, []), (8, [0, 1, 32, 0, 192, 0, 2, 1]), (10, Bytes(8, 0xC3)), (11, []), (12, new byte[16]))),
            ("edns-version-1", WithEdnsVersion(Query("kubernetes.default.svc.cluster.local.", DnsType.A), 1)),
            ("edns-size-0", Query("kubernetes.default.svc.cluster.local.", DnsType.A, edns: 0)),
            ("edns-size-65535", Query("kubernetes.default.svc.cluster.local.", DnsType.ANY, edns: 65535)),
            ("two-opt", TwoOpt()),
            ("opcode-notify", WithOpcode(Query("cluster.local.", DnsType.SOA, edns: null), DnsOpcode.Notify)),
            ("opcode-update", WithOpcode(Query("cluster.local.", DnsType.SOA, edns: null), DnsOpcode.Update)),
            ("opcode-status", WithOpcode(Query("cluster.local.", DnsType.A, edns: null), DnsOpcode.Status)),
            ("opcode-iquery", WithOpcode(Query("cluster.local.", DnsType.A, edns: null), DnsOpcode.IQuery)),
            ("opcode-15", WithOpcode(Query("cluster.local.", DnsType.A, edns: null), (DnsOpcode)15)),
            ("no-question", HeaderOnly(0x0100, 0, 0, 0, 0)),
            ("two-questions", TwoQuestions()),
            ("header-short", [0x12, 0x34, 0x01, 0x00, 0x00, 0x01]),
            ("qr-reply", Reply()),
            ("qr-reply-compressed", Reply(manyRecords: true)),
            ("qr-reply-truncated", Truncated(Reply(manyRecords: true))),
            ("rd-cd-ad", WithFlags(Query("kubernetes.default.svc.cluster.local.", DnsType.A), DnsHeader.RdBit | DnsHeader.CdBit | DnsHeader.AdBit)),
            ("z-bit", WithFlags(Query("kubernetes.default.svc.cluster.local.", DnsType.A), DnsHeader.ZBit)),
            ("pointer-in-opt-owner", PointerOwnerOpt()),
            ("trailing-garbage", [.. Query("kubernetes.default.svc.cluster.local.", DnsType.A), 0xDE, 0xAD, 0xBE, 0xEF]),
        };
        return seeds;
    }

    private static byte[] Query(string name, DnsType type, ushort? edns = 1232, bool dnssecOk = false, DnsClass @class = DnsClass.IN)
    {
        var query = new DnsMessage();
        query.Header.Id = 0x1234;
        query.Header.RecursionDesired = true;
        query.Questions.Add(new DnsQuestion(DnsName.Parse(name), type, @class));
        if (edns is { } size)
        {
            query.Additionals.Add(OptRecord.Create(size, dnssecOk));
        }
        return query.ToArray();
    }

    private static byte[] WithOptions(byte[] query, params (ushort Code, byte[] Data)[] options)
    {
        var message = DnsMessage.Parse(query);
        var opt = message.Opt!;
        var list = new List<EdnsOption>();
        foreach (var (code, data) in options)
        {
            list.Add(new EdnsOption(code, data));
        }
        message.Additionals.Clear();
        message.Additionals.Add(OptRecord.Create(opt.UdpPayloadSize, opt.DnssecOk, options: list));
        return message.ToArray();
    }

    private static byte[] WithEdnsVersion(byte[] query, byte version)
    {
        var message = DnsMessage.Parse(query);
        var opt = message.Opt!;
        message.Additionals.Clear();
        message.Additionals.Add(OptRecord.Create(opt.UdpPayloadSize, opt.DnssecOk, version));
        return message.ToArray();
    }

    private static byte[] WithOpcode(byte[] packet, DnsOpcode opcode)
    {
        var header = (ushort)((BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)) & ~DnsHeader.OpcodeMask) | ((int)opcode << 11));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), header);
        return packet;
    }

    private static byte[] WithFlags(byte[] packet, ushort flags)
    {
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)) | flags));
        return packet;
    }

    private static byte[] Truncated(byte[] packet) => WithFlags(packet, DnsHeader.TcBit);

    private static byte[] HeaderOnly(ushort flags, ushort qd, ushort an, ushort ns, ushort ar)
    {
        var header = new DnsHeader { Id = 0x4321, Flags = flags, QuestionCount = qd, AnswerCount = an, AuthorityCount = ns, AdditionalCount = ar };
        var bytes = new byte[DnsHeader.Size];
        header.Write(bytes);
        return bytes;
    }

    private static byte[] Ixfr()
    {
        var query = DnsMessage.Parse(Query("cluster.local.", DnsType.IXFR, edns: null));
        query.Authorities.Add(Soa());
        return query.ToArray();
    }

    private static SoaRecord Soa() => new(DnsName.Parse("ns.dns.cluster.local."), DnsName.Parse("hostmaster.cluster.local."), 12345, 7200, 1800, 86400, 30)
    {
        Name = DnsName.Parse("cluster.local."),
        Ttl = 30,
    };

    private static byte[] TwoOpt()
    {
        var query = DnsMessage.Parse(Query("kubernetes.default.svc.cluster.local.", DnsType.A));
        var bytes = query.ToArray();
        // Append a second OPT by hand (the writer keeps only one).
        byte[] opt = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0];
        var result = new byte[bytes.Length + opt.Length];
        bytes.CopyTo(result, 0);
        opt.CopyTo(result, bytes.Length);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(10), 2);
        return result;
    }

    private static byte[] TwoQuestions()
    {
        var query = DnsMessage.Parse(Query("kubernetes.default.svc.cluster.local.", DnsType.A, edns: null));
        query.Questions.Add(new DnsQuestion(DnsName.Parse("kube-dns.kube-system.svc.cluster.local."), DnsType.AAAA));
        return query.ToArray();
    }

    private static byte[] PointerOwnerOpt()
    {
        // An OPT record whose owner is a compression pointer to the question name (not root).
        var bytes = Query("kubernetes.default.svc.cluster.local.", DnsType.A, edns: null);
        byte[] opt = [0xC0, 0x0C, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0];
        var result = new byte[bytes.Length + opt.Length - 1];
        bytes.CopyTo(result, 0);
        opt.AsSpan(0, opt.Length - 1).CopyTo(result.AsSpan(bytes.Length));
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(10), 1);
        return result;
    }

    private static byte[] Reply(bool manyRecords = false)
    {
        var query = DnsMessage.Parse(Query("kubernetes.default.svc.cluster.local.", DnsType.A));
        var reply = DnsMessage.CreateReply(query);
        reply.Header.Authoritative = true;
        var owner = DnsName.Parse("kubernetes.default.svc.cluster.local.");
        reply.Answers.Add(new ARecord(IPAddress.Parse("10.96.0.1")) { Name = owner, Ttl = 5 });
        if (manyRecords)
        {
            reply.Answers.Add(new AaaaRecord(IPAddress.Parse("fd00::1")) { Name = owner, Ttl = 5 });
            reply.Answers.Add(new CnameRecord(DnsName.Parse("alias.default.svc.cluster.local.")) { Name = owner, Ttl = 5 });
            reply.Answers.Add(new SrvRecord(0, 100, 443, owner) { Name = DnsName.Parse("_https._tcp.kubernetes.default.svc.cluster.local."), Ttl = 5 });
            reply.Answers.Add(new PtrRecord(owner) { Name = DnsName.Parse("1.0.96.10.in-addr.arpa."), Ttl = 5 });
            reply.Answers.Add(new MxRecord(10, DnsName.Parse("mail.cluster.local.")) { Name = owner, Ttl = 5 });
            reply.Answers.Add(new TxtRecord(["hello", "", new string('t', 255)]) { Name = owner, Ttl = 5 });
            reply.Answers.Add(new HinfoRecord("RFC8482", "") { Name = owner, Ttl = 5 });
            reply.Answers.Add(new DnameRecord(DnsName.Parse("svc.cluster.local.")) { Name = DnsName.Parse("old.cluster.local."), Ttl = 5 });
            reply.Answers.Add(new UnknownRecord((DnsType)99, [1, 2, 3, 4]) { Name = owner, Ttl = 5 });
            reply.Authorities.Add(Soa());
            reply.Authorities.Add(new NsRecord(DnsName.Parse("ns.dns.cluster.local.")) { Name = DnsName.Parse("cluster.local."), Ttl = 5 });
            reply.Additionals.Add(new ARecord(IPAddress.Parse("10.96.0.10")) { Name = DnsName.Parse("ns.dns.cluster.local."), Ttl = 5 });
        }
        reply.Additionals.Add(OptRecord.Create(1232, options: [new EdnsOption(10, Bytes(24, 0xC4))]));
        return reply.ToArray();
    }

    private static string LongName()
    {
        // 4 labels of 63 and the root: 4 * 64 + 1 = 257 is too long; 3 of 63 and one of 61 gives exactly 255.
        return $"{new string('a', 63)}.{new string('b', 63)}.{new string('c', 63)}.{new string('d', 61)}.";
    }

    private static string ManyLabels()
    {
        // 127 one-octet labels: 127 * 2 + 1 = 255 octets, the most labels a name can have.
        var parts = new string[127];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = ((char)('a' + i % 26)).ToString();
        }
        return string.Join('.', parts) + ".";
    }

    private static byte[] Bytes(int count, byte seed)
    {
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
        {
            bytes[i] = (byte)(seed + i * 37);
        }
        return bytes;
    }
}
