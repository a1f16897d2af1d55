using ClusterDns.Plugins.Template;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Rewrite;

/// <summary>How a rule tests the (lower-cased, presentation form) question name: CoreDNS's match types.</summary>
internal enum NameMatch
{
    Exact,
    Prefix,
    Suffix,
    Substring,
    Regex,
}

/// <summary>A name test shared by name, ttl and rcode rules. <see cref="IsMatch"/> does not allocate.</summary>
internal sealed class NameMatcher(NameMatch kind, string text, GoRegex? regex)
{
    public NameMatch Kind { get; } = kind;

    /// <summary>The normalised FROM (lower case, fully qualified), or the regex pattern.</summary>
    public string Text { get; } = text;

    public GoRegex? Regex { get; } = regex;

    public bool IsMatch(ReadOnlySpan<char> name) => Kind switch
    {
        NameMatch.Exact => name.SequenceEqual(Text),
        NameMatch.Prefix => name.StartsWith(Text, StringComparison.Ordinal),
        NameMatch.Suffix => name.EndsWith(Text, StringComparison.Ordinal),
        NameMatch.Substring => name.Contains(Text, StringComparison.Ordinal),
        _ => Regex!.Regex.IsMatch(name),
    };
}

/// <summary>The question as the rules change it (the slow path: only built once a rule matched).</summary>
internal sealed class RewriteState(string name, DnsType type, DnsClass @class)
{
    /// <summary>The question name as CoreDNS's <c>state.Name()</c> sees it: lower case, presentation form.</summary>
    public string Name { get; set; } = name;

    public DnsType Type { get; set; } = type;

    public DnsClass Class { get; set; } = @class;

    public bool QuestionChanged { get; set; }

    /// <summary>The request's EDNS0 options once an edns0 rule touched them (null: untouched).</summary>
    public List<EdnsOption>? Options { get; set; }

    public List<ResponseRule> ResponseRules { get; } = [];

    /// <summary>The cname rules that applied, run on the reply before the response rules (null: none).</summary>
    public List<CnameTargetRule>? CnameRules { get; set; }
}

/// <summary>One rewrite rule. <see cref="Matches"/> is the allocation-free test every query runs; <see cref="Apply"/>
/// runs only when it matched, and returns false when the rule turned out to have nothing to do (CoreDNS's
/// RewriteIgnored).</summary>
internal abstract class RewriteRule(bool stop)
{
    /// <summary><c>stop</c> (the default) or <c>continue</c>.</summary>
    public bool Stop { get; } = stop;

    public abstract bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class);

    public abstract bool Apply(RewriteState state, RewriteContext context);
}

/// <summary>The request as the client sent it (edns0 rules read its options and the client's address).</summary>
internal readonly record struct RewriteContext(ClusterDns.Server.DnsRequest Request);

internal sealed class NameRule(bool stop, NameMatcher matcher, string replacement, bool auto, IReadOnlyList<ResponseRule> answers) : RewriteRule(stop)
{
    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => matcher.IsMatch(name);

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        var before = state.Name;
        var after = matcher.Kind switch
        {
            NameMatch.Exact => replacement,
            NameMatch.Prefix => replacement + before[matcher.Text.Length..],
            NameMatch.Suffix => before[..^matcher.Text.Length] + replacement,
            NameMatch.Substring => before.Replace(matcher.Text, replacement, StringComparison.Ordinal),
            _ => RegexStringRewriter.Substitute(matcher.Regex!, replacement, before) ?? before,
        };
        state.Name = after;
        state.QuestionChanged = true;
        if (auto)
        {
            // Map the rewritten name (and its subdomains) back to the name before this rule, in owners and values.
            var remap = new RemapStringRewriter(after, before);
            state.ResponseRules.Add(new NameResponseRule(remap));
            state.ResponseRules.Add(new ValueResponseRule(remap));
        }
        state.ResponseRules.AddRange(answers);
        return true;
    }
}

internal sealed class TypeRule(bool stop, DnsType from, DnsType to) : RewriteRule(stop)
{
    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => type == from;

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        state.Type = to;
        state.QuestionChanged = true;
        return true;
    }
}

internal sealed class ClassRule(bool stop, DnsClass from, DnsClass to) : RewriteRule(stop)
{
    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => @class == from;

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        state.Class = to;
        state.QuestionChanged = true;
        return true;
    }
}

/// <summary>ttl and rcode rules: the question stays, the reply is changed.</summary>
internal sealed class ResponseOnlyRule(bool stop, NameMatcher matcher, ResponseRule response) : RewriteRule(stop)
{
    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => matcher.IsMatch(name);

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        state.ResponseRules.Add(response);
        return true;
    }
}

