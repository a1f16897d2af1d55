using System.Buffers.Binary;
using System.Text;
using ClusterDns.Corefile;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Template;

/// <summary>
/// A <see cref="TemplateDefinition"/> prepared for the query path: its zones as a <see cref="ZoneSet"/>, the metric labels
/// it can know in advance and — when none of its RRs has an action and all of them parse — its three sections
/// encoded once, so a hit copies bytes. RR texts that fail to parse are left to the query path, which fails them as
/// CoreDNS does (SERVFAIL and <c>coredns_template_rr_failures_total</c>) instead of refusing the Corefile.
/// </summary>
internal sealed class CompiledTemplate
{
    public CompiledTemplate(TemplateDefinition definition)
    {
        Definition = definition;
        Zones = new ZoneSet(definition.Zones);
        ClassLabel = MiekgNames.ClassText(definition.Class);
        TypeLabel = MiekgNames.TypeText(definition.Type);
        foreach (var regex in definition.Regexes)
        {
            MatchesEverything |= regex.MatchesEverything;
        }
        Answer = StaticRecords(definition.Answer);
        Authority = StaticRecords(definition.Authority);
        Additional = StaticRecords(definition.Additional);
        if (Answer is not null && Authority is not null && Additional is not null)
        {
            foreach (var record in Answer)
            {
                HasCname |= record.Type == DnsType.CNAME;
            }
            AnswerBytes = Encode(Answer);
            AuthorityBytes = Encode(Authority);
            AdditionalBytes = Encode(Additional);
            IsStatic = AnswerBytes is not null && AuthorityBytes is not null && AdditionalBytes is not null;
        }
        if (definition.ExtendedError is { } ede)
        {
            var reason = Encoding.UTF8.GetBytes(ede.Reason);
            var data = new byte[2 + reason.Length];
            BinaryPrimitives.WriteUInt16BigEndian(data, ede.Code);
            reason.CopyTo(data, 2);
            ExtendedErrorOption = new EdnsOption(EdeOptionCode, data);
        }
    }

    /// <summary>RFC 8914's EDNS option code.</summary>
    public const ushort EdeOptionCode = 15;

    public TemplateDefinition Definition { get; }

    public ZoneSet Zones { get; }

    /// <summary>The template's own class and type names, used in labels when the query asks ANY.</summary>
    public string ClassLabel { get; }

    public string TypeLabel { get; }

    /// <summary>One regex is <c>.*</c> (the default): every name matches without running any.</summary>
    public bool MatchesEverything { get; }

    /// <summary>All RRs are constant and parse: the reply is header + question + these bytes (+ OPT).</summary>
    public bool IsStatic { get; }

    /// <summary>An answer is a CNAME: A/AAAA queries need the target looked up, so they take the slow path.</summary>
    public bool HasCname { get; }

    public IReadOnlyList<DnsRecord>? Answer { get; }

    public IReadOnlyList<DnsRecord>? Authority { get; }

    public IReadOnlyList<DnsRecord>? Additional { get; }

    public byte[]? AnswerBytes { get; }

    public byte[]? AuthorityBytes { get; }

    public byte[]? AdditionalBytes { get; }

    public EdnsOption? ExtendedErrorOption { get; }

    /// <summary>The longest of the template's zones containing <paramref name="lowerName"/>, or -1.</summary>
    public int MatchZone(ReadOnlySpan<byte> lowerName) => Zones.Match(lowerName);

    /// <summary>CoreDNS's class/type test: ANY on either side matches.</summary>
    public bool Accepts(DnsClass @class, DnsType type) =>
        (Definition.Class == DnsClass.ANY || @class == DnsClass.ANY || @class == Definition.Class)
        && (Definition.Type == DnsType.ANY || type == DnsType.ANY || type == Definition.Type);

    /// <summary>The records of a section whose texts are all constant and valid, else null.</summary>
    private static List<DnsRecord>? StaticRecords(IReadOnlyList<GoTemplate> templates)
    {
        var records = new List<DnsRecord>(templates.Count);
        foreach (var template in templates)
        {
            if (!template.IsStatic || !TemplateRecords.TryParse(template.StaticText, out var record, out _))
            {
                return null;
            }
            records.Add(record!);
        }
        return records;
    }

    /// <summary>Uncompressed wire form of <paramref name="records"/> back to back (as CoreDNS sends replies that fit).</summary>
    private static byte[]? Encode(IReadOnlyList<DnsRecord> records)
    {
        var buffer = new byte[DnsRequestLimits.StaticSectionLimit];
        var writer = new DnsWriter(buffer) { Compress = false };
        foreach (var record in records)
        {
            if (!record.TryWrite(ref writer))
            {
                return null;
            }
        }
        return writer.Written.ToArray();
    }
}

/// <summary>Sizes that keep a precompiled reply inside one 64 KiB message with any question and an OPT.</summary>
internal static class DnsRequestLimits
{
    /// <summary>All three static sections together stay under this; a bigger template takes the slow path.</summary>
    public const int StaticSectionLimit = 16 * 1024;
}

/// <summary>RR text to record as miekg/dns's NewRR reads it: names without a final dot are relative to the root,
/// a missing TTL is 3600 and a missing class IN.</summary>
internal static class TemplateRecords
{
    public static bool TryParse(string text, out DnsRecord? record, out string error)
    {
        if (text.Trim().Length == 0)
        {
            record = null;
            error = "dns: empty RR text";
            return false;
        }
        if (!ZoneText.TryParseRecord(text, out record, out error, DnsName.Root))
        {
            error = "dns: " + error;
            return false;
        }
        return true;
    }
}
