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
            // ANY is both a class and a (query) type: it is the class when a type follows it.
            else if (DnsMnemonics.TryParseClass(token, out var parsedClass)
                     && (!DnsMnemonics.TryParseType(token, out _)
                         || (index + 1 < tokens.Count && !tokens[index + 1].Quoted && DnsMnemonics.TryParseType(tokens[index + 1].Text, out _))))
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
        if (type == DnsType.TXT)
        {
            return ParseTxt(data, owner, out error);
        }
        switch (type)
        {
            case DnsType.A when data.Count == 1 && TryParseIPv4(data[0].Text, out var a):
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
            case DnsType.MX when data.Count == 2 && TryParseUInt16(data[0].Text, out var preference)
                                 && TryParseName(data[1].Text, origin, out var exchange):
                return new MxRecord(preference, exchange) { Name = owner };
            case DnsType.SRV when data.Count == 4 && TryParseUInt16(data[0].Text, out var priority)
                                  && TryParseUInt16(data[1].Text, out var weight)
                                  && TryParseUInt16(data[2].Text, out var port)
                                  && TryParseName(data[3].Text, origin, out var target):
                return new SrvRecord(priority, weight, port, target) { Name = owner };
            case DnsType.SOA when data.Count == 7 && TryParseName(data[0].Text, origin, out var mname) && TryParseName(data[1].Text, origin, out var rname)
                                  && TryParseUInt32(data[2].Text, out var serial) && TryParseTtl(data[3].Text, out var refresh)
                                  && TryParseTtl(data[4].Text, out var retry) && TryParseTtl(data[5].Text, out var expire)
                                  && TryParseTtl(data[6].Text, out var minimum):
                return new SoaRecord(mname, rname, serial, refresh, retry, expire, minimum) { Name = owner };
            case DnsType.HINFO when data.Count == 2 && TryCharacterString(data[0], out var cpu) && TryCharacterString(data[1], out var os):
                return new HinfoRecord(cpu, os) { Name = owner };
            default:
                return null;
        }
    }

    private static TxtRecord? ParseTxt(List<Token> data, DnsName owner, out string error)
    {
        error = "bad character-string";
        var strings = new List<string>(data.Count);
        foreach (var token in data)
        {
            if (!TryCharacterString(token, out var text))
            {
                return null;
            }
            strings.Add(text);
        }
        return new TxtRecord(strings) { Name = owner };
    }

    /// <summary>A character-string token: quoted ones were unescaped by the tokenizer, bare ones still carry
    /// their <c>\X</c> / <c>\DDD</c> escapes (names need them kept). At most 255 octets.</summary>
    private static bool TryCharacterString(Token token, out string text)
    {
        var decoded = token.Quoted ? token.Text : Unescape(token.Text);
        text = decoded ?? string.Empty;
        return decoded is not null && text.Length <= 255 && !HasNonLatin1(text);
    }

    private static bool HasNonLatin1(string text)
    {
        foreach (var c in text)
        {
            if (c > 0xFF)
            {
                return true;
            }
        }
        return false;
    }

    private static string? Unescape(string text)
    {
        if (!text.Contains('\\'))
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                builder.Append(text[i]);
                continue;
            }
            if (!TryReadEscape(text, ref i, out var c))
            {
                return null;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>Decodes the escape starting at the backslash at <paramref name="i"/>, leaving <paramref name="i"/>
    /// on its last character. <c>\DDD</c> must be at most 255.</summary>
    private static bool TryReadEscape(string text, ref int i, out char value)
    {
        value = '\0';
        if (i + 1 >= text.Length)
        {
            return false;
        }
        if (!char.IsAsciiDigit(text[i + 1]))
        {
            value = text[i + 1];
            i++;
            return true;
        }
        if (i + 3 >= text.Length || !char.IsAsciiDigit(text[i + 2]) || !char.IsAsciiDigit(text[i + 3]))
        {
            return false;
        }
        var number = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (number > 255)
        {
            return false;
        }
        value = (char)number;
        i += 3;
        return true;
    }

    /// <summary>RFC 3597 <c>\# length hex</c>. Known types are decoded into their typed record, as RFC 3597 §5 asks,
    /// so text and wire forms agree on the record's class.</summary>
    private static DnsRecord? ParseGeneric(DnsType type, List<Token> data, DnsName owner, out string error)
    {
        error = @"bad \# generic rdata";
        if (data.Count < 2 || !int.TryParse(data[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || length > ushort.MaxValue)
        {
            return null;
        }
        var hex = new StringBuilder();
        for (var i = 2; i < data.Count; i++)
        {
            hex.Append(data[i].Text);
        }
        if (hex.Length != length * 2)
        {
            return null;
        }
        var bytes = new byte[length];
        if (Convert.FromHexString(hex.ToString(), bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != length)
        {
            return null;
        }
        var reader = new DnsReader(bytes);
        var record = RecordDataReader.Read(type, ref reader, length, owner, 0, DnsClass.IN);
        return record is not null && reader.Position == length ? record : null;
    }

    /// <summary>Strict dotted quad. IPAddress.TryParse also takes "1.2.3", "10" and octal/hex parts, which zone files do not.</summary>
    private static bool TryParseIPv4(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<byte> bytes = stackalloc byte[4];
        var parts = 0;
        foreach (var range in text.AsSpan().Split('.'))
        {
            var part = text.AsSpan(range);
            if (parts == 4 || part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0')
                || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out bytes[parts]))
            {
                return false;
            }
            parts++;
        }
        if (parts != 4)
        {
            return false;
        }
        address = new IPAddress(bytes);
        return true;
    }

    private static bool TryParseUInt16(string text, out ushort value) =>
        ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>A TTL in seconds, or BIND's unit form as zone files write SOA timers and <c>$TTL</c>: <c>4H</c>,
    /// <c>1h30m</c>, <c>7D</c>, <c>1W</c> (case-insensitive).</summary>
    public static bool TryParseTtl(string text, out uint ttl)
    {
        if (TryParseUInt32(text, out ttl))
        {
            return true;
        }
        ulong total = 0;
        ulong number = 0;
        var digits = false;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                number = (number * 10) + (ulong)(c - '0');
                digits = true;
                if (number > uint.MaxValue)
                {
                    return false;
                }
                continue;
            }
            var unit = char.ToLowerInvariant(c) switch { 's' => 1UL, 'm' => 60UL, 'h' => 3600UL, 'd' => 86400UL, 'w' => 604800UL, _ => 0UL };
            if (unit == 0 || !digits)
            {
                return false;
            }
            total += number * unit;
            number = 0;
            digits = false;
        }
        if (digits || total > uint.MaxValue || text.Length == 0)
        {
            return false;
        }
        ttl = (uint)total;
        return true;
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
            if (!DnsName.TryParse(text + ".", out var relative) || !DnsName.TryConcat(relative, origin, out var absolute))
            {
                return false;
            }
            name = absolute;
            return true;
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
                // A comment runs to the end of its line; a parenthesised record continues on the next one.
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
                continue;
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
                    if (c == '\\')
                    {
                        if (!TryReadEscape(text, ref i, out var escaped))
                        {
                            error = "bad escape in quoted string";
                            return null;
                        }
                        builder.Append(escaped);
                        i++;
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
                // Keep escapes verbatim (DnsName.TryParse decodes them), but an escaped ; ( ) or blank stays in the token.
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    builder.Append('\\');
                    i++;
                }
                builder.Append(text[i]);
                i++;
            }
            tokens.Add(new Token(builder.ToString(), false));
        }
        return tokens;
    }
}
