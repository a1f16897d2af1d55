using ClusterDns.Plugins.Shared;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ClusterDns.Metrics;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Template;

/// <summary>
/// CoreDNS <c>template</c>: the block's templates in order; the first whose zone, class, type and a regex match the
/// query writes the reply (AA, its rcode, its sections) — or, with <c>rcode SERVFAIL</c>, leaves it to the server. A
/// template whose zone matches but no regex does falls through only with <c>fallthrough</c>, else SERVFAIL. CNAME
/// answers to A/AAAA questions get their target looked up through the server (CoreDNS's upstream). Templates
/// without actions reply from precompiled bytes; the others run their Go templates per query.
/// </summary>
public sealed class TemplatePlugin : DnsPlugin
{
    // A name's text is at most 255 octets, each at most 4 characters escaped.
    private const int MaxNameText = 1024;
    private const int MaxLookupDepth = 10;
    private const ushort NoEdnsPayloadSize = 4096;
    private static readonly AsyncLocal<int> LookupDepth = new();

    private readonly CompiledTemplate[] _templates;
    private readonly InternalResolver _resolver;

    internal TemplatePlugin(IReadOnlyList<TemplateDefinition> definitions, InternalResolver resolver)
    {
        _templates = new CompiledTemplate[definitions.Count];
        for (var i = 0; i < _templates.Length; i++)
        {
            _templates[i] = new CompiledTemplate(definitions[i]);
        }
        _resolver = resolver;
    }

