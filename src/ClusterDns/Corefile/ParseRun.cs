namespace ClusterDns.Corefile;

/// <summary>
/// One parse of a Corefile: a cursor over a mutable token list (imports splice tokens in place),
/// following coredns/caddy's parse.go step by step so that edge cases and error positions match.
/// </summary>
internal sealed class ParseRun
{
    internal const int MaxSnippetExpansions = 10_000;
    internal const int MaxFileExpansions = 100_000;

    private readonly string _fileName;
    private readonly CorefileParserOptions _options;
    private readonly Dictionary<string, List<Token>> _snippets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Token>> _fileCache = new(StringComparer.Ordinal);
    private readonly List<string> _files = [];
    private readonly List<string> _warnings = [];
    private List<Token> _tokens = [];
    private int _cursor = -1;
    private int _snippetExpansions;
    private int _fileExpansions;

    public ParseRun(string fileName, CorefileParserOptions options)
    {
        _fileName = fileName;
        _options = options;
    }

    public CorefileDocument Run(string text)
    {
        _files.Add(_fileName);
        _tokens = Lexer.Tokenize(text, _fileName);
        var raw = new List<RawBlock>();
        while (Next())
        {
            var block = ParseOne();
            if (block is { Keys.Count: > 0 })
            {
                raw.Add(block);
            }
        }

        // Keys are validated after the whole file parsed, as CoreDNS does in InspectServerBlocks.
        var blocks = new List<ServerBlock>();
        foreach (var b in raw)
        {
            var built = b.Build(_options.DefaultPort, _warnings);
            if (built is not null)
            {
                blocks.Add(built);
            }
        }
        return new CorefileDocument(blocks, _files.ToArray(), _warnings.ToArray());
    }

    private string Env(string s) => EnvSubstitution.Replace(s, _options.GetEnvironmentVariable);

    // ---- cursor primitives (same semantics as caddyfile.Dispenser) ----

    private string Val => _cursor < 0 || _cursor >= _tokens.Count ? string.Empty : _tokens[_cursor].Text;

    private string CurrentFile => _cursor < 0 || _cursor >= _tokens.Count ? _fileName : _tokens[_cursor].File;

    private int CurrentLine => _cursor < 0 || _cursor >= _tokens.Count ? 0 : _tokens[_cursor].Line;

    private bool Next()
    {
        if (_cursor < _tokens.Count - 1)
        {
            _cursor++;
            return true;
        }
        return false;
    }

    private bool NextArg()
    {
        if (_cursor < 0)
        {
            _cursor++;
            return true;
        }
        if (_cursor >= _tokens.Count - 1)
        {
            return false;
        }
        var cur = _tokens[_cursor];
        var next = _tokens[_cursor + 1];
        if (cur.File == next.File && cur.EndLine == next.Line)
        {
            _cursor++;
            return true;
        }
        return false;
    }

    private bool IsNewLine()
    {
        if (_cursor < 1)
        {
            return true;
        }
        if (_cursor > _tokens.Count - 1)
        {
            return false;
        }
        var prev = _tokens[_cursor - 1];
        var cur = _tokens[_cursor];
        return prev.File != cur.File || prev.EndLine < cur.Line;
    }

    private CorefileException Err(string message) =>
        new($"{CurrentFile}:{CurrentLine} - Error during parsing: {message}", CurrentFile, CurrentLine);

    private CorefileException SyntaxErr(string expected) =>
        new($"{CurrentFile}:{CurrentLine} - Syntax error: Unexpected token '{Val}', expecting '{expected}'", CurrentFile, CurrentLine);

    private CorefileException ArgErr() => Val == "{"
        ? Err("Unexpected token '{', expecting argument")
        : Err($"Wrong argument count or unexpected line ending after '{Val}'");

    // ---- grammar ----

    private RawBlock? ParseOne()
    {
        if (_tokens.Count == 0)
        {
            return null;
        }
        var block = new RawBlock();
        var eof = Addresses(block);
        if (eof)
        {
            return block; // the file ended right after a line of keys
        }
        if (block.Keys.Count == 1 && block.Keys[0].Text is ['(', .., ')'] key)
        {
            DefineSnippet(key[1..^1]);
            return null;
        }
        BlockContents(block);
        return block;
    }

    /// <summary>Reads the key list; returns true when the input ended.</summary>
    private bool Addresses(RawBlock block)
    {
        var expectingAnother = false;
        while (true)
        {
            var tkn = Env(Val);
            if (tkn == "import" && IsNewLine())
            {
                DoImport();
                continue;
            }
            if (tkn == "{")
            {
                if (expectingAnother)
                {
                    throw Err("Expected another address but had '{' - check for extra comma");
                }
                return false;
            }
            if (tkn.Length > 0) // "" or an unset variable yields no key
            {
                expectingAnother = tkn[^1] == ',';
                if (expectingAnother)
                {
                    tkn = tkn[..^1];
                }
                block.Keys.Add(_tokens[_cursor] with { Text = tkn });
            }

            var hasNext = Next();
            if (expectingAnother && !hasNext)
            {
                throw Err("Unexpected EOF");
            }
            if (!hasNext)
            {
                return true;
            }
            if (!expectingAnother && IsNewLine())
            {
                return false;
            }
        }
    }

    private void BlockContents(RawBlock block)
    {
        var braced = Val == "{";
        if (!braced)
        {
            _cursor--; // single-server mode: the rest of the file is this block's body
        }
        Directives(block);
        if (braced && Val != "}")
        {
            throw SyntaxErr("}");
        }
    }

