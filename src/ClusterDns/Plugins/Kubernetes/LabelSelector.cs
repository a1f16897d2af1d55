namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Syntax check for Kubernetes label selectors (<c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a in (x,y)</c>,
/// <c>a notin (x)</c>, <c>a</c>, <c>!a</c>, comma-separated). The API server applies them; we only refuse
/// what it would refuse at start-up rather than at the first list.
/// </summary>
internal static class LabelSelector
{
    public static bool TryValidate(string selector, out string error)
    {
        error = string.Empty;
        var s = selector.AsSpan().Trim();
        if (s.Length == 0)
        {
            return true;
        }
        foreach (var range in SplitTopLevel(s))
        {
            var requirement = s[range].Trim();
            if (!TryRequirement(requirement, out error))
            {
                return false;
            }
        }
        return true;
    }

    private static List<Range> SplitTopLevel(ReadOnlySpan<char> s)
    {
        var parts = new List<Range>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '(')
            {
                depth++;
            }
            else if (s[i] == ')')
            {
                depth--;
            }
            else if (s[i] == ',' && depth == 0)
            {
                parts.Add(start..i);
                start = i + 1;
            }
        }
        parts.Add(start..s.Length);
        return parts;
    }

    private static bool TryRequirement(ReadOnlySpan<char> r, out string error)
    {
        error = string.Empty;
        if (r.Length == 0)
        {
            error = "found '', expected: identifier";
            return false;
        }
        if (r[0] == '!')
        {
            return TryKey(r[1..].Trim(), out error);
        }
        var op = r.IndexOfAny("=!");
        if (op > 0)
        {
            var key = r[..op].Trim();
            var rest = r[op..];
            var opLength = rest.StartsWith("==") || rest.StartsWith("!=") ? 2 : rest.StartsWith("=") ? 1 : 0;
            if (opLength == 0)
            {
                error = $"found '{rest.ToString()}', expected: '=', '!=', '==', 'in', notin'";
                return false;
            }
            return TryKey(key, out error) && TryValue(rest[opLength..].Trim(), out error);
        }
        var space = r.IndexOf(' ');
        if (space < 0)
        {
            return TryKey(r, out error);
        }
        var k = r[..space];
        var tail = r[space..].TrimStart();
        ReadOnlySpan<char> set;
        if (tail.StartsWith("notin"))
        {
            set = tail[5..].Trim();
        }
        else if (tail.StartsWith("in"))
        {
            set = tail[2..].Trim();
        }
        else
        {
            error = $"found '{tail.ToString()}', expected: in, notin, =, ==, !=, gt, lt";
            return false;
        }
        if (!TryKey(k, out error))
        {
            return false;
        }
        if (set.Length < 2 || set[0] != '(' || set[^1] != ')')
        {
            error = "found '" + set.ToString() + "', expected: '('";
            return false;
        }
        foreach (var part in set[1..^1].ToString().Split(','))
        {
            if (!TryValue(part.AsSpan().Trim(), out error))
            {
                return false;
            }
        }
        return true;
    }

    private static bool TryKey(ReadOnlySpan<char> key, out string error)
    {
        error = string.Empty;
        var slash = key.IndexOf('/');
        var name = slash >= 0 ? key[(slash + 1)..] : key;
        if (slash == 0 || (slash > 0 && key[..slash].Length > 253) || !IsQualifiedName(name))
        {
            error = $"invalid label key \"{key.ToString()}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
            return false;
        }
        return true;
    }

    private static bool TryValue(ReadOnlySpan<char> value, out string error)
    {
        error = string.Empty;
        if (value.Length == 0 || IsQualifiedName(value))
        {
            return true;
        }
        error = $"invalid label value: \"{value.ToString()}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
        return false;
    }

    private static bool IsQualifiedName(ReadOnlySpan<char> s)
    {
        if (s.Length is 0 or > 63 || !char.IsAsciiLetterOrDigit(s[0]) || !char.IsAsciiLetterOrDigit(s[^1]))
        {
            return false;
        }
        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }
}