    public override string Name => "template";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var name = request.LowerNameWire;
        if (!InAnyZone(name))
        {
            return NextAsync(request, cancellationToken);
        }
        Span<char> text = stackalloc char[MaxNameText];
        var textLength = -1;
        foreach (var template in _templates)
        {
            var zone = template.MatchZone(name);
            if (zone < 0 || !template.Accepts(request.Class, request.Type))
            {
                continue;
            }
            var matched = -1;
            if (template.MatchesEverything && template.IsStatic)
            {
                matched = 0;
            }
            else
            {
                if (textLength < 0)
                {
                    textLength = WriteNameText(name, text);
                }
                var regexes = template.Definition.Regexes;
                try
                {
                    for (var i = 0; i < regexes.Count; i++)
                    {
                        if (regexes[i].MatchesEverything || regexes[i].Regex.IsMatch(text[..textLength]))
                        {
                            matched = i;
                            break;
                        }
                    }
                }
                catch (RegexMatchTimeoutException exception)
                {
                    return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail, $"plugin/template: regex {exception.Pattern} timed out"));
                }
            }
            if (matched < 0)
            {
                if (template.Definition.Fallthrough.Through(name))
                {
                    continue;
                }
                return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail));
            }
            var classLabel = request.Class != DnsClass.ANY ? MiekgNames.ClassText(request.Class) : template.ClassLabel;
            var typeLabel = request.Type != DnsType.ANY ? MiekgNames.TypeText(request.Type) : template.TypeLabel;
            var zoneLabel = template.Definition.Zones[zone];
            TemplateMetrics.MatchesFor(request.Server, zoneLabel, classLabel, typeLabel).Inc();
            var rcode = template.Definition.Rcode;
            if (rcode == DnsRcode.ServFail)
            {
                return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail));
            }
            if (template.IsStatic && !(template.HasCname && request.Type is DnsType.A or DnsType.AAAA))
            {
                WriteStatic(request, template);
                return new ValueTask<DnsResult>(new DnsResult(rcode));
            }
            return ServeDynamicAsync(request, template, new Labels(zoneLabel, classLabel, typeLabel), matched, cancellationToken);
        }
        return NextAsync(request, cancellationToken);
    }

    private bool InAnyZone(ReadOnlySpan<byte> name)
    {
        foreach (var template in _templates)
        {
            if (template.MatchZone(name) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Header, the query's question as written, the precompiled sections and (EDNS query or ederror) an OPT.</summary>
    private void WriteStatic(DnsRequest request, CompiledTemplate template)
    {
        ref readonly var info = ref request.Info;
        var ede = template.ExtendedErrorOption;
        var buffer = request.Response.GetBuffer(info.QuestionEnd + template.AnswerBytes!.Length + template.AuthorityBytes!.Length
            + template.AdditionalBytes!.Length + 11 + (ede is null ? 0 : 4 + ede.Data.Length));
        request.Query[DnsHeader.Size..info.QuestionEnd].CopyTo(buffer[DnsHeader.Size..]);
        var position = info.QuestionEnd;
        template.AnswerBytes.CopyTo(buffer[position..]);
        position += template.AnswerBytes!.Length;
        template.AuthorityBytes.CopyTo(buffer[position..]);
        position += template.AuthorityBytes!.Length;
        template.AdditionalBytes.CopyTo(buffer[position..]);
        position += template.AdditionalBytes!.Length;
        var rcode = (int)template.Definition.Rcode;
        var header = new DnsHeader
        {
            Id = info.Header.Id,
            Flags = (ushort)(DnsHeader.QrBit | DnsHeader.AaBit | (info.Header.Flags & DnsHeader.EchoedBits) | (rcode & 0xF)),
            QuestionCount = 1,
            AnswerCount = (ushort)template.Answer!.Count,
            AuthorityCount = (ushort)template.Authority!.Count,
            AdditionalCount = (ushort)template.Additional!.Count,
        };
        if (request.HasEdns || ede is not null)
        {
            var optionLength = ede is null ? 0 : 4 + ede.Data.Length;
            buffer[position] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(position + 1)..], (ushort)DnsType.OPT);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(position + 3)..], PayloadSize(request));
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(position + 5)..], ((uint)(rcode >> 4) << 24) | (DnssecOk(request) ? OptRecord.DoBit : 0u));
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(position + 9)..], (ushort)optionLength);
            position += 11;
            if (ede is not null)
            {
                BinaryPrimitives.WriteUInt16BigEndian(buffer[position..], ede.Code);
                BinaryPrimitives.WriteUInt16BigEndian(buffer[(position + 2)..], (ushort)ede.Data.Length);
                ede.Data.CopyTo(buffer[(position + 4)..]);
                position += optionLength;
            }
            header.AdditionalCount++;
        }
        header.Write(buffer);
        request.Response.Commit(position, Name);
    }

    // CoreDNS echoes the client's EDNS size and DO bit; an ederror reply to a client without EDNS keeps the OPT that
    // CoreDNS's SetEdns0(4096, true) made.
    private static ushort PayloadSize(DnsRequest request) =>
        request.HasEdns ? Math.Max(request.Info.UdpPayloadSize, (ushort)512) : NoEdnsPayloadSize;

    private static bool DnssecOk(DnsRequest request) => !request.HasEdns || request.DnssecOk;

    private readonly record struct Labels(string Zone, string Class, string Type);

    private async ValueTask<DnsResult> ServeDynamicAsync(DnsRequest request, CompiledTemplate template, Labels labels, int regexIndex,
        CancellationToken cancellationToken)
    {
        TemplateData data;
        try
        {
            data = BuildData(request, template, labels, regexIndex);
        }
        catch (RegexMatchTimeoutException exception)
        {
            return new DnsResult(DnsRcode.ServFail, $"plugin/template: regex {exception.Pattern} timed out");
        }
        var definition = template.Definition;
        var reply = request.CreateReply(DnsRcode.NoError);
        reply.Additionals.Clear();
        var output = new StringBuilder();
        for (var i = 0; i < definition.Answer.Count; i++)
        {
            if (!TryRecord(request, template.Answer, definition.Answer, i, "answer", data, labels, output, out var record, out var error))
            {
                return new DnsResult(DnsRcode.ServFail, error);
            }
            reply.Answers.Add(record!);
            if (record is CnameRecord cname && request.Type is DnsType.A or DnsType.AAAA && LookupDepth.Value < MaxLookupDepth)
            {
                LookupDepth.Value++;
                try
                {
                    if (await _resolver(cname.Target, request.Type, cancellationToken).ConfigureAwait(false) is { } upstream)
                    {
                        reply.Header.Truncated = upstream.Header.Truncated;
                        reply.Answers.AddRange(upstream.Answers);
                    }
                }
                finally
                {
                    LookupDepth.Value--;
                }
            }
        }
        for (var i = 0; i < definition.Additional.Count; i++)
        {
            if (!TryRecord(request, template.Additional, definition.Additional, i, "additional", data, labels, output, out var record, out var error))
            {
                return new DnsResult(DnsRcode.ServFail, error);
            }
            reply.Additionals.Add(record!);
        }
        for (var i = 0; i < definition.Authority.Count; i++)
        {
            if (!TryRecord(request, template.Authority, definition.Authority, i, "authority", data, labels, output, out var record, out var error))
            {
                return new DnsResult(DnsRcode.ServFail, error);
            }
            reply.Authorities.Add(record!);
        }
        if (request.HasEdns || template.ExtendedErrorOption is not null)
        {
            reply.Additionals.Add(OptRecord.Create(PayloadSize(request), DnssecOk(request),
                options: template.ExtendedErrorOption is { } ede ? [ede] : null));
        }
        reply.Rcode = definition.Rcode;
        request.Response.Write(reply, Name);
        return new DnsResult(definition.Rcode);
    }

    /// <summary>The record at <paramref name="index"/> of a section: precompiled, or rendered and parsed now. Failures
    /// count in CoreDNS's metrics and carry Go's / miekg's error text to the errors plugin.</summary>
    private static bool TryRecord(DnsRequest request, IReadOnlyList<DnsRecord>? compiled, IReadOnlyList<GoTemplate> templates, int index,
        string section, TemplateData data, Labels labels, StringBuilder output, out DnsRecord? record, out string error)
    {
        if (compiled is not null)
        {
            record = compiled[index];
            error = string.Empty;
            return true;
        }
        var template = templates[index];
        output.Clear();
        record = null;
        if (!template.TryExecute(data, output, out error))
        {
            TemplateMetrics.TemplateFailures.WithLabels(request.Server, labels.Zone, DnsLabels.NoView, labels.Class, labels.Type, section, template.Source).Inc();
            return false;
        }
        if (!TemplateRecords.TryParse(output.ToString(), out record, out error))
        {
            TemplateMetrics.RRFailures.WithLabels(request.Server, labels.Zone, DnsLabels.NoView, labels.Class, labels.Type, section, template.Source).Inc();
            return false;
        }
        return true;
    }

    private static TemplateData BuildData(DnsRequest request, CompiledTemplate template, Labels labels, int regexIndex)
    {
        var name = request.Name;
        var regex = template.Definition.Regexes[regexIndex];
        var match = regex.Regex.Match(name);
        var groups = regex.GroupNames;
        var values = new string[groups.Length];
        var group = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < groups.Length; i++)
        {
            values[i] = i < match.Groups.Count && match.Groups[i].Success ? match.Groups[i].Value : string.Empty;
            group[i.ToString(CultureInfo.InvariantCulture)] = values[i];
        }
        for (var i = 0; i < groups.Length; i++)
        {
            if (groups[i].Length > 0)
            {
                group[groups[i]] = values[i];
            }
        }
        var items = request.Items;
        return new TemplateData
        {
            Zone = labels.Zone,
            Name = name,
            Regex = regex.Pattern,
            Match = values,
            Group = group,
            Class = labels.Class,
            Type = labels.Type,
            Message = request.Message,
            Question = new DnsQuestion(request.QuestionName, request.Type, request.Class),
            Remote = request.RemoteEndPoint.Address.ToString(),
            Meta = key => items.TryGetValue(key, out var value)
                ? value switch
                {
                    string s => s,
                    Func<string> f => f(),
                    _ => string.Empty,
                }
                : string.Empty,
        };
    }

    /// <summary>The name's presentation form (what CoreDNS matches regexes against), without allocating.</summary>
    private static int WriteNameText(ReadOnlySpan<byte> wire, Span<char> text)
    {
        if (wire.Length <= 1)
        {
            text[0] = '.';
            return 1;
        }
        var length = 0;
        var i = 0;
        while (i < wire.Length && wire[i] != 0)
        {
            var labelLength = wire[i];
            for (var j = i + 1; j <= i + labelLength && j < wire.Length; j++)
            {
                var b = wire[j];
                switch (b)
                {
                    case (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'@' or (byte)'$':
                        text[length++] = '\\';
                        text[length++] = (char)b;
                        break;
                    case < 0x21 or > 0x7E:
                        text[length++] = '\\';
                        text[length++] = (char)('0' + b / 100);
                        text[length++] = (char)('0' + b / 10 % 10);
                        text[length++] = (char)('0' + b % 10);
                        break;
                    default:
                        text[length++] = (char)b;
                        break;
                }
            }
            text[length++] = '.';
            i += labelLength + 1;
        }
        return length;
    }
}
