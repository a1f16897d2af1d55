using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Metrics;

/// <summary>
/// Label values of the core DNS metrics as CoreDNS spells them, as small indexes into fixed string tables so the
/// query path can pick a cached child by array index instead of building label arrays.
/// </summary>
public static class DnsLabels
{
    /// <summary>CoreDNS's <c>view</c> label when no <c>view</c> plugin is used.</summary>
    public const string NoView = "";

    /// <summary>The qtypes CoreDNS reports by name (vars.monitorType); the last slot is <c>other</c>.
    /// SVCB joined the list only in 1.14.3, after the 1.11–1.12 behaviour ClusterDns targets, so it counts as other.</summary>
    public static IReadOnlyList<string> TypeNames { get; } =
        ["A", "AAAA", "CNAME", "DNSKEY", "DS", "MX", "NSEC3", "NSEC", "NS", "PTR", "RRSIG", "SOA", "SRV", "TXT", "HTTPS", "IXFR", "AXFR", "ANY", "other"];

    public const int TypeCount = 19;

    public const int OtherType = TypeCount - 1;

    public static IReadOnlyList<string> ProtoNames { get; } = ["udp", "tcp"];

    public static IReadOnlyList<string> FamilyNames { get; } = ["1", "2"];

    /// <summary>Rcodes miekg/dns names (RcodeToString); 16 is BADSIG there, not BADVERS.</summary>
    private static readonly string[] RcodeNames =
    [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
        "NOTZONE", "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADSIG", "BADKEY", "BADTIME", "BADMODE",
        "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE",
    ];

    public static int RcodeCount => RcodeNames.Length;

    public static int TypeIndex(DnsType type) => type switch
    {
        DnsType.A => 0,
        DnsType.AAAA => 1,
        DnsType.CNAME => 2,
        DnsType.DNSKEY => 3,
        DnsType.DS => 4,
        DnsType.MX => 5,
        DnsType.NSEC3 => 6,
        DnsType.NSEC => 7,
        DnsType.NS => 8,
        DnsType.PTR => 9,
        DnsType.RRSIG => 10,
        DnsType.SOA => 11,
        DnsType.SRV => 12,
        DnsType.TXT => 13,
        DnsType.HTTPS => 14,
        DnsType.IXFR => 15,
        DnsType.AXFR => 16,
        DnsType.ANY => 17,
        _ => OtherType,
    };

    /// <summary>The <c>type</c> label of a qtype: its mnemonic when CoreDNS monitors it, else <c>other</c>.</summary>
    public static string Type(DnsType type) => TypeNames[TypeIndex(type)];

    /// <summary>The <c>rcode</c> label as CoreDNS's <c>rcode.ToString</c>: mnemonic, or <c>RCODE</c>+number when unnamed.</summary>
    public static string Rcode(int rcode) =>
        (uint)rcode < (uint)RcodeNames.Length ? RcodeNames[rcode] : "RCODE" + rcode.ToString(CultureInfo.InvariantCulture);

    public static string Rcode(DnsRcode rcode) => Rcode((int)rcode);

    /// <summary>0 = udp, 1 = tcp.</summary>
    public static int ProtoIndex(DnsTransport transport) => transport == DnsTransport.Tcp ? 1 : 0;

    public static string Proto(DnsTransport transport) => ProtoNames[ProtoIndex(transport)];

    /// <summary>0 = IPv4 (family "1"), 1 = IPv6 (family "2"). IPv4-mapped IPv6 clients of dual-mode sockets count as IPv4,
    /// as Go's <c>IP.To4() != nil</c> does. Reads the raw sockaddr: no allocation.</summary>
    public static int FamilyIndex(SocketAddress address)
    {
        if (address.Family != AddressFamily.InterNetworkV6)
        {
            return 0;
        }
        // sockaddr_in6: family(2) port(2) flowinfo(4) address(16) scope(4).
        if (address.Size < 24)
        {
            return 1;
        }
        var ip = address.Buffer.Span.Slice(8, 16);
        return ip[..10].IndexOfAnyExcept((byte)0) < 0 && ip[10] == 0xFF && ip[11] == 0xFF ? 0 : 1;
    }
}

/// <summary>
/// What the core metrics need from a request, captured before the chain runs: a rewrite further down may replace the
/// question, and CoreDNS reports the request as it arrived.
/// </summary>
public readonly struct RequestFacts
{
    private RequestFacts(int proto, int family, int type, bool dnssecOk, int size)
    {
        Proto = (byte)proto;
        Family = (byte)family;
        Type = (byte)type;
        DnssecOk = dnssecOk;
        Size = size;
    }

    public byte Proto { get; }

    public byte Family { get; }

    public byte Type { get; }

    public bool DnssecOk { get; }

    public int Size { get; }

    public static RequestFacts Capture(DnsRequest request) => new(
        DnsLabels.ProtoIndex(request.Transport),
        DnsLabels.FamilyIndex(request.RemoteAddress),
        DnsLabels.TypeIndex(request.Type),
        request.DnssecOk,
        request.QueryLength);
}
