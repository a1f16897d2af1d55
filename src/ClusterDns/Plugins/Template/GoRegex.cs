using System.Text;
using System.Text.RegularExpressions;

namespace ClusterDns.Plugins.Template;

/// <summary>
/// A Go (RE2) regular expression run by .NET. RE2 numbers every capturing group left to right, named or not, while
/// .NET numbers unnamed groups first; so named groups are rewritten as plain groups and their names kept here by
/// number, which gives <c>.Match</c> and <c>.Group</c> Go's indexes. <c>(?P&lt;name&gt;…)</c> becomes valid .NET on
/// the way.
/// </summary>
internal sealed class GoRegex
{
    private GoRegex(string pattern, Regex regex, string[] groupNames)
    {
        Pattern = pattern;
        Regex = regex;
        GroupNames = groupNames;
        MatchesEverything = pattern == ".*";
    }

    /// <summary>A match taking longer than this (only a pathological pattern can) fails the query with SERVFAIL.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>The pattern as configured (the <c>.Regex</c> template value).</summary>
    public string Pattern { get; }

    public Regex Regex { get; }

    /// <summary>Go's SubexpNames: index 0 is the whole match, "" for unnamed groups.</summary>
    public string[] GroupNames { get; }

    /// <summary>The default <c>.*</c>: no need to run it to know it matches.</summary>
    public bool MatchesEverything { get; }

    public static bool TryCompile(string pattern, out GoRegex? regex, out string error)
    {
        regex = null;
        if (!TryTranslate(pattern, out var translated, out var names, out error))
        {
            return false;
        }
        try
        {
            // The non-backtracking engine refuses what RE2 refuses (back-references, look-arounds); queries run on the
            // compiled backtracking engine, several times faster, with a time limit standing in for RE2's linear-time
            // guarantee against a pathological pattern.
            _ = new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
            var compiled = new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);
            regex = new GoRegex(pattern, compiled, names);
            return true;
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            error = exception.Message;
            return false;
        }
    }

    private static bool TryTranslate(string pattern, out string translated, out string[] names, out string error)
    {
        var builder = new StringBuilder(pattern.Length);
        var groupNames = new List<string> { string.Empty };
        error = string.Empty;
        names = [];
        translated = string.Empty;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '\\' when i + 1 < pattern.Length:
                    builder.Append(c).Append(pattern[++i]);
                    break;
                case '[':
                    i = CopyClass(pattern, i, builder);
                    break;
                case '(' when i + 1 < pattern.Length && pattern[i + 1] == '?':
                    var nameStart = pattern.AsSpan(i).StartsWith("(?P<") ? i + 4 : pattern.AsSpan(i).StartsWith("(?<") && i + 3 < pattern.Length
                        && pattern[i + 3] is not ('=' or '!') ? i + 3 : -1;
                    if (nameStart < 0)
                    {
                        builder.Append(c);
                        break;
                    }
                    var close = pattern.IndexOf('>', nameStart);
                    if (close < 0)
                    {
                        error = $"invalid named capture: `{pattern[i..]}`";
                        return false;
                    }
                    var name = pattern[nameStart..close];
                    if (name.Length == 0 || !IsWord(name))
                    {
                        error = $"invalid named capture: `{pattern[i..(close + 1)]}`";
                        return false;
                    }
                    if (groupNames.Contains(name))
                    {
                        error = $"duplicate capture group name: `{name}`";
                        return false;
                    }
                    groupNames.Add(name);
                    builder.Append('(');
                    i = close;
                    break;
                case '(':
                    groupNames.Add(string.Empty);
                    builder.Append(c);
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
        translated = builder.ToString();
        names = [.. groupNames];
        return true;
    }

    /// <summary>Copies a character class; RE2's POSIX classes (<c>[[:alpha:]]</c>) become ranges .NET understands.</summary>
    private static int CopyClass(string pattern, int start, StringBuilder builder)
    {
        var i = start + 1;
        builder.Append('[');
        if (i < pattern.Length && pattern[i] == '^')
        {
            builder.Append('^');
            i++;
        }
        if (i < pattern.Length && pattern[i] == ']')
        {
            builder.Append("\\]");
            i++;
        }
        for (; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                builder.Append(c).Append(pattern[++i]);
                continue;
            }
            if (c == '[' && pattern.AsSpan(i).StartsWith("[:"))
            {
                var end = pattern.IndexOf(":]", i + 2, StringComparison.Ordinal);
                if (end > 0 && Posix(pattern[(i + 2)..end]) is { } range)
                {
                    builder.Append(range);
                    i = end + 1;
                    continue;
                }
            }
            if (c == '[')
            {
                builder.Append("\\[");
                continue;
            }
            builder.Append(c);
            if (c == ']')
            {
                return i;
            }
        }
        return i;
    }

    private static string? Posix(string name) => name switch
    {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => "\\x00-\\x7F",
        "blank" => "\\t ",
        "cntrl" => "\\x00-\\x1F\\x7F",
        "digit" => "0-9",
        "graph" => "!-~",
        "lower" => "a-z",
        "print" => " -~",
        "punct" => "!-/:-@\\[-`{-~",
        "space" => "\\t\\n\\v\\f\\r ",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => null,
    };

    private static bool IsWord(string name)
    {
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }
        return true;
    }
}
