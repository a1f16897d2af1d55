namespace ClusterDns.Corefile;

/// <summary>Minimal Go filepath.Glob: '*' and '?' within one path segment, results sorted per directory.</summary>
internal static class Glob
{
    public static List<string> Match(string pattern)
    {
        if (!HasMeta(pattern))
        {
            return File.Exists(pattern) || Directory.Exists(pattern) ? [pattern] : [];
        }
        var dir = Path.GetDirectoryName(pattern);
        var filePattern = Path.GetFileName(pattern);
        if (string.IsNullOrEmpty(dir))
        {
            dir = ".";
        }
        var dirs = HasMeta(dir) ? Match(dir) : [dir];
        var result = new List<string>();
        foreach (var d in dirs)
        {
            if (!Directory.Exists(d))
            {
                continue;
            }
            var names = Directory.EnumerateFileSystemEntries(d)
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(n => Matches(filePattern, n))
                .Order(StringComparer.Ordinal);
            result.AddRange(names.Select(n => Path.Combine(d, n)));
        }
        return result;
    }

    private static bool HasMeta(string s) => s.IndexOfAny(['*', '?', '[']) >= 0;

    private static bool Matches(string pattern, string name) => Matches(pattern.AsSpan(), name.AsSpan());

    private static bool Matches(ReadOnlySpan<char> p, ReadOnlySpan<char> n)
    {
        while (p.Length > 0)
        {
            switch (p[0])
            {
                case '*':
                    for (var i = 0; i <= n.Length; i++)
                    {
                        if (Matches(p[1..], n[i..]))
                        {
                            return true;
                        }
                    }
                    return false;
                case '?':
                    if (n.Length == 0)
                    {
                        return false;
                    }
                    break;
                default:
                    if (n.Length == 0 || n[0] != p[0])
                    {
                        return false;
                    }
                    break;
            }
            p = p[1..];
            n = n[1..];
        }
        return n.Length == 0;
    }
}
