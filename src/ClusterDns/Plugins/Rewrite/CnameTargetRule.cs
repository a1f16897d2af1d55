using ClusterDns.Plugins.Template;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Rewrite;

/// <summary>
/// <c>cname [exact|prefix|suffix|substring|regex] FROM TO</c> (CoreDNS's cnameTargetRule): the question is left alone;
/// in the reply, a CNAME whose target matches gets the rewritten target, and the answer becomes the reply's CNAMEs
/// (all pointing at the new target, as CoreDNS's) followed by the records of the new target, looked up with the
/// question's type through the server's own chain. Like CoreDNS's rule it applies to every query, so a <c>stop</c>
/// cname rule ends the rule list.
/// </summary>
internal sealed class CnameTargetRule(bool stop, NameMatch kind, string from, string to, GoRegex? regex, InternalResolver? resolver) : RewriteRule(stop)
{
    /// <summary>The regex on the non-backtracking engine: linear time like Go's RE2, so no match time limit that a
    /// busy machine could trip (these run only on replies that carry a CNAME).</summary>
    private readonly System.Text.RegularExpressions.Regex? _linear = regex is null ? null
        : new(regex.Regex.ToString(), System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.NonBacktracking);

    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => true;

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        (state.CnameRules ??= []).Add(this);
        return true;
    }

    /// <summary>CoreDNS's getFromAndToTarget: the target to match and its replacement; (null, null) when FROM does
    /// not match.</summary>
    private (string? From, string? To) FromAndTo(string target) => kind switch
    {
        NameMatch.Exact => (from, to),
        NameMatch.Prefix when target.StartsWith(from, StringComparison.Ordinal) => (target, to + target[from.Length..]),
        NameMatch.Suffix when target.EndsWith(from, StringComparison.Ordinal) => (target, target[..^from.Length] + to),
        NameMatch.Substring when target.Contains(from, StringComparison.Ordinal) => (target, target.Replace(from, to, StringComparison.Ordinal)),
        NameMatch.Regex when Substitute(target) is { } substituted => (target, substituted),
        _ => (null, null),
    };

    /// <summary>TO with <c>{N}</c> replaced by the groups of the first match, in group order as Go's loop does.</summary>
    private string? Substitute(string target)
    {
        var match = _linear!.Match(target);
        if (!match.Success)
        {
            return null;
        }
        var result = to;
        for (var i = 0; i < match.Groups.Count; i++)
        {
            result = result.Replace("{" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}", match.Groups[i].Value, StringComparison.Ordinal);
        }
        return result;
    }

    /// <summary>Rewrites the CNAME targets of <paramref name="reply"/> (CoreDNS's RewriteResponse, run over every record
    /// of the reply in the reverter's order: authority, answer, additional). A rewrite retargets every CNAME of the
    /// answer, so later answer CNAMEs are tested with their new target, as CoreDNS's in-place change does.</summary>
    public async ValueTask RewriteAsync(DnsMessage reply, DnsRequest request, DnsType type, CancellationToken cancellationToken)
    {
        DnsRecord[] authority = [.. reply.Authorities], answers = [.. reply.Answers], additional = [.. reply.Additionals];
        DnsName? retargeted = null;
        foreach (var (records, inAnswer) in new[] { (authority, false), (answers, true), (additional, false) })
        {
            foreach (var record in records)
            {
                if (record is not CnameRecord cname)
                {
                    continue;
                }
                var target = (inAnswer && retargeted is not null ? retargeted : cname.Target).ToString();
                var (fromTarget, toTarget) = FromAndTo(target);
                if (fromTarget is null || toTarget is null || target != fromTarget || resolver is null
                    || !DnsName.TryParse(toTarget, out var newTarget))
                {
                    continue;
                }
                var lookup = await resolver(newTarget, type, cancellationToken, request).ConfigureAwait(false);
                if (lookup is null)
                {
                    continue; // nothing written for the new target: the reply stays as it was (as newer CoreDNS)
                }
                var answer = new List<DnsRecord>();
                foreach (var rr in reply.Answers)
                {
                    if (rr is CnameRecord c)
                    {
                        answer.Add(c with { Target = newTarget });
                    }
                }
                foreach (var rr in lookup.Answers)
                {
                    if (string.Equals(rr.Name.ToString(), toTarget, StringComparison.Ordinal))
                    {
                        answer.Add(rr);
                    }
                }
                reply.Answers.Clear();
                reply.Answers.AddRange(answer);
                reply.Header.Truncated = lookup.Header.Truncated; // a truncated lookup must not be cached as complete
                retargeted = newTarget;
            }
        }
    }
}
