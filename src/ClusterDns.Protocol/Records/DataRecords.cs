using System.Text;

namespace ClusterDns.Protocol;

/// <summary>TXT (RFC 1035 §3.3.14): one or more character-strings of up to 255 octets each (Latin-1 text).</summary>
public sealed record TxtRecord(IReadOnlyList<string> Strings) : DnsRecord
{
    public override DnsType Type => DnsType.TXT;

    public override bool TryWriteData(ref DnsWriter writer)
    {
        foreach (var text in Strings)
        {
            if (!CharacterString.TryWrite(ref writer, text))
            {
                return false;
            }
        }
        return true;
    }

    public override string DataText() => CharacterString.JoinQuoted(Strings);

    public bool Equals(TxtRecord? other) =>
        other is not null && base.Equals(other) && Strings.SequenceEqual(other.Strings, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), Strings.Count);
}

/// <summary>HINFO (RFC 1035 §3.3.2, RFC 8482 uses it for ANY answers).</summary>
public sealed record HinfoRecord(string Cpu, string Os) : DnsRecord
{
    public override DnsType Type => DnsType.HINFO;

    public override bool TryWriteData(ref DnsWriter writer) =>
        CharacterString.TryWrite(ref writer, Cpu) && CharacterString.TryWrite(ref writer, Os);

    public override string DataText() => CharacterString.JoinQuoted([Cpu, Os]);
}

/// <summary>Any type this library does not model, kept as opaque RDATA (RFC 3597 <c>\# len hex</c>).</summary>
public sealed record UnknownRecord(DnsType RecordType, byte[] Data) : DnsRecord
{
    public override DnsType Type => RecordType;

    public override bool TryWriteData(ref DnsWriter writer) => writer.TryWriteBytes(Data);

    public override string DataText() =>
        Data.Length == 0 ? @"\# 0" : $@"\# {Data.Length} {Convert.ToHexStringLower(Data)}";

    public bool Equals(UnknownRecord? other) =>
        other is not null && base.Equals(other) && RecordType == other.RecordType && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), RecordType, Data.Length);
}

/// <summary>Length-prefixed character-strings (RFC 1035 §3.3).</summary>
internal static class CharacterString
{
    public static bool TryWrite(ref DnsWriter writer, string text)
    {
        if (text.Length > 255)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[255];
        var count = Encoding.Latin1.GetBytes(text, bytes);
        return writer.TryWriteUInt8((byte)count) && writer.TryWriteBytes(bytes[..count]);
    }

    public static bool TryRead(ref DnsReader reader, int end, out string text)
    {
        text = string.Empty;
        if (reader.Position >= end || !reader.TryReadUInt8(out var length) || reader.Position + length > end
            || !reader.TryReadBytes(length, out var bytes))
        {
            return false;
        }
        text = Encoding.Latin1.GetString(bytes);
        return true;
    }

    public static string JoinQuoted(IEnumerable<string> strings)
    {
        var builder = new StringBuilder();
        foreach (var text in strings)
        {
            if (builder.Length > 0)
            {
                builder.Append(' ');
            }
            builder.Append('"');
            foreach (var c in text)
            {
                if (c is '"' or '\\')
                {
                    builder.Append('\\').Append(c);
                }
                else if (c < 0x20 || c > 0x7E)
                {
                    builder.Append('\\').Append(((int)c).ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    builder.Append(c);
                }
            }
            builder.Append('"');
        }
        return builder.ToString();
    }
}
