using ClusterDns.Protocol;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// One row of a table test: a query and the reply it must get, like CoreDNS's <c>test.Case</c>. Expected records are
/// zone-file lines (<c>"web.ns1.svc.cluster.local. 5 IN A 10.96.0.11"</c>); sections are compared as sets of record
/// text, so the order a server writes records in does not matter (CoreDNS sorts both sides too).
/// <see cref="ToString"/> is the query ("web.ns1.svc.cluster.local. A"): xunit names a theory case after it.
/// </summary>
public sealed record DnsCase(string Name, DnsType Type, DnsRcode Rcode = DnsRcode.NoError)
{
    /// <summary>Zone-file lines of the answer section.</summary>
    public string[] Answer { get; init; } = [];

    /// <summary>Zone-file lines of the authority section (CoreDNS's <c>Ns</c>).</summary>
    public string[] Authority { get; init; } = [];

    /// <summary>Zone-file lines of the additional section without the OPT record (CoreDNS's <c>Extra</c>).</summary>
    public string[] Additional { get; init; } = [];

    /// <summary>The AA bit the reply must carry; null leaves it unchecked.</summary>
    public bool? Authoritative { get; init; }

    /// <summary>The same case with <paramref name="rewrite"/> applied to its name and every expected line.</summary>
    public DnsCase Rewritten(Func<string, string> rewrite) => this with
    {
        Name = rewrite(Name),
        Answer = Rewrite(Answer, rewrite),
        Authority = Rewrite(Authority, rewrite),
        Additional = Rewrite(Additional, rewrite),
    };

    /// <summary>
    /// What differs between this case and a reply, one entry per problem (empty when the reply matches). Each section
    /// that differs comes as a diff: "- " lines are expected but missing, "+ " lines were served but not expected.
    /// <paramref name="normalize"/> may rewrite served records before the comparison (e.g. pin a live SOA serial).
    /// </summary>
    public List<string> Mismatches(DnsRcode rcode, bool authoritative, IEnumerable<DnsRecord> answer, IEnumerable<DnsRecord> authority,
        IEnumerable<DnsRecord> additional, Func<DnsRecord, DnsRecord>? normalize = null)
    {
        var problems = new List<string>();
        if (rcode != Rcode)
        {
            problems.Add($"rcode {rcode}, expected {Rcode}");
        }
        if (Authoritative is { } aa && authoritative != aa)
        {
            problems.Add($"AA {authoritative}, expected {aa}");
        }
        AddSectionDiff(problems, "answer", Answer, answer, normalize);
        AddSectionDiff(problems, "authority", Authority, authority, normalize);
        AddSectionDiff(problems, "additional", Additional, additional, normalize);
        return problems;
    }

    /// <inheritdoc cref="Mismatches(DnsRcode, bool, IEnumerable{DnsRecord}, IEnumerable{DnsRecord}, IEnumerable{DnsRecord}, Func{DnsRecord, DnsRecord}?)"/>
    public List<string> Mismatches(DnsMessage reply, Func<DnsRecord, DnsRecord>? normalize = null) =>
        Mismatches(reply.Rcode, reply.Header.Authoritative, reply.Answers, reply.Authorities, reply.Additionals, normalize);

    /// <summary>Fails, naming this case and showing the diff, unless <paramref name="reply"/> matches it.</summary>
    public void AssertMatches(DnsMessage reply, Func<DnsRecord, DnsRecord>? normalize = null)
    {
        var problems = Mismatches(reply, normalize);
        Assert.True(problems.Count == 0, Describe(problems));
    }

    /// <summary>"QUERY:" and the problems indented below it, for failure messages.</summary>
    public string Describe(IEnumerable<string> problems, string? via = null) =>
        $"{this}{(via is null ? "" : " via " + via)}:\n  " + string.Join("\n  ", problems).Replace("\n", "\n  ", StringComparison.Ordinal);

    public override string ToString() => $"{Name} {Type}";

    private static string[] Rewrite(string[] lines, Func<string, string> rewrite)
    {
        var result = new string[lines.Length];
        for (var i = 0; i < lines.Length; i++)
        {
            result[i] = rewrite(lines[i]);
        }
        return result;
    }

    private static void AddSectionDiff(List<string> problems, string section, string[] expected, IEnumerable<DnsRecord> actual,
        Func<DnsRecord, DnsRecord>? normalize)
    {
        var want = new List<string>();
        foreach (var line in expected)
        {
            want.Add(ZoneText.ParseRecord(line).ToString());
        }
        var got = new List<string>();
        foreach (var record in actual)
        {
            if (record is not OptRecord)
            {
                got.Add((normalize is null ? record : normalize(record)).ToString());
            }
        }
        want.Sort(StringComparer.Ordinal);
        got.Sort(StringComparer.Ordinal);
        if (want.SequenceEqual(got))
        {
            return;
        }
        var missing = new List<string>(want);
        var diff = new List<string>();
        foreach (var line in got)
        {
            // Multiset difference: a record served twice but expected once shows up as one "+" line.
            if (missing.Remove(line))
            {
                diff.Add("  " + line);
            }
            else
            {
                diff.Add("+ " + line);
            }
        }
        foreach (var line in missing)
        {
            diff.Add("- " + line);
        }
        problems.Add($"{section} (- expected, + served):\n" + string.Join("\n", diff));
    }
}
