using System.Buffers.Binary;

namespace ClusterDns.Protocol;

/// <summary>What the server does with an incoming datagram or TCP frame before any plugin sees it.</summary>
public enum QueryDisposition
{
    /// <summary>A well-formed query: route it.</summary>
    Query,
    /// <summary>No readable header, or a response (QR=1): send nothing (counted).</summary>
    Drop,
    /// <summary>Header readable but the message is malformed or has unexpected counts: answer FORMERR.</summary>
    FormErr,
    /// <summary>An opcode other than QUERY/NOTIFY: answer NOTIMP.</summary>
    NotImp,
}

/// <summary>The per-query facts parsed from the wire without allocating (miekg/dns's DefaultMsgAcceptFunc rules).</summary>
public struct DnsQueryInfo
{
    public DnsHeader Header;
    public DnsType Type;
    public DnsClass Class;
    /// <summary>Length of the uncompressed question name written to the caller's buffer.</summary>
    public int NameLength;
    /// <summary>Offset just after the question (type and class).</summary>
    public int QuestionEnd;
    public bool HasOpt;
    public ushort UdpPayloadSize;
    public byte EdnsVersion;
    public bool DnssecOk;
    /// <summary>Offset and length of the OPT RDATA (EDNS options) inside the query.</summary>
    public int OptDataOffset;
    public int OptDataLength;
}

/// <summary>Parses the header, the single question and the OPT record of a query.</summary>
public static class DnsQueryParser
{
    /// <param name="packet">The query as received.</param>
    /// <param name="nameBuffer">At least 255 octets; receives the question name in uncompressed wire form, case preserved.</param>
    public static QueryDisposition Parse(ReadOnlySpan<byte> packet, Span<byte> nameBuffer, out DnsQueryInfo info)
    {
        info = default;
        if (!DnsHeader.TryRead(packet, out info.Header) || info.Header.IsResponse)
        {
            return QueryDisposition.Drop;
        }
        var opcode = info.Header.Opcode;
        if (opcode != DnsOpcode.Query && opcode != DnsOpcode.Notify)
        {
            return QueryDisposition.NotImp;
        }
        var header = info.Header;
        if (header.QuestionCount != 1 || header.AnswerCount > 1 || header.AuthorityCount > 1 || header.AdditionalCount > 2)
        {
            return QueryDisposition.FormErr;
        }
        var reader = new DnsReader(packet, DnsHeader.Size);
        if (!reader.TryReadName(nameBuffer, out info.NameLength)
            || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out var @class))
        {
            return QueryDisposition.FormErr;
        }
        info.Type = (DnsType)type;
        info.Class = (DnsClass)@class;
        info.QuestionEnd = reader.Position;
        for (var i = 0; i < header.AnswerCount + header.AuthorityCount + header.AdditionalCount; i++)
        {
            if (!reader.TrySkipName() || !reader.TryReadUInt16(out var rrType) || !reader.TryReadUInt16(out var rrClass)
                || !reader.TryReadUInt32(out var ttl) || !reader.TryReadUInt16(out var length) || reader.Remaining < length)
            {
                return QueryDisposition.FormErr;
            }
            if ((DnsType)rrType == DnsType.OPT && i >= header.AnswerCount + header.AuthorityCount)
            {
                if (info.HasOpt)
                {
                    return QueryDisposition.FormErr; // RFC 6891 §6.1.1: more than one OPT
                }
                if (!OptionsWellFramed(packet.Slice(reader.Position, length)))
                {
                    return QueryDisposition.FormErr; // later code walks the options from OptDataOffset; miekg rejects these too
                }
                info.HasOpt = true;
                info.UdpPayloadSize = rrClass;
                info.EdnsVersion = (byte)(ttl >> 16);
                info.DnssecOk = (ttl & OptRecord.DoBit) != 0;
                info.OptDataOffset = reader.Position;
                info.OptDataLength = length;
            }
            reader.Position += length;
        }
        return QueryDisposition.Query;
    }

    /// <summary>True when the OPT RDATA is a sequence of complete {code, length, data} options.</summary>
    private static bool OptionsWellFramed(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            if (data.Length < 4)
            {
                return false;
            }
            var length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
            if (data.Length - 4 < length)
            {
                return false;
            }
            data = data[(4 + length)..];
        }
        return true;
    }

    /// <summary>The length of the reply <see cref="WriteErrorReply"/> writes for this query: header, the question
    /// (when included and well formed) and the echoed OPT.</summary>
    public static int ErrorReplyLength(ReadOnlySpan<byte> query, in DnsQueryInfo info, bool includeQuestion = true) =>
        (includeQuestion && info.QuestionEnd > DnsHeader.Size && info.QuestionEnd <= query.Length ? info.QuestionEnd : DnsHeader.Size)
        + EdnsEcho.Length(query, info);

    /// <summary>Writes a header-and-question-only reply with <paramref name="rcode"/> (FORMERR, NOTIMP, REFUSED, SERVFAIL...),
    /// with the reply OPT record (<see cref="EdnsEcho"/>) when the query had one. Returns the length, or -1 when
    /// <paramref name="destination"/> is too small.</summary>
    public static int WriteErrorReply(ReadOnlySpan<byte> query, in DnsQueryInfo info, DnsRcode rcode, Span<byte> destination, bool includeQuestion = true)
    {
        includeQuestion &= info.QuestionEnd > DnsHeader.Size && info.QuestionEnd <= query.Length;
        var needed = ErrorReplyLength(query, info, includeQuestion);
        if (destination.Length < needed)
        {
            return -1;
        }
        var header = new DnsHeader { Id = info.Header.Id };
        header.IsResponse = true;
        header.Opcode = info.Header.Opcode;
        header.RecursionDesired = info.Header.RecursionDesired;
        header.CheckingDisabled = info.Header.CheckingDisabled;
        header.Rcode = (byte)((int)rcode & 0xF);
        var position = DnsHeader.Size;
        if (includeQuestion)
        {
            query[DnsHeader.Size..info.QuestionEnd].CopyTo(destination[position..]);
            position = info.QuestionEnd;
            header.QuestionCount = 1;
        }
        if (info.HasOpt)
        {
            position += EdnsEcho.Write(destination[position..], query, info, (int)rcode);
            header.AdditionalCount = 1;
        }
        header.Write(destination);
        return position;
    }
}
