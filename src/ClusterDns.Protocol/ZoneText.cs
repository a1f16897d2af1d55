using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ClusterDns.Protocol;

/// <summary>
/// Zone-file (RFC 1035 §5.1) presentation form of single records: <c>owner [ttl] [class] type rdata</c>.
/// Owner and names in RDATA are absolute, or relative to <paramref name="origin"/> when one is given.
/// Used by tests, by plugins that read zone text (template, hosts, file) and by the CLI.
/// </summary>
public static class ZoneText
{
    public static DnsRecord ParseRecord(string text, DnsName? origin = null, uint defaultTtl = 3600) =>
        TryParseRecord(text, out var record, out var error, origin, defaultTtl) ? record! : throw new FormatException(error);

    public static bool TryParseRecord(string text, out DnsRecord? record, out string error, DnsName? origin = null, uint defaultTtl = 3600)
    {
        record = null;
        var tokens = Tokenize(text, out error);
        if (tokens is null)
        {
            return false;
        }
        if (tokens.Count < 3)
        {
            error = $"not enough fields in record: \"{text}\"";
            return false;
        }
        if (!TryParseName(tokens[0].Text, origin, out var owner))
        {
            error = $"bad owner name: \"{tokens[0].Text}\"";
            return false;
        }
        var index = 1;
        var ttl = defaultTtl;
        var @class = DnsClass.IN;
        for (var field = 0; field < 2 && index < tokens.Count; field++)
        {
            var token = tokens[index].Text;
            if (uint.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                ttl = number;
                index++;
            }
            else if (DnsMnemonics.TryParseClass(token, out var parsedClass) && !DnsMnemonics.TryParseType(token, out _))
            {
                @class = parsedClass;
                index++;
            }
        }
        if (index >= tokens.Count || !DnsMnemonics.TryParseType(tokens[index].Text, out var type))
        {
            error = $"bad or missing type in record: \"{text}\"";
            return false;
        }
        var data = tokens.GetRange(index + 1, tokens.Count - index - 1);
        record = ParseData(type, data, owner, origin, out error);
        if (record is null)
        {
            error = $"bad {type.ToText()} rdata in \"{text}\": {error}";
            return false;
        }
        record = record with { Name = owner, Ttl = ttl, Class = @class };
        return true;
    }

    private static DnsRecord? ParseData(DnsType type, List<Token> data, DnsName owner, DnsName? origin, out string error)
    {
        error = "wrong number of fields";
        if (data.Count >= 1 && data[0].Text == @"\#" && !data[0].Quoted)
        {
            return ParseGeneric(type, data, owner, out error);
        }
        switch (type)
        {
            case DnsType.A when data.Count == 1 && IPAddress.TryParse(data[0].Text, out var a) && a.AddressFamily == AddressFamily.InterNetwork:
                return new ARecord(a) { Name = owner };
            case DnsType.AAAA when data.Count == 1 && IPAddress.TryParse(data[0].Text, out var a6) && a6.AddressFamily == AddressFamily.InterNetworkV6:
                return new AaaaRecord(a6) { Name = owner };
            case DnsType.CNAME when data.Count == 1 && TryParseName(data[0].Text, origin, out var cname):
                return new CnameRecord(cname) { Name = owner };
            case DnsType.NS when data.Count == 1 && TryParseName(data[0].Text, origin, out var ns):
                return new NsRecord(ns) { Name = owner };
            case DnsType.PTR when data.Count == 1 && TryParseName(data[0].Text, origin, out var ptr):
                return new PtrRecord(ptr) { Name = owner };
            case DnsType.DNAME when data.Count == 1 && TryParseName(data[0].Text, origin, out var dname):
                return new DnameRecord(dname) { Name = owner };
            case DnsType.MX when data.Count == 2 && ushort.TryParse(data[0].Text, CultureInfo.InvariantCulture, out var preference)
                                 && TryParseName(data[1].Text, origin, out var exchange):
                return new MxRecord(preference, exchange) { Name = owner };
            case DnsType.SRV when data.Count == 4 && ushort.TryParse(data[0].Text, CultureInfo.InvariantCulture, out var priority)
                                  && ushort.TryParse(data[1].Text, CultureInfo.InvariantCulture, out var weight)
                                  && ushort.TryParse(data[2].Text, CultureInfo.InvariantCulture, out var port)
                                  && TryParseName(data[3].Text, origin, out var target):
                return new SrvRecord(priority, weight, port, target) { Name = owner };
            case DnsType.SOA when data.Count == 7 && TryParseName(data[0].Text, origin, out var mname) && TryParseName(data[1].Text, origin, out var rname)
                                  && TryParseUInt32(data[2].Text, out var serial) && TryParseUInt32(data[3].Text, out var refresh)
                                  && TryParseUInt32(data[4].Text, out var retry) && TryParseUInt32(data[5].Text, out var expire)
                                  && TryParseUInt32(data[6].Text, out var minimum):
                return new SoaRecord(mname, rname, serial, refresh, retry, expire, minimum) { Name = owner };
            case DnsType.TXT when data.Count >= 1:
                {
                    var strings = new List<string>(data.Count);
                    foreach (var token in data)
                    {
                        if (token.Text.Length > 255)
                        {
                            error = "character-string longer than 255";
                            return null;
                        }
                        strings.Add(token.Text);
                    }
                    return new TxtRecord(strings) { Name = owner };
                }
            case DnsType.HINFO when data.Count == 2:
                return new HinfoRecord(data[0].Text, data[1].Text) { Name = owner };
            default:
                return null;
        }
    }

