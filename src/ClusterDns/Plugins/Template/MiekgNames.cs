using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Template;

/// <summary>
/// miekg/dns's StringToClass, StringToType and StringToRcode (exact, case-sensitive, no <c>TYPEnnn</c> forms), which
/// CoreDNS's template setup looks its arguments up in, and the reverse maps it prints <c>.Class</c>, <c>.Type</c> and
/// the metric labels with ("" for a value without a name, as a Go map miss gives).
/// </summary>
internal static class MiekgNames
{
    private static readonly (string Name, ushort Value)[] Types =
    [
        ("None", 0), ("A", 1), ("NS", 2), ("MD", 3), ("MF", 4), ("CNAME", 5), ("SOA", 6), ("MB", 7), ("MG", 8), ("MR", 9),
        ("NULL", 10), ("PTR", 12), ("HINFO", 13), ("MINFO", 14), ("MX", 15), ("TXT", 16), ("RP", 17), ("AFSDB", 18),
        ("X25", 19), ("ISDN", 20), ("RT", 21), ("NSAP-PTR", 23), ("SIG", 24), ("KEY", 25), ("PX", 26), ("GPOS", 27),
        ("AAAA", 28), ("LOC", 29), ("NXT", 30), ("EID", 31), ("NIMLOC", 32), ("SRV", 33), ("ATMA", 34), ("NAPTR", 35),
        ("KX", 36), ("CERT", 37), ("DNAME", 39), ("OPT", 41), ("APL", 42), ("DS", 43), ("SSHFP", 44), ("IPSECKEY", 45),
        ("RRSIG", 46), ("NSEC", 47), ("DNSKEY", 48), ("DHCID", 49), ("NSEC3", 50), ("NSEC3PARAM", 51), ("TLSA", 52),
        ("SMIMEA", 53), ("HIP", 55), ("NINFO", 56), ("RKEY", 57), ("TALINK", 58), ("CDS", 59), ("CDNSKEY", 60),
        ("OPENPGPKEY", 61), ("CSYNC", 62), ("ZONEMD", 63), ("SVCB", 64), ("HTTPS", 65), ("SPF", 99), ("UINFO", 100),
        ("UID", 101), ("GID", 102), ("UNSPEC", 103), ("NID", 104), ("L32", 105), ("L64", 106), ("LP", 107),
        ("EUI48", 108), ("EUI64", 109), ("URI", 256), ("CAA", 257), ("AVC", 258), ("AMTRELAY", 260), ("TKEY", 249),
        ("TSIG", 250), ("IXFR", 251), ("AXFR", 252), ("MAILB", 253), ("MAILA", 254), ("ANY", 255), ("TA", 32768),
        ("DLV", 32769), ("Reserved", 65535),
    ];

    private static readonly Dictionary<ushort, string> TypeNames = BuildTypeNames();

    private static Dictionary<ushort, string> BuildTypeNames()
    {
        var names = new Dictionary<ushort, string>();
        foreach (var (name, value) in Types)
        {
            names[value] = name;
        }
        return names;
    }

    public static bool TryParseType(string text, out DnsType type)
    {
        foreach (var (name, value) in Types)
        {
            if (name == text)
            {
                type = (DnsType)value;
                return true;
            }
        }
        type = DnsType.None;
        return false;
    }

    public static bool TryParseClass(string text, out DnsClass @class)
    {
        @class = text switch
        {
            "IN" => DnsClass.IN,
            "CS" => (DnsClass)2,
            "CH" => DnsClass.CH,
            "HS" => DnsClass.HS,
            "NONE" => DnsClass.NONE,
            "ANY" => DnsClass.ANY,
            _ => 0,
        };
        return @class != 0;
    }

    /// <summary>StringToRcode: RcodeToString reversed plus NOTIMPL.</summary>
    public static bool TryParseRcode(string text, out DnsRcode rcode)
    {
        int value = text switch
        {
            "NOERROR" => 0,
            "FORMERR" => 1,
            "SERVFAIL" => 2,
            "NXDOMAIN" => 3,
            "NOTIMP" or "NOTIMPL" => 4,
            "REFUSED" => 5,
            "YXDOMAIN" => 6,
            "YXRRSET" => 7,
            "NXRRSET" => 8,
            "NOTAUTH" => 9,
            "NOTZONE" => 10,
            "BADSIG" => 16,
            "BADKEY" => 17,
            "BADTIME" => 18,
            "BADMODE" => 19,
            "BADNAME" => 20,
            "BADALG" => 21,
            "BADTRUNC" => 22,
            "BADCOOKIE" => 23,
            _ => -1,
        };
        rcode = (DnsRcode)Math.Max(value, 0);
        return value >= 0;
    }

    public static string TypeText(DnsType type) => TypeNames.GetValueOrDefault((ushort)type, string.Empty);

    public static string ClassText(DnsClass @class) => @class switch
    {
        DnsClass.IN => "IN",
        (DnsClass)2 => "CS",
        DnsClass.CH => "CH",
        DnsClass.HS => "HS",
        DnsClass.NONE => "NONE",
        DnsClass.ANY => "ANY",
        _ => string.Empty,
    };
}
