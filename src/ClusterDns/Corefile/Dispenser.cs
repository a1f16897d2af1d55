namespace ClusterDns.Corefile;

/// <summary>
/// Reads one <see cref="DirectiveGroup"/> for a plugin's setup, with coredns/caddy Dispenser semantics
/// (cursor starts before the first token; "same line" accounts for multi-line quoted tokens).
/// </summary>
public sealed class Dispenser
{
    private readonly IReadOnlyList<Token> _tokens;
    private readonly string _defaultFile;
    private int _cursor = -1;

    public Dispenser(DirectiveGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        _tokens = group.Tokens;
        _defaultFile = _tokens.Count > 0 ? _tokens[0].File : string.Empty;
    }

    /// <summary>Text of the current token, empty before the first <see cref="Next"/>.</summary>
    public string Val => InRange ? _tokens[_cursor].Text : string.Empty;

    /// <summary>Line of the current token, 0 when none is loaded.</summary>
    public int Line => InRange ? _tokens[_cursor].Line : 0;

    public string File => InRange ? _tokens[_cursor].File : _defaultFile;

    /// <summary>How many blocks opened by <see cref="NextBlock()"/> are still open.</summary>
    public int Nesting { get; private set; }

    private bool InRange => _cursor >= 0 && _cursor < _tokens.Count;

    public bool Next()
    {
        if (_cursor < _tokens.Count - 1)
        {
            _cursor++;
            return true;
        }
        return false;
    }

    public bool NextArg()
    {
        if (_cursor < 0)
        {
            _cursor++;
            return _cursor < _tokens.Count;
        }
        if (_cursor < _tokens.Count - 1 && SameLine(_cursor, _cursor + 1))
        {
            _cursor++;
            return true;
        }
        return false;
    }

    public bool NextLine()
    {
        if (_cursor < 0)
        {
            _cursor++;
            return _cursor < _tokens.Count;
        }
        if (_cursor < _tokens.Count - 1 && !SameLine(_cursor, _cursor + 1))
        {
            _cursor++;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Loop condition for a block: opens a "{" that is the next token on the current line, then returns each
    /// token inside it and false at the matching "}". Nested "{ … }" are returned as tokens and tracked, so
    /// the outer loop ends at its own closing brace.
    /// </summary>
    public bool NextBlock() => NextBlock(0);

    /// <summary>
    /// Like <see cref="NextBlock()"/> for a nested block: pass the <see cref="Nesting"/> value seen before the
    /// nested block's "{" so the inner loop stops at the inner closing brace.
    /// </summary>
    public bool NextBlock(int initialNestingLevel)
    {
        if (Nesting > initialNestingLevel)
        {
            Next(); // at EOF the cursor stays put; the parser guarantees braces balance
            if (Val == "}")
            {
                Nesting--;
                return Nesting > initialNestingLevel;
            }
            if (Val == "{" && IsLastOnLine())
            {
                Nesting++;
            }
            return true;
        }
        if (!NextArg())
        {
            return false; // a block must open on the same line
        }
        if (Val != "{")
        {
            _cursor--;
            return false;
        }
        Next();
        if (Val == "}")
        {
            return false; // "{ }" — opened and closed at once
        }
        Nesting++;
        return true;
    }

    /// <summary>The remaining arguments on this line; stops before a "{".</summary>
    public IReadOnlyList<string> RemainingArgs()
    {
        var args = new List<string>();
        while (NextArg())
        {
            if (Val == "{")
            {
                _cursor--;
                break;
            }
            args.Add(Val);
        }
        return args;
    }

    public CorefileException ArgErr() => Val == "{"
        ? Err("Unexpected token '{', expecting argument")
        : Err($"Wrong argument count or unexpected line ending after '{Val}'");

    public CorefileException SyntaxErr(string expected) =>
        new($"{File}:{Line} - Syntax error: Unexpected token '{Val}', expecting '{expected}'", File, Line);

    public CorefileException Err(string message) =>
        new($"{File}:{Line} - Error during parsing: {message}", File, Line);

    public CorefileException Errf(string message) => Err(message);

    private bool SameLine(int a, int b) =>
        _tokens[a].File == _tokens[b].File && _tokens[a].EndLine == _tokens[b].Line;

    private bool IsLastOnLine() => _cursor >= _tokens.Count - 1 || !SameLine(_cursor, _cursor + 1);
}