    private static UnknownRecord? ParseGeneric(DnsType type, List<Token> data, DnsName owner, out string error)
    {
        error = @"bad \# generic rdata";
        if (data.Count < 2 || !int.TryParse(data[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            return null;
        }
        var hex = new StringBuilder();
        for (var i = 2; i < data.Count; i++)
        {
            hex.Append(data[i].Text);
        }
        try
        {
            var bytes = Convert.FromHexString(hex.ToString());
            return bytes.Length == length ? new UnknownRecord(type, bytes) { Name = owner } : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static bool TryParseUInt32(string text, out uint value) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>Parses a name; <c>@</c> is the origin; a name without a trailing dot is relative to the origin if one is given.</summary>
    public static bool TryParseName(string text, DnsName? origin, out DnsName name)
    {
        name = DnsName.Root;
        if (text == "@" && origin is not null)
        {
            name = origin;
            return true;
        }
        if (!text.EndsWith('.') && origin is not null)
        {
            if (!DnsName.TryParse(text + ".", out var relative))
            {
                return false;
            }
            try
            {
                name = DnsName.Concat(relative, origin);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
        if (!DnsName.TryParse(text, out var parsed))
        {
            return false;
        }
        name = parsed;
        return true;
    }

    private readonly record struct Token(string Text, bool Quoted);

    /// <summary>Splits on white space; honours quotes (with <c>\"</c>, <c>\\</c> and <c>\DDD</c>), parentheses and <c>;</c> comments.</summary>
    private static List<Token>? Tokenize(string text, out string error)
    {
        error = string.Empty;
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c) || c is '(' or ')')
            {
                i++;
                continue;
            }
            if (c == ';')
            {
                break;
            }
            var builder = new StringBuilder();
            if (c == '"')
            {
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    c = text[i];
                    if (c == '"')
                    {
                        closed = true;
                        i++;
                        break;
                    }
                    if (c == '\\' && i + 1 < text.Length)
                    {
                        if (i + 3 < text.Length && char.IsAsciiDigit(text[i + 1]) && char.IsAsciiDigit(text[i + 2]) && char.IsAsciiDigit(text[i + 3]))
                        {
                            builder.Append((char)int.Parse(text.AsSpan(i + 1, 3), CultureInfo.InvariantCulture));
                            i += 4;
                            continue;
                        }
                        builder.Append(text[i + 1]);
                        i += 2;
                        continue;
                    }
                    builder.Append(c);
                    i++;
                }
                if (!closed)
                {
                    error = "unterminated quoted string";
                    return null;
                }
                tokens.Add(new Token(builder.ToString(), true));
                continue;
            }
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('(' or ')' or ';'))
            {
                builder.Append(text[i]);
                i++;
            }
            tokens.Add(new Token(builder.ToString(), false));
        }
        return tokens;
    }
}
