using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>The kubernetes conformance table: every one of its 141 rows through <c>KubernetesPlugin.ServeAsync</c>.</summary>
public sealed class ConformanceTableTests
{
    private const string SoaCl = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5";
    private const string SoaIn4 = "in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 1700000000 7200 1800 86400 5";
    private const string Ip6Dual = "c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.";
    private const string Ip6Web0 = "1.0.0.0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.0.d.f.ip6.arpa.";

    /// <summary>A table row: the case, the profile (Corefile block) it runs under, and whether the plugin must pass it on.</summary>
    public sealed record Row(int Id, string Profile, DnsCase Case, bool Next = false, DnsTransport Transport = DnsTransport.Udp)
    {
        public override string ToString() => $"{Case} ({Profile}, row {Id})";
    }

    private static Row Make(int id, string p, string q, DnsType t, DnsRcode rcode, string[] an, string[] ns, string[] ad,
        bool authoritative = true, bool next = false, DnsTransport transport = DnsTransport.Udp) =>
        new(id, p, new DnsCase(Expand(q), t, rcode)
        {
            Answer = ExpandAll(an),
            Authority = ExpandAll(ns),
            Additional = ExpandAll(ad),
            Authoritative = authoritative,
        }, next, transport);

    private static Row Ok(int id, string p, string q, DnsType t, string[] an, params string[] ad) =>
        Make(id, p, q, t, DnsRcode.NoError, an, [], ad);

    private static Row Nx(int id, string p, string q, DnsType t, string soa = SoaCl) =>
        Make(id, p, q, t, DnsRcode.NXDomain, [], [soa], []);

    private static Row Nd(int id, string p, string q, DnsType t, string soa = SoaCl) =>
        Make(id, p, q, t, DnsRcode.NoError, [], [soa], []);

    private static Row Next(int id, string p, string q, DnsType t) =>
        Make(id, p, q, t, DnsRcode.NoError, [], [], [], next: true);

    private static readonly DnsType A = DnsType.A, AAAA = DnsType.AAAA, SRV = DnsType.SRV, TXT = DnsType.TXT, CNAME = DnsType.CNAME,
        PTR = DnsType.PTR, SOA = DnsType.SOA, NS = DnsType.NS, MX = DnsType.MX, HINFO = DnsType.HINFO;

    private static readonly string[] HlGlue =
    [
        "web-0.hl.ns1.svc.c.l. 5 IN A 10.244.2.1",
        "web-1.hl.ns1.svc.c.l. 5 IN A 10.244.2.2",
        "10-244-2-3.hl.ns1.svc.c.l. 5 IN A 10.244.2.3",
        "web-0.hl.ns1.svc.c.l. 5 IN AAAA fd00:244::2:1",
    ];

