using System.Text;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.ZoneFiles;

/// <summary>
/// Reads an RFC 1035 master file into a <see cref="FileZone"/>: <c>$ORIGIN</c>, <c>$TTL</c>, relative names and
/// <c>@</c>, a blank owner repeating the previous one, parentheses spanning lines, quotes and <c>;</c> comments. Each
/// record's text goes through <see cref="ZoneText"/>. Records outside the origin are ignored; the apex needs an SOA.
/// </summary>
public static class ZoneFile
{
    public static FileZone Parse(string text, DnsName origin, string fileName)
    {
        origin = origin.ToLowerInvariant();
        var current = origin;
        uint? defaultTtl = null;
        uint lastTtl = 3600;
        DnsName? lastOwner = null;
        var records = new List<DnsRecord>();
        var line = 0;
        foreach (var (entry, entryLine) in Entries(text))
        {
            line = entryLine;
            var trimmed = entry.TrimStart();
            if (trimmed.Length == 0)
            {
                continue;
            }
            if (trimmed[0] == '$')
            {
                var fields = trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                var keyword = fields[0].ToUpperInvariant();
                switch (keyword)
                {
                    case "$ORIGIN" when fields.Length >= 2 && ZoneText.TryParseName(fields[1], current, out var newOrigin):
                        current = newOrigin;
                        continue;
                    case "$TTL" when fields.Length >= 2 && ZoneText.TryParseTtl(fields[1], out var ttl):
                        defaultTtl = ttl;
                        continue;
                    default:
                        throw new FormatException($"dns: unsupported or bad directive \"{fields[0]}\" in {fileName} at line: {line}");
                }
            }
            var recordText = entry;
            if (char.IsWhiteSpace(entry[0]))
            {
                if (lastOwner is null)
                {
                    throw new FormatException($"dns: no owner name in {fileName} at line: {line}");
                }
                recordText = lastOwner + " " + entry;
            }
            if (!ZoneText.TryParseRecord(recordText, out var record, out var error, current, defaultTtl ?? lastTtl))
            {
                throw new FormatException($"dns: {error} in {fileName} at line: {line}");
            }
            lastOwner = record!.Name;
            lastTtl = record.Ttl;
            if (record.Class != DnsClass.IN)
            {
                throw new FormatException($"dns: class {record.Class.ToText()} is not IN in {fileName} at line: {line}");
            }
            if (record.Name.IsSubdomainOf(origin))
            {
                records.Add(record);
            }
        }
        return FileZone.Create(origin, records, fileName);
    }

    /// <summary>Logical entries with the line they start on: physical lines joined while a parenthesis is open.</summary>
    private static IEnumerable<(string Text, int Line)> Entries(string text)
    {
        var builder = new StringBuilder();
        var depth = 0;
        var start = 0;
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var physical = raw.TrimEnd('\r');
            if (depth == 0)
            {
                builder.Clear();
                start = number;
            }
            else
            {
                builder.Append('\n');
            }
            builder.Append(physical);
            var quoted = false;
            for (var i = 0; i < physical.Length; i++)
            {
                var c = physical[i];
                if (c == '\\')
                {
                    i++;
                    continue;
                }
                if (c == '"')
                {
                    quoted = !quoted;
                }
                else if (!quoted && c == ';')
                {
                    break;
                }
                else if (!quoted && c == '(')
                {
                    depth++;
                }
                else if (!quoted && c == ')')
                {
                    depth = Math.Max(0, depth - 1);
                }
            }
            if (depth == 0)
            {
                yield return (StripComment(builder.ToString()), start);
            }
        }
        if (depth > 0)
        {
            yield return (StripComment(builder.ToString()), start);
        }
    }

    /// <summary>Drops a trailing comment from a one-line entry so "only a comment" lines are empty (ZoneText ignores
    /// comments inside multi-line entries itself).</summary>
    private static string StripComment(string entry)
    {
        if (entry.Contains('\n', StringComparison.Ordinal))
        {
            return entry;
        }
        var quoted = false;
        for (var i = 0; i < entry.Length; i++)
        {
            var c = entry[i];
            if (c == '\\')
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == ';')
            {
                return entry[..i].TrimEnd();
            }
        }
        return entry.TrimEnd();
    }
}
