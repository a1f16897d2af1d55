namespace ClusterDns.Corefile;

/// <summary>A server block as parsed, before its keys are validated and normalised.</summary>
internal sealed class RawBlock
{
    private readonly List<(string Name, List<Token> Tokens)> _groups = [];

    public List<Token> Keys { get; } = [];

    public List<Token> Group(string name)
    {
        foreach (var (n, tokens) in _groups)
        {
            if (n == name)
            {
                return tokens;
            }
        }
        var list = new List<Token>();
        _groups.Add((name, list));
        return list;
    }

    /// <summary>Normalises the keys; returns null when no key is left (the block is then ignored).</summary>
    public ServerBlock? Build(int defaultPort, List<string> warnings)
    {
        var keys = new List<ServerKey>();
        foreach (var key in Keys)
        {
            if (key.Text == "}")
            {
                // CoreDNS turns a surplus "}" into a zone named "}." — accept the file but say so.
                warnings.Add($"{key.File}:{key.Line} - Unexpected '}}' ignored: no matching opening brace");
                continue;
            }
            keys.AddRange(ParseKey(key, defaultPort));
        }
        if (keys.Count == 0)
        {
            return null;
        }
        var directives = _groups.Select(g => new DirectiveGroup(g.Name, g.Tokens.ToArray())).ToArray();
        return new ServerBlock(keys.ToArray(), directives, Keys[0].File, Keys[0].Line);
    }

    private static IEnumerable<ServerKey> ParseKey(Token key, int defaultPort)
    {
        var (scheme, rest) = Schemes.Split(key.Text);
        if (!ZoneNames.TrySplitHostPort(rest, out var hosts, out var port, out var error))
        {
            throw new CorefileException($"error inspecting server blocks: {error}", key.File, key.Line);
        }
        var effectivePort = port ?? Schemes.DefaultPort(scheme, defaultPort);
        return hosts.Select(h => new ServerKey(scheme, h, effectivePort, port.HasValue, key.Text));
    }
}
