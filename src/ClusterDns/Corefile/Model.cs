namespace ClusterDns.Corefile;

/// <summary>One lexical token. <see cref="Line"/> is the line the token starts on.</summary>
public sealed record Token(string Text, string File, int Line)
{
    // A multi-line quoted token "ends" on a later line; the next token on that line counts as the same line.
    internal int EndLine => Line + LineBreaks(Text);

    private static int LineBreaks(string text)
    {
        var n = 0;
        foreach (var c in text)
        {
            if (c == '\n')
            {
                n++;
            }
        }
        return n;
    }
}

/// <summary>A Corefile error; <see cref="Exception.Message"/> is exactly CoreDNS's text.</summary>
public sealed class CorefileException : Exception
{
    public CorefileException(string message, string? file = null, int line = 0)
        : base(message)
    {
        File = file;
        Line = line;
    }

    public string? File { get; }

    /// <summary>1-based line, 0 when the error is not tied to a line.</summary>
    public int Line { get; }
}

/// <summary>One server-block key after normalisation: <c>[SCHEME://]ZONE[:PORT]</c>.</summary>
public sealed record ServerKey(string Scheme, string Zone, int Port, bool ExplicitPort, string Original)
{
    public string Canonical => $"{Scheme}://{Zone}:{Port}";
}

/// <summary>
/// All occurrences of one directive inside a block, concatenated in file order (Caddy dispenser input):
/// each occurrence's name token, its arguments and any block tokens including braces.
/// </summary>
public sealed record DirectiveGroup(string Name, IReadOnlyList<Token> Tokens);

/// <summary>A server block; <see cref="Directives"/> are in first-appearance order, one group per name.</summary>
public sealed record ServerBlock(IReadOnlyList<ServerKey> Keys, IReadOnlyList<DirectiveGroup> Directives, string File, int Line)
{
    public DirectiveGroup? Find(string name)
    {
        foreach (var d in Directives)
        {
            if (d.Name == name)
            {
                return d;
            }
        }
        return null;
    }
}

/// <summary>
/// Result of a parse. <see cref="Files"/> lists every file read (main first, then imports as absolute paths),
/// for reload hashing. An empty <see cref="Blocks"/> list means "use the built-in default".
/// </summary>
public sealed record CorefileDocument(IReadOnlyList<ServerBlock> Blocks, IReadOnlyList<string> Files, IReadOnlyList<string> Warnings);

public sealed record CorefileParserOptions
{
    /// <summary>Known directive names (<c>import</c> is handled by the parser itself).</summary>
    public required Func<string, bool> IsDirective { get; init; }

    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Port for dns:// keys without an explicit port (<c>-dns.port</c>).</summary>
    public int DefaultPort { get; init; } = 53;
}