    private void Directives(RawBlock block)
    {
        while (Next())
        {
            if (Val == "}")
            {
                return;
            }
            if (Val == "import")
            {
                DoImport();
                _cursor--; // land on the first imported token with the next Next()
                continue;
            }
            Directive(block);
        }
    }

    private void Directive(RawBlock block)
    {
        var name = Env(Val);
        if (!_options.IsDirective(name))
        {
            throw Err($"Unknown directive '{name}'");
        }
        var group = block.Group(name);
        group.Add(_tokens[_cursor] with { Text = name });

        var nesting = 0;
        while (Next())
        {
            if (Val == "{")
            {
                nesting++;
            }
            else if (IsNewLine() && nesting == 0)
            {
                _cursor--; // read too far
                break;
            }
            else if (Val == "}" && nesting > 0)
            {
                nesting--;
            }
            else if (Val == "}")
            {
                throw Err("Unexpected '}' because no matching opening brace");
            }
            else if (Val == "import" && IsNewLine())
            {
                DoImport();
                _cursor--;
                continue;
            }
            var token = _tokens[_cursor];
            group.Add(token with { Text = Env(token.Text) });
        }
        if (nesting > 0)
        {
            throw Err("Unexpected EOF");
        }
    }

    private void DefineSnippet(string name)
    {
        if (_snippets.ContainsKey(name))
        {
            throw Err($"redeclaration of previously declared snippet {name}");
        }
        if (Val != "{")
        {
            throw SyntaxErr("{");
        }
        var count = 1;
        var body = new List<Token>();
        while (Next())
        {
            if (Val == "}" && --count == 0)
            {
                break;
            }
            if (Val == "{")
            {
                count++;
            }
            body.Add(_tokens[_cursor]);
        }
        if (count != 0)
        {
            throw SyntaxErr("}");
        }
        // Cheap guard against the obvious cycle; indirect cycles hit the expansion cap instead.
        for (var i = 0; i + 1 < body.Count; i++)
        {
            var atLineStart = i == 0 || body[i - 1].File != body[i].File || body[i - 1].Line != body[i].Line;
            if (body[i].Text == "import" && atLineStart && Env(body[i + 1].Text) == name)
            {
                throw Err($"maximum snippet import depth ({MaxSnippetExpansions}) exceeded");
            }
        }
        _snippets[name] = body;
    }

    /// <summary>
    /// Replaces "import ARG" with the snippet's or files' tokens. Afterwards the cursor sits where the import
    /// token was, i.e. on the first imported token.
    /// </summary>
    private void DoImport()
    {
        if (!NextArg())
        {
            throw ArgErr();
        }
        var pattern = Env(Val);
        if (pattern.Length == 0)
        {
            throw Err("Import requires a non-empty filepath");
        }
        if (NextArg())
        {
            throw Err("Import takes only one argument (glob pattern or file)");
        }

        List<Token> imported;
        if (_snippets.TryGetValue(pattern, out var snippet))
        {
            if (_snippetExpansions >= MaxSnippetExpansions)
            {
                throw Err($"maximum snippet import depth ({MaxSnippetExpansions}) exceeded");
            }
            _snippetExpansions++;
            imported = snippet;
        }
        else
        {
            if (_fileExpansions >= MaxFileExpansions)
            {
                throw Err($"maximum file import depth ({MaxFileExpansions}) exceeded");
            }
            _fileExpansions++;
            imported = ImportFiles(pattern);
        }

        var at = _cursor - 1;
        _tokens.RemoveRange(at, 2);
        _tokens.InsertRange(at, imported);
        _cursor = at;
    }

    private List<Token> ImportFiles(string pattern)
    {
        // Relative to the file holding the import token, not the working directory (caddy issue #867).
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(CurrentFile)) ?? Directory.GetCurrentDirectory();
        var globPattern = Path.GetFullPath(Path.IsPathRooted(pattern) ? pattern : Path.Combine(baseDir, pattern));
        if (Count(globPattern, '*') > 1 || Count(globPattern, '?') > 1 ||
            (globPattern.Contains('[') && globPattern.Contains(']')))
        {
            throw Err($"Glob pattern may only contain one wildcard (*), but has others: {globPattern}");
        }

        var matches = Glob.Match(globPattern);
        if (matches.Count == 0)
        {
            if (globPattern.IndexOfAny(['*', '?', '[', ']']) >= 0)
            {
                _warnings.Add($"No files matching import glob pattern: {pattern}");
            }
            else
            {
                throw Err($"File to import not found: {pattern}");
            }
        }

        var result = new List<Token>();
        foreach (var file in matches)
        {
            result.AddRange(ImportFile(file));
        }
        return result;
    }

    private List<Token> ImportFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (_fileCache.TryGetValue(full, out var cached))
        {
            return cached;
        }
        if (Directory.Exists(full))
        {
            throw Err($"Could not import {path}: is a directory");
        }
        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Err($"Could not import {path}: {CorefileParser.OpenError(path, e)}");
        }
        // Imported tokens carry the absolute path so errors point into the imported file.
        var tokens = Lexer.Tokenize(text, full);
        _fileCache[full] = tokens;
        if (!_files.Contains(full))
        {
            _files.Add(full);
        }
        return tokens;
    }

    private static int Count(string s, char c) => s.Count(x => x == c);
}
