namespace ClusterDns.Protocol;

/// <summary>Resource record and query types (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891 ...).
/// Any 16-bit value is valid; unnamed values print as <c>TYPEnnn</c> (RFC 3597).</summary>
public enum DnsType : ushort
{
    None = 0,
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    HINFO = 13,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    NAPTR = 35,
    DNAME = 39,
    OPT = 41,
    DS = 43,
    RRSIG = 46,
    NSEC = 47,
    DNSKEY = 48,
    NSEC3 = 50,
    SVCB = 64,
    HTTPS = 65,
    IXFR = 251,
    AXFR = 252,
    ANY = 255,
    CAA = 257,
}

/// <summary>Record classes (RFC 1035 §3.2.4).</summary>
public enum DnsClass : ushort
{
    IN = 1,
    CH = 3,
    HS = 4,
    NONE = 254,
    ANY = 255,
}

/// <summary>Response codes, including the extended ones carried in OPT (RFC 6891).</summary>
public enum DnsRcode : ushort
{
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NXDomain = 3,
    NotImp = 4,
    Refused = 5,
    YXDomain = 6,
    YXRRSet = 7,
    NXRRSet = 8,
    NotAuth = 9,
    NotZone = 10,
    BadVers = 16,
}

/// <summary>Header opcodes.</summary>
public enum DnsOpcode : byte
{
    Query = 0,
    IQuery = 1,
    Status = 2,
    Notify = 4,
    Update = 5,
}

/// <summary>Mnemonics as CoreDNS and dig print them.</summary>
public static class DnsMnemonics
{
    private static readonly string?[] TypeNames = BuildTypeNames();
    private static readonly string?[] RcodeNames =
    [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
        "NOTAUTH", "NOTZONE", null, null, null, null, null, "BADVERS",
    ];

    private static string?[] BuildTypeNames()
    {
        var names = new string?[258];
        foreach (var value in Enum.GetValues<DnsType>())
        {
            if (value != DnsType.None)
            {
                names[(int)value] = value.ToString();
            }
        }
        return names;
    }

    /// <summary>The type mnemonic, or <c>TYPEnnn</c> for a type without one.</summary>
    public static string ToText(this DnsType type)
    {
        var index = (int)type;
        return index < TypeNames.Length && TypeNames[index] is { } name ? name : "TYPE" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The class mnemonic, or <c>CLASSnnn</c>.</summary>
    public static string ToText(this DnsClass @class) => @class switch
    {
        DnsClass.IN => "IN",
        DnsClass.CH => "CH",
        DnsClass.HS => "HS",
        DnsClass.NONE => "NONE",
        DnsClass.ANY => "ANY",
        _ => "CLASS" + ((int)@class).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The rcode mnemonic as CoreDNS prints it, or the number when it has none.</summary>
    public static string ToText(this DnsRcode rcode)
    {
        var index = (int)rcode;
        return index < RcodeNames.Length && RcodeNames[index] is { } name ? name : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Parses a type mnemonic or <c>TYPEnnn</c>, case-insensitively.</summary>
    public static bool TryParseType(ReadOnlySpan<char> text, out DnsType type)
    {
        if (text.Length > 4 && text.StartsWith("TYPE", StringComparison.OrdinalIgnoreCase)
            && ushort.TryParse(text[4..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            type = (DnsType)number;
            return true;
        }
        // Enum.TryParse also takes numbers, signs and comma lists ("+1", "A,NS"); only a bare mnemonic is valid here.
        if (IsMnemonic(text) && Enum.TryParse(text, ignoreCase: true, out type) && type != DnsType.None)
        {
            return true;
        }
        type = DnsType.None;
        return false;
    }

    /// <summary>Parses a class mnemonic or <c>CLASSnnn</c>, case-insensitively.</summary>
    public static bool TryParseClass(ReadOnlySpan<char> text, out DnsClass @class)
    {
        if (text.Length > 5 && text.StartsWith("CLASS", StringComparison.OrdinalIgnoreCase)
            && ushort.TryParse(text[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            @class = (DnsClass)number;
            return true;
        }
        if (IsMnemonic(text) && Enum.TryParse(text, ignoreCase: true, out @class))
        {
            return true;
        }
        @class = 0;
        return false;
    }

    private static bool IsMnemonic(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || !char.IsAsciiLetter(text[0]))
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Parses an rcode mnemonic (NOERROR, NXDOMAIN, ...) or a number.</summary>
    public static bool TryParseRcode(ReadOnlySpan<char> text, out DnsRcode rcode)
    {
        if (ushort.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number <= 4095)
        {
            rcode = (DnsRcode)number;
            return true;
        }
        for (var i = 0; i < RcodeNames.Length; i++)
        {
            if (RcodeNames[i] is { } name && text.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                rcode = (DnsRcode)i;
                return true;
            }
        }
        rcode = 0;
        return false;
    }
}
