using System.Text.Json.Nodes;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// Minimal Kubernetes selector evaluation for the test API server: label selectors with <c>=</c>, <c>==</c>,
/// <c>!=</c>, <c>key</c>, <c>!key</c>, <c>in (…)</c>, <c>notin (…)</c>; field selectors with <c>=</c>/<c>==</c>/<c>!=</c>
/// on a dotted path (<c>status.phase</c>, <c>metadata.name</c>).
/// </summary>
public static class Selectors
{
    public static bool MatchesLabels(string? selector, JsonObject obj)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return true;
        }
        var labels = obj["metadata"]?["labels"] as JsonObject;
        foreach (var raw in SplitTerms(selector))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }
            if (!MatchLabelTerm(term, labels))
            {
                return false;
            }
        }

        return true;
    }

    public static bool MatchesFields(string? selector, JsonObject obj)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return true;
        }
        foreach (var raw in selector.Split(','))
        {
            var term = raw.Trim();
            if (term.Length == 0)
            {
                continue;
            }
            var (path, op, value) = SplitOp(term);
            if (op is null)
            {
                throw new FormatException($"bad field selector term '{term}'");
            }
            var actual = Lookup(obj, path) ?? "";
            bool eq = actual == value;
            if (op == "!=" ? eq : !eq)
            {
                return false;
            }
        }

        return true;
    }

    private static bool MatchLabelTerm(string term, JsonObject? labels)
    {
        string? Get(string key) => labels?[key]?.GetValue<string>();
        var words = term.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 2 && (words[1].StartsWith("in ", StringComparison.Ordinal) || words[1].StartsWith("in(", StringComparison.Ordinal)
                                  || words[1].StartsWith("notin", StringComparison.Ordinal)))
        {
            bool notIn = words[1].StartsWith("notin", StringComparison.Ordinal);
            var list = words[1][(words[1].IndexOf('(') + 1)..words[1].LastIndexOf(')')]
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var v = Get(words[0]);
            bool contained = v is not null && Array.IndexOf(list, v) >= 0;
            return notIn ? !contained : contained;
        }

        var (key, op, value) = SplitOp(term);
        if (op is null)
        {
            return term.StartsWith('!') ? Get(term[1..].Trim()) is null : Get(term) is not null;
        }
        var actual = Get(key);
        return op == "!=" ? actual != value : actual == value;
    }

    private static (string Key, string? Op, string Value) SplitOp(string term)
    {
        int i = term.IndexOf("!=", StringComparison.Ordinal);
        if (i > 0)
        {
            return (term[..i].Trim(), "!=", term[(i + 2)..].Trim());
        }
        i = term.IndexOf("==", StringComparison.Ordinal);
        if (i > 0)
        {
            return (term[..i].Trim(), "==", term[(i + 2)..].Trim());
        }
        i = term.IndexOf('=');
        if (i > 0)
        {
            return (term[..i].Trim(), "=", term[(i + 1)..].Trim());
        }
        return (term, null, "");
    }

    // Commas separate terms except inside "in (a,b)".
    private static IEnumerable<string> SplitTerms(string selector)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < selector.Length; i++)
        {
            char c = selector[i];
            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                yield return selector[start..i];
                start = i + 1;
            }
        }

        yield return selector[start..];
    }

    private static string? Lookup(JsonObject obj, string path)
    {
        JsonNode? node = obj;
        foreach (var part in path.Split('.'))
        {
            node = (node as JsonObject)?[part];
            if (node is null)
            {
                return null;
            }
        }

        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node.ToJsonString();
    }
}
