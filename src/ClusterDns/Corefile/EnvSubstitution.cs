namespace ClusterDns.Corefile;

/// <summary>
/// <c>{$NAME}</c> / <c>{%NAME%}</c> replacement as done by coredns/caddy: textual, unset means empty.
/// Anything else in braces (<c>{env.X}</c>, <c>{type}</c>, <c>{1}</c>) is left alone.
/// </summary>
internal static class EnvSubstitution
{
    public static string Replace(string s, Func<string, string?> getEnv)
    {
        if (s.IndexOf('{') < 0)
        {
            return s;
        }
        s = ReplaceReferences(s, "{%", "%}", getEnv);
        return ReplaceReferences(s, "{$", "}", getEnv);
    }

    private static string ReplaceReferences(string s, string refStart, string refEnd, Func<string, string?> getEnv)
    {
        var from = 0;
        while (true)
        {
            var index = s.IndexOf(refStart, from, StringComparison.Ordinal);
            if (index < 0)
            {
                return s;
            }
            var end = s.IndexOf(refEnd, index, StringComparison.Ordinal);
            if (end < 0)
            {
                return s;
            }
            if (end <= index + refStart.Length)
            {
                // "{$}" / "{%%}": Go stops substituting the whole token here.
                return s;
            }
            var name = s[(index + refStart.Length)..end];
            var value = getEnv(name) ?? string.Empty;
            s = string.Concat(s.AsSpan(0, index), value, s.AsSpan(end + refEnd.Length));
            // Continue after the inserted value so a value containing "{$X}" cannot loop forever.
            from = index + value.Length;
        }
    }
}