/// <summary>Rewrites parts of the written reply on its way back to the client.</summary>
internal abstract class ResponseRule
{
    /// <summary>The record as it leaves (the same instance when unchanged).</summary>
    public virtual DnsRecord RewriteRecord(DnsRecord record) => record;

    public virtual void RewriteMessage(DnsMessage message)
    {
    }
}

internal abstract class StringRewriter
{
    public abstract string Rewrite(string source);

    /// <summary>The rewritten name, or null when the text is no valid name (the record is then left alone).</summary>
    public DnsName? Rewrite(DnsName name)
    {
        var text = name.ToString();
        var rewritten = Rewrite(text);
        return !ReferenceEquals(rewritten, text) && rewritten != text && DnsName.TryParse(rewritten, out var parsed) ? parsed : null;
    }
}

/// <summary>Regex FROM, TO with <c>{N}</c> groups (CoreDNS's regexStringRewriter).</summary>
internal sealed class RegexStringRewriter(GoRegex pattern, string replacement) : StringRewriter
{
    public override string Rewrite(string source) => Substitute(pattern, replacement, source) ?? source;

    /// <summary>TO with <c>{0}</c>, <c>{1}</c>... replaced by the groups of the first match, in group order as Go's
    /// loop does; null without a match.</summary>
    public static string? Substitute(GoRegex pattern, string replacement, string source)
    {
        var match = pattern.Regex.Match(source);
        if (!match.Success)
        {
            return null;
        }
        var result = replacement;
        for (var i = 0; i < match.Groups.Count; i++)
        {
            result = result.Replace("{" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}", match.Groups[i].Value, StringComparison.Ordinal);
        }
        return result;
    }
}

/// <summary>The name itself, or a subdomain of it, mapped to another name (answer auto).</summary>
internal sealed class RemapStringRewriter(string original, string replacement) : StringRewriter
{
    public override string Rewrite(string source)
    {
        if (source == original)
        {
            return replacement;
        }
        return source.EndsWith("." + original, StringComparison.Ordinal) ? source[..^original.Length] + replacement : source;
    }
}

/// <summary>One suffix swapped for another (answer auto of a suffix rule: the rule's suffixes the other way round).</summary>
internal sealed class SuffixStringRewriter(string suffix, string replacement) : StringRewriter
{
    public override string Rewrite(string source) =>
        source.EndsWith(suffix, StringComparison.Ordinal) ? source[..^suffix.Length] + replacement : source;
}

/// <summary>Record owner names (<c>answer name</c>).</summary>
internal sealed class NameResponseRule(StringRewriter rewriter) : ResponseRule
{
    public override DnsRecord RewriteRecord(DnsRecord record) =>
        rewriter.Rewrite(record.Name) is { } name ? record with { Name = name } : record;
}

/// <summary>Names inside CNAME, DNAME, NS, MX, SRV and SOA data (<c>answer value</c>).</summary>
internal sealed class ValueResponseRule(StringRewriter rewriter) : ResponseRule
{
    public override DnsRecord RewriteRecord(DnsRecord record) => record switch
    {
        CnameRecord cname when rewriter.Rewrite(cname.Target) is { } target => cname with { Target = target },
        DnameRecord dname when rewriter.Rewrite(dname.Target) is { } target => dname with { Target = target },
        NsRecord ns when rewriter.Rewrite(ns.Target) is { } target => ns with { Target = target },
        MxRecord mx when rewriter.Rewrite(mx.Exchange) is { } target => mx with { Exchange = target },
        SrvRecord srv when rewriter.Rewrite(srv.Target) is { } target => srv with { Target = target },
        SoaRecord soa when rewriter.Rewrite(soa.PrimaryServer) is { } target => soa with { PrimaryServer = target },
        _ => record,
    };
}

/// <summary>TTLs clamped into [min, max] (a single value sets both).</summary>
internal sealed class TtlResponseRule(uint min, uint max) : ResponseRule
{
    public override DnsRecord RewriteRecord(DnsRecord record)
    {
        if (record is OptRecord)
        {
            return record; // the OPT's TTL field carries EDNS flags, not a TTL
        }
        return record.Ttl < min ? record with { Ttl = min } : record.Ttl > max ? record with { Ttl = max } : record;
    }
}

internal sealed class RcodeResponseRule(DnsRcode from, DnsRcode to) : ResponseRule
{
    public override void RewriteMessage(DnsMessage message)
    {
        if (message.Rcode == from)
        {
            message.Rcode = to;
        }
    }
}
