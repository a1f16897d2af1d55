using ClusterDns.Fuzz.Engine;
using ClusterDns.Protocol;

namespace ClusterDns.Fuzz.Targets;

/// <summary>Structural equality of two decoded messages (DnsMessage has reference equality; its records have value equality).</summary>
internal static class MessageCompare
{
    /// <summary>Throws when <paramref name="actual"/> (decoded from our own encoding of <paramref name="expected"/>) differs.
    /// The writer puts the OPT record last in the additional section, so additionals compare with OPT moved to the end.</summary>
    public static void AssertSame(DnsMessage expected, DnsMessage actual, string what)
    {
        if (expected.Header.Id != actual.Header.Id || expected.Header.Flags != actual.Header.Flags)
        {
            throw new FuzzInvariantException($"{what}: header id/flags {expected.Header.Id}/{expected.Header.Flags:x4} became {actual.Header.Id}/{actual.Header.Flags:x4}");
        }
        Same(expected.Questions, actual.Questions, what, "question");
        Same(expected.Answers, actual.Answers, what, "answer");
        Same(expected.Authorities, actual.Authorities, what, "authority");
        Same(OptLast(expected.Additionals), OptLast(actual.Additionals), what, "additional");
    }

    private static List<DnsRecord> OptLast(List<DnsRecord> records)
    {
        var result = new List<DnsRecord>(records.Count);
        DnsRecord? opt = null;
        foreach (var record in records)
        {
            if (record is OptRecord)
            {
                opt = record;
            }
            else
            {
                result.Add(record);
            }
        }
        if (opt is not null)
        {
            result.Add(opt);
        }
        return result;
    }

    private static void Same<T>(IReadOnlyList<T> expected, IReadOnlyList<T> actual, string what, string section)
    {
        if (expected.Count != actual.Count)
        {
            throw new FuzzInvariantException($"{what}: {section} count {expected.Count} became {actual.Count}");
        }
        for (var i = 0; i < expected.Count; i++)
        {
            if (!Equals(expected[i], actual[i]))
            {
                throw new FuzzInvariantException($"{what}: {section} {i} '{expected[i]}' became '{actual[i]}'");
            }
        }
    }

    /// <summary>Non-OPT records of a section.</summary>
    public static int CountRecords(List<DnsRecord> records)
    {
        var count = 0;
        foreach (var record in records)
        {
            if (record is not OptRecord)
            {
                count++;
            }
        }
        return count;
    }

    public static bool HasOptOutsideAdditional(DnsMessage message)
    {
        foreach (var record in message.Answers)
        {
            if (record is OptRecord)
            {
                return true;
            }
        }
        foreach (var record in message.Authorities)
        {
            if (record is OptRecord)
            {
                return true;
            }
        }
        return false;
    }
}