    internal static readonly Row[] Rows =
    [
        Ok(1, "P0", "web.ns1.svc.c.l.", A, ["web.ns1.svc.c.l. 5 IN A 10.96.0.11"]),
        Nd(2, "P0", "web.ns1.svc.c.l.", AAAA),
        Ok(3, "P0", "v6.ns1.svc.c.l.", AAAA, ["v6.ns1.svc.c.l. 5 IN AAAA fd00:10:96::6"]),
        Nd(4, "P0", "v6.ns1.svc.c.l.", A),
        Ok(5, "P0", "dual.ns1.svc.c.l.", A, ["dual.ns1.svc.c.l. 5 IN A 10.96.0.12"]),
        Ok(6, "P0", "dual.ns1.svc.c.l.", AAAA, ["dual.ns1.svc.c.l. 5 IN AAAA fd00:10:96::c"]),
        Ok(7, "P0", "WeB.Ns1.SVC.Cluster.Local.", A, ["WeB.Ns1.SVC.Cluster.Local. 5 IN A 10.96.0.11"]),
        Nx(8, "P0", "nope.ns1.svc.c.l.", A),
        Nx(9, "P0", "web.nope.svc.c.l.", A),
        Nd(10, "P0", "ns1.svc.c.l.", A),
        Nd(11, "P0", "empty-ns.svc.c.l.", A),
        Nx(12, "P0", "nope.svc.c.l.", A),
        Nd(13, "P0", "svc.c.l.", A),
        Nd(14, "P0", "pod.c.l.", A),
        Nx(15, "P0", "foo.c.l.", A),
        Nd(16, "P0", "cluster.local.", A),
        Nx(17, "P0", "a.b.c.web.ns1.svc.c.l.", A),
        Ok(18, "P0", "_http._tcp.web.ns1.svc.c.l.", SRV, ["_http._tcp.web.ns1.svc.c.l. 5 IN SRV 0 100 80 web.ns1.svc.c.l."],
            "web.ns1.svc.c.l. 5 IN A 10.96.0.11"),
        Ok(19, "P0", "web.ns1.svc.c.l.", SRV, ["web.ns1.svc.c.l. 5 IN SRV 0 50 80 web.ns1.svc.c.l.", "web.ns1.svc.c.l. 5 IN SRV 0 50 443 web.ns1.svc.c.l."],
            "web.ns1.svc.c.l. 5 IN A 10.96.0.11"),
        Ok(20, "P0", "_HTTPS._TCP.web.ns1.svc.c.l.", SRV, ["_HTTPS._TCP.web.ns1.svc.c.l. 5 IN SRV 0 100 443 web.ns1.svc.c.l."],
            "web.ns1.svc.c.l. 5 IN A 10.96.0.11"),
        Nx(21, "P0", "_http._udp.web.ns1.svc.c.l.", SRV),
        Nx(22, "P0", "_ftp._tcp.web.ns1.svc.c.l.", SRV),
        Ok(23, "P0", "dual.ns1.svc.c.l.", SRV, ["dual.ns1.svc.c.l. 5 IN SRV 0 50 80 dual.ns1.svc.c.l."],
            "dual.ns1.svc.c.l. 5 IN A 10.96.0.12", "dual.ns1.svc.c.l. 5 IN AAAA fd00:10:96::c"),
        Ok(24, "P0", "_http._tcp.v6.ns1.svc.c.l.", SRV, ["_http._tcp.v6.ns1.svc.c.l. 5 IN SRV 0 100 80 v6.ns1.svc.c.l."],
            "v6.ns1.svc.c.l. 5 IN AAAA fd00:10:96::6"),
        Ok(25, "P0", "kube-dns.kube-system.svc.c.l.", SRV,
            ["kube-dns.kube-system.svc.c.l. 5 IN SRV 0 33 53 kube-dns.kube-system.svc.c.l.", "kube-dns.kube-system.svc.c.l. 5 IN SRV 0 33 9153 kube-dns.kube-system.svc.c.l."],
            "kube-dns.kube-system.svc.c.l. 5 IN A 10.96.0.10"),
        Ok(26, "P0", "_dns._udp.kube-dns.kube-system.svc.c.l.", SRV,
            ["_dns._udp.kube-dns.kube-system.svc.c.l. 5 IN SRV 0 100 53 kube-dns.kube-system.svc.c.l."], "kube-dns.kube-system.svc.c.l. 5 IN A 10.96.0.10"),
        Nd(27, "P0", "noport.ns1.svc.c.l.", SRV),
        Ok(28, "P0", "noport.ns1.svc.c.l.", A, ["noport.ns1.svc.c.l. 5 IN A 10.96.0.14"]),
        Ok(29, "P0", "unnamed.ns1.svc.c.l.", SRV, ["unnamed.ns1.svc.c.l. 5 IN SRV 0 100 8080 unnamed.ns1.svc.c.l."],
            "unnamed.ns1.svc.c.l. 5 IN A 10.96.0.15"),
        Nx(30, "P0", "_http._tcp.unnamed.ns1.svc.c.l.", SRV),
        Ok(31, "P0", "_http._tcp.web.ns1.svc.c.l.", A, ["_http._tcp.web.ns1.svc.c.l. 5 IN A 10.96.0.11"]),
        Ok(32, "P0", "empty.ns1.svc.c.l.", A, ["empty.ns1.svc.c.l. 5 IN A 10.96.0.13"]),
        Ok(33, "P0", "hl.ns1.svc.c.l.", A, ["hl.ns1.svc.c.l. 5 IN A 10.244.2.1", "hl.ns1.svc.c.l. 5 IN A 10.244.2.2", "hl.ns1.svc.c.l. 5 IN A 10.244.2.3"]),
        Ok(34, "P0", "hl.ns1.svc.c.l.", AAAA, ["hl.ns1.svc.c.l. 5 IN AAAA fd00:244::2:1"]),
        Ok(35, "P0", "web-0.hl.ns1.svc.c.l.", A, ["web-0.hl.ns1.svc.c.l. 5 IN A 10.244.2.1"]),
        Ok(36, "P0", "web-0.hl.ns1.svc.c.l.", AAAA, ["web-0.hl.ns1.svc.c.l. 5 IN AAAA fd00:244::2:1"]),
        Nd(37, "P0", "web-1.hl.ns1.svc.c.l.", AAAA),
        Ok(38, "P0", "10-244-2-3.hl.ns1.svc.c.l.", A, ["10-244-2-3.hl.ns1.svc.c.l. 5 IN A 10.244.2.3"]),
        Nx(39, "P0", "web-3.hl.ns1.svc.c.l.", A),
        Ok(40, "P0", "_http._tcp.hl.ns1.svc.c.l.", SRV, HlSrv("_http._tcp.hl.ns1.svc.c.l."), HlGlue),
        Ok(41, "P0", "hl.ns1.svc.c.l.", SRV, HlSrv("hl.ns1.svc.c.l."), HlGlue),
        Ok(42, "P0", "web-0.hl.ns1.svc.c.l.", SRV, ["web-0.hl.ns1.svc.c.l. 5 IN SRV 0 50 80 web-0.hl.ns1.svc.c.l."],
            "web-0.hl.ns1.svc.c.l. 5 IN A 10.244.2.1", "web-0.hl.ns1.svc.c.l. 5 IN AAAA fd00:244::2:1"),
        Nx(43, "P0", "hl-nr.ns1.svc.c.l.", A),
        Nx(44, "P0", "hl-nr.ns1.svc.c.l.", SRV),
        Nx(45, "P0", "hl-nr.ns1.svc.c.l.", TXT),
        Ok(46, "P0", "hl-np.ns1.svc.c.l.", A, ["hl-np.ns1.svc.c.l. 5 IN A 10.244.3.1"]),
        Nd(47, "P0", "hl-np.ns1.svc.c.l.", SRV),
        Ok(48, "P0", "10-244-1-1.web.ns1.svc.c.l.", A, ["10-244-1-1.web.ns1.svc.c.l. 5 IN A 10.244.1.1"]),
        Nx(49, "P0", "10-244-1-2.web.ns1.svc.c.l.", A),
        Ok(50, "P0", "ext.ns1.svc.c.l.", CNAME, ["ext.ns1.svc.c.l. 5 IN CNAME www.example.com."]),
        Ok(51, "P0", "ext.ns1.svc.c.l.", A, ["ext.ns1.svc.c.l. 5 IN CNAME www.example.com.", "www.example.com. 300 IN A 192.0.2.10"]),
        Ok(52, "P0", "ext.ns1.svc.c.l.", AAAA, ["ext.ns1.svc.c.l. 5 IN CNAME www.example.com.", "www.example.com. 300 IN AAAA 2001:db8::10"]),
        Nd(53, "P0", "ext.ns1.svc.c.l.", SRV),
        Nx(54, "P0", "_http._tcp.ext.ns1.svc.c.l.", SRV),
        Nd(55, "P0", "ext.ns1.svc.c.l.", TXT),
        Ok(56, "P0", "ext-in.ns1.svc.c.l.", A, ["ext-in.ns1.svc.c.l. 5 IN CNAME web.ns1.svc.c.l.", "web.ns1.svc.c.l. 5 IN A 10.96.0.11"]),
        Ok(57, "P0", "ext-nx.ns1.svc.c.l.", A, ["ext-nx.ns1.svc.c.l. 5 IN CNAME nx.example.com."]),
        Nx(58, "P0", "sub.ext.ns1.svc.c.l.", CNAME),
        Nd(59, "P0", "web.ns1.svc.c.l.", CNAME),
        Ok(60, "P0", "dns-version.cluster.local.", TXT, ["dns-version.cluster.local. 28800 IN TXT \"1.1.0\""]),
        Nd(61, "P0", "web.ns1.svc.c.l.", TXT),
        Nx(62, "P0", "nope.ns1.svc.c.l.", TXT),
        Nx(63, "P0", "dns-version.cluster.local.", A),
        Nx(64, "P0", "cluster.local.", TXT),
        Nx(65, "P0", "ns1.svc.c.l.", TXT),
        Ok(66, "P0", "cluster.local.", SOA, [SoaCl]),
        Ok(67, "P0", "ClUsTeR.lOcAl.", SOA, ["ClUsTeR.lOcAl. 5 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. 1700000000 7200 1800 86400 5"]),
        Ok(68, "P0", "cluster.local.", NS, ["cluster.local. 5 IN NS kube-dns.kube-system.svc.c.l."], "kube-dns.kube-system.svc.c.l. 5 IN A 10.96.0.10"),
        Ok(69, "P0", "CLUSTER.local.", NS, ["CLUSTER.local. 5 IN NS kube-dns.kube-system.svc.CLUSTER.local."],
            "kube-dns.kube-system.svc.CLUSTER.local. 5 IN A 10.96.0.10"),
        Nd(70, "P0", "web.ns1.svc.c.l.", SOA),
        Nd(71, "P0", "nope.ns1.svc.c.l.", SOA),
        Nd(72, "P0", "svc.c.l.", NS),
        Nx(73, "P0", "foo.c.l.", NS),
        Ok(74, "P0", "ns.dns.cluster.local.", A, ["ns.dns.cluster.local. 5 IN A 10.96.0.10"]),
        Nd(75, "P0", "ns.dns.cluster.local.", AAAA),
        Nx(76, "P0", "ns.dns.cluster.local.", TXT),
        Nd(77, "P0", "cluster.local.", HINFO),
        Nd(78, "P0", "web.ns1.svc.c.l.", HINFO),
        Nx(79, "P0", "nope.ns1.svc.c.l.", HINFO),
        Nd(80, "P0", "web.ns1.svc.c.l.", MX),
        Nd(81, "P0", "web.ns1.svc.c.l.", DnsType.ANY),
        Make(82, "P0", "cluster.local.", DnsType.AXFR, DnsRcode.Refused, [], [], [], authoritative: false, transport: DnsTransport.Tcp),
        Ok(83, "P0", "11.0.96.10.in-addr.arpa.", PTR, ["11.0.96.10.in-addr.arpa. 5 IN PTR web.ns1.svc.c.l."]),
        Ok(84, "P0", Ip6Dual, PTR, [Ip6Dual + " 5 IN PTR dual.ns1.svc.c.l."]),
        Ok(85, "P0", "1.1.244.10.in-addr.arpa.", PTR, ["1.1.244.10.in-addr.arpa. 5 IN PTR 10-244-1-1.web.ns1.svc.c.l."]),
        Ok(86, "P0", "1.2.244.10.in-addr.arpa.", PTR,
            ["1.2.244.10.in-addr.arpa. 5 IN PTR web-0.hl.ns1.svc.c.l.", "1.2.244.10.in-addr.arpa. 5 IN PTR 10-244-2-1.hl-peer.ns1.svc.c.l."]),
        Ok(87, "P0", Ip6Web0, PTR, [Ip6Web0 + " 5 IN PTR web-0.hl.ns1.svc.c.l."]),
        Nx(88, "P0", "2.1.244.10.in-addr.arpa.", PTR, SoaIn4),
        Nx(89, "P0", "50.1.244.10.in-addr.arpa.", PTR, SoaIn4),
        Nx(90, "P0", "10.in-addr.arpa.", PTR, SoaIn4),
        Nd(91, "P0", "web.ns1.svc.c.l.", PTR),
        Ok(92, "P0", "in-addr.arpa.", SOA, [SoaIn4]),
        Nx(93, "P0", "10-244-1-50.ns1.pod.c.l.", A),
        Nx(94, "P0", "ns1.pod.c.l.", A),
        Ok(95, "PI", "10-244-1-50.ns1.pod.c.l.", A, ["10-244-1-50.ns1.pod.c.l. 5 IN A 10.244.1.50"]),
        Ok(96, "PI", "1-2-3-4.ns1.pod.c.l.", A, ["1-2-3-4.ns1.pod.c.l. 5 IN A 1.2.3.4"]),
        Nx(97, "PI", "1-2-3-4.nope.pod.c.l.", A),
        Nx(98, "PI", "blah.ns1.pod.c.l.", A),
        Ok(99, "PI", "fd00--1.ns1.pod.c.l.", AAAA, ["fd00--1.ns1.pod.c.l. 5 IN AAAA fd00::1"]),
        Nd(100, "PI", "ns1.pod.c.l.", A),
        Ok(101, "PI", "10-244-1-50.ns1.pod.c.l.", SRV, ["10-244-1-50.ns1.pod.c.l. 5 IN SRV 0 100 0 10-244-1-50.ns1.pod.c.l."],
            "10-244-1-50.ns1.pod.c.l. 5 IN A 10.244.1.50"),
        Ok(102, "PV", "10-244-1-50.ns1.pod.c.l.", A, ["10-244-1-50.ns1.pod.c.l. 5 IN A 10.244.1.50"]),
        Nx(103, "PV", "10-244-1-50.ns2.pod.c.l.", A),
        Nx(104, "PV", "1-2-3-4.ns1.pod.c.l.", A),
        Nx(105, "PV", "10-244-1-60.ns1.pod.c.l.", A),
        Ok(106, "PN", "web.ns1.svc.c.l.", A, ["web.ns1.svc.c.l. 5 IN A 10.96.0.11"]),
        Nx(107, "PN", "web.ns2.svc.c.l.", A),
        Nx(108, "PN", "11.1.96.10.in-addr.arpa.", PTR, SoaIn4),
        Ok(109, "PN", "cluster.local.", NS, ["cluster.local. 5 IN NS kube-dns.kube-system.svc.c.l."], "kube-dns.kube-system.svc.c.l. 5 IN A 10.96.0.10"),
        Nx(110, "PL", "web.ns2.svc.c.l.", A),
        Ok(111, "PL", "11.1.96.10.in-addr.arpa.", PTR, ["11.1.96.10.in-addr.arpa. 5 IN PTR web.ns2.svc.c.l."]),
        Nx(112, "PE", "empty.ns1.svc.c.l.", A),
        Ok(113, "PE", "web.ns1.svc.c.l.", A, ["web.ns1.svc.c.l. 5 IN A 10.96.0.11"]),
        Ok(114, "PE", "ext.ns1.svc.c.l.", CNAME, ["ext.ns1.svc.c.l. 5 IN CNAME www.example.com."]),
        Ok(115, "PE", "hl.ns1.svc.c.l.", A, ["hl.ns1.svc.c.l. 5 IN A 10.244.2.1", "hl.ns1.svc.c.l. 5 IN A 10.244.2.2", "hl.ns1.svc.c.l. 5 IN A 10.244.2.3"]),
        Ok(116, "PP", "hl-5d8f-ccccc.hl.ns1.svc.c.l.", A, ["hl-5d8f-ccccc.hl.ns1.svc.c.l. 5 IN A 10.244.2.3"]),
        Nx(117, "PP", "10-244-2-3.hl.ns1.svc.c.l.", A),
        Ok(118, "PP", "3.2.244.10.in-addr.arpa.", PTR, ["3.2.244.10.in-addr.arpa. 5 IN PTR hl-5d8f-ccccc.hl.ns1.svc.c.l."]),
        Ok(119, "PP", "web-0.hl.ns1.svc.c.l.", A, ["web-0.hl.ns1.svc.c.l. 5 IN A 10.244.2.1"]),
        Ok(120, "P30", "web.ns1.svc.c.l.", A, ["web.ns1.svc.c.l. 30 IN A 10.96.0.11"]),
        Nx(121, "P30", "nope.ns1.svc.c.l.", A, "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30"),
        Nx(122, "P3600", "nope.ns1.svc.c.l.", A, "cluster.local. 300 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 3600"),
        Ok(123, "P30", "dns-version.cluster.local.", TXT, ["dns-version.cluster.local. 28800 IN TXT \"1.1.0\""]),
        Next(124, "PF", "nope.ns1.svc.c.l.", A),
        Nd(125, "PF", "web.ns1.svc.c.l.", AAAA),
        Next(126, "PFR", "9.9.9.9.in-addr.arpa.", PTR),
        Nx(127, "PFR", "nope.ns1.svc.c.l.", A),
        Nx(128, "PX", "hl.ns1.svc.c.l.", A),
        Ok(129, "PX", "web.ns1.svc.c.l.", A, ["web.ns1.svc.c.l. 5 IN A 10.96.0.11"]),
        Nx(130, "PX", "1.1.244.10.in-addr.arpa.", PTR, SoaIn4),
        Ok(131, "PX", "cluster.local.", NS, ["cluster.local. 5 IN NS ns.dns.cluster.local."], "ns.dns.cluster.local. 5 IN A 10.244.0.53"),
        Make(132, "PU", "web.ns1.svc.c.l.", A, DnsRcode.ServFail, [],
            ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"], []),
        Nd(133, "PU", "svc.c.l.", A, "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 5"),
        Ok(134, "PU", "dns-version.cluster.local.", TXT, ["dns-version.cluster.local. 28800 IN TXT \"1.1.0\""]),
        Next(135, "PU+PF", "web.ns1.svc.c.l.", A),
        Ok(136, "PM", "web.ns1.svc.example.org.", A, ["web.ns1.svc.example.org. 5 IN A 10.96.0.11"]),
        Nx(137, "PM", "nope.ns1.svc.example.org.", A, "example.org. 5 IN SOA ns.dns.example.org. hostmaster.example.org. 1700000000 7200 1800 86400 5"),
        Ok(138, "PM", "11.0.96.10.in-addr.arpa.", PTR, ["11.0.96.10.in-addr.arpa. 5 IN PTR web.ns1.svc.cluster.local."]),
        Nx(139, "P0", "*.ns1.svc.c.l.", A),
        Nx(140, "P0", "any.ns1.svc.c.l.", A),
        Ok(141, "P0", "http.tcp.web.ns1.svc.c.l.", SRV, ["http.tcp.web.ns1.svc.c.l. 5 IN SRV 0 100 80 web.ns1.svc.c.l."], "web.ns1.svc.c.l. 5 IN A 10.96.0.11"),
    ];

    private static string[] HlSrv(string owner) =>
    [
        owner + " 5 IN SRV 0 25 80 web-0.hl.ns1.svc.c.l.",
        owner + " 5 IN SRV 0 25 80 web-1.hl.ns1.svc.c.l.",
        owner + " 5 IN SRV 0 25 80 10-244-2-3.hl.ns1.svc.c.l.",
    ];

    public static TheoryData<Row> Cases()
    {
        var data = new TheoryData<Row>();
        foreach (var row in Rows)
        {
            data.Add(row);
        }
        return data;
    }

    [Fact]
    public void Table_has_all_141_rows_in_order()
    {
        Assert.Equal(141, Rows.Length);
        for (var i = 0; i < Rows.Length; i++)
        {
            Assert.Equal(i + 1, Rows[i].Id);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Row_is_served_as_the_table_says(Row row)
    {
        var c = row.Case;
        var (plugin, next) = F1Fixture.CreatePlugin(row.Profile);
        if (!row.Next)
        {
            // A first, different-looking query (id, RD, EDNS) compiles the answer; the asserted one below is then
            // served from the precompiled bytes, so every row checks the fast path too.
            var warmUp = new DnsRequest();
            var warmQuery = DnsMessage.CreateQuery(c.Name, c.Type, id: 7, recursionDesired: false, ednsSize: 4096);
            warmUp.Load(warmQuery.ToArray(), row.Transport);
            await plugin.ServeAsync(warmUp, CancellationToken.None);
            if (warmUp.Response.Written)
            {
                var warm = warmUp.Response.ReadMessage();
                Assert.Equal(7, warm.Header.Id);
                Assert.False(warm.Header.RecursionDesired);
                Assert.NotNull(warm.Opt);
            }
        }
        var request = new DnsRequest();
        var id = (ushort)(1000 + row.Id);
        var query = DnsMessage.CreateQuery(c.Name, c.Type, id: id);
        Assert.Equal(QueryDisposition.Query, request.Load(query.ToArray(), row.Transport));

        var result = await plugin.ServeAsync(request, CancellationToken.None);

        if (row.Next)
        {
            Assert.Equal(1, next.Calls);
            Assert.False(request.Response.Written);
            return;
        }
        Assert.Equal(0, next.Calls);
        if (!request.Response.Written)
        {
            Assert.True(result.ServerWrites, $"{c}: nothing written, result {result}");
            request.Response.WriteError(result.Rcode);
        }
        var reply = request.Response.ReadMessage();
        Assert.True(reply.Header.IsResponse);
        Assert.Equal(id, reply.Header.Id);
        Assert.True(reply.Header.RecursionDesired);
        Assert.Null(reply.Opt);
        c.AssertMatches(reply);
    }

    /// <summary>The table abbreviates "cluster.local." inside names as "c.l." to keep rows on one line.</summary>
    internal static string Expand(string text) => text.Replace(".c.l.", ".cluster.local.", StringComparison.Ordinal);

    private static string[] ExpandAll(string[] lines)
    {
        var result = new string[lines.Length];
        for (var i = 0; i < lines.Length; i++)
        {
            result[i] = Expand(lines[i]);
        }
        return result;
    }
}
