using System.Globalization;
using System.Text;

namespace ClusterDns.Plugins.Template;

/// <summary>A template text that Go's text/template parser would refuse (or that ClusterDns does not run), with Go's
/// message: <c>template: answer:1: unclosed action</c>.</summary>
internal sealed class GoTemplateException(string message) : Exception(message);

/// <summary>
/// Parses Go text/template source: text, <c>{{pipeline}}</c> actions (fields, variables, constants, function calls,
/// <c>|</c> chains, parentheses), <c>if/else if/else/with/range/end</c>, comments and <c>{{- -}}</c> trimming.
/// <c>define</c>, <c>template</c>, <c>block</c>, <c>break</c> and <c>continue</c> are refused: a plugin's RR text has
/// no use for them.
/// </summary>
internal sealed class GoTemplateParser
{
    private enum Kind
    {
        End,
        Pipe,
        LeftParen,
        RightParen,
        Comma,
        Declare,
        Assign,
        Field,
        Dot,
        Variable,
        Constant,
        Identifier,
        Keyword,
    }

    private readonly record struct Token(Kind Kind, string Text, int Position, bool SpaceBefore, object? Value = null, bool Trim = false);

    private readonly string _name;
    private readonly string _text;
    private readonly List<List<string>> _scopes = [["$"]];
    private int _pos;
    private bool _trimNext;
    private Token? _peeked;

    private GoTemplateParser(string name, string text)
    {
        _name = name;
        _text = text;
    }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="GoTemplateException"/> with Go's error text.</summary>
    public static IReadOnlyList<GoNode> Parse(string name, string text)
    {
        var parser = new GoTemplateParser(name, text);
        var (list, terminator, position) = parser.ParseList();
        if (terminator is not null)
        {
            throw parser.Error(position, $"unexpected {{{{{terminator}}}}}");
        }
        return list;
    }

    private GoTemplateException Error(int position, string message) =>
        new($"template: {_name}:{LineOf(position)}: {message}");

    private int LineOf(int position)
    {
        var line = 1;
        for (var i = 0; i < position && i < _text.Length; i++)
        {
            if (_text[i] == '\n')
            {
                line++;
            }
        }
        return line;
    }

    /// <summary>Nodes up to an <c>{{end}}</c> or <c>{{else}}</c> (returned as the terminator, its action not yet closed
    /// for else) or the end of the text (null terminator).</summary>
    private (List<GoNode> List, string? Terminator, int Position) ParseList()
    {
        var list = new List<GoNode>();
        while (true)
        {
            var open = _text.IndexOf("{{", _pos, StringComparison.Ordinal);
            var textEnd = open < 0 ? _text.Length : open;
            var leftTrim = open >= 0 && open + 3 < _text.Length && _text[open + 2] == '-' && IsSpace(_text[open + 3]);
            var start = _pos;
            if (_trimNext)
            {
                while (start < textEnd && IsSpace(_text[start]))
                {
                    start++;
                }
                _trimNext = false;
            }
            var end = textEnd;
            if (leftTrim)
            {
                while (end > start && IsSpace(_text[end - 1]))
                {
                    end--;
                }
            }
            if (end > start)
            {
                list.Add(new GoTextNode(_text[start..end]));
            }
            if (open < 0)
            {
                _pos = _text.Length;
                return (list, null, _pos);
            }
            _pos = open + (leftTrim ? 4 : 2);
            if (TrySkipComment())
            {
                continue;
            }
            var first = Next();
            if (first.Kind == Kind.Keyword)
            {
                switch (first.Text)
                {
                    case "end":
                        ExpectEnd("end");
                        return (list, "end", first.Position);
                    case "else":
                        return (list, "else", first.Position);
                    case "if":
                        list.Add(ParseBranch(GoBranchKind.If, first.Position));
                        continue;
                    case "with":
                        list.Add(ParseBranch(GoBranchKind.With, first.Position));
                        continue;
                    case "range":
                        list.Add(ParseBranch(GoBranchKind.Range, first.Position));
                        continue;
                    case "true" or "false" or "nil":
                        break;
                    default:
                        throw Error(first.Position, $"{{{{{first.Text}}}}} is not supported in a template RR");
                }
            }
            _peeked = first;
            var pipe = ParsePipeline("command", Kind.End, GoBranchKind.If);
            list.Add(new GoActionNode(first.Position, LineOf(first.Position), pipe));
        }
    }

    private GoBranchNode ParseBranch(GoBranchKind kind, int position)
    {
        _scopes.Add([]);
        var context = kind switch { GoBranchKind.If => "if", GoBranchKind.With => "with", _ => "range" };
        var pipe = ParsePipeline(context, Kind.End, kind);
        var (list, terminator, at) = ParseList();
        IReadOnlyList<GoNode>? elseList = null;
        if (terminator is null)
        {
            throw Error(at, "unexpected EOF");
        }
        if (terminator == "else")
        {
            var next = Next();
            if (kind != GoBranchKind.Range && next.Kind == Kind.Keyword && next.Text is "if" or "with")
            {
                // {{else if x}} is {{else}}{{if x}}…{{end}} sharing this branch's {{end}}.
                elseList = [ParseBranch(next.Text == "if" ? GoBranchKind.If : GoBranchKind.With, next.Position)];
            }
            else
            {
                _peeked = next;
                ExpectEnd("else");
                var (otherList, otherTerminator, otherAt) = ParseList();
                if (otherTerminator != "end")
                {
                    throw Error(otherAt, otherTerminator is null ? "unexpected EOF" : "expected end; found {{else}}");
                }
                elseList = otherList;
            }
        }
        _scopes.RemoveAt(_scopes.Count - 1);
        return new GoBranchNode(kind, LineOf(position), pipe, list, elseList);
    }

    private void ExpectEnd(string context)
    {
        var token = Next();
        if (token.Kind != Kind.End)
        {
            throw Error(token.Position, $"unexpected \"{token.Text}\" in {context}");
        }
    }

    private GoPipeNode ParsePipeline(string context, Kind end, GoBranchKind kind)
    {
        var start = Peek().Position;
        var declarations = new List<string>();
        var isAssign = false;
        if (Peek().Kind == Kind.Variable && TryDeclarations(kind == GoBranchKind.Range && context == "range", declarations, out isAssign))
        {
            foreach (var variable in declarations)
            {
                if (isAssign)
                {
                    EnsureDeclared(variable, start);
                }
                else
                {
                    _scopes[^1].Add(variable);
                }
            }
        }
        var commands = new List<GoCommandNode>();
        while (true)
        {
            var token = Peek();
            if (token.Kind == end)
            {
                Next();
                break;
            }
            if (token.Kind is Kind.End or Kind.RightParen)
            {
                throw Error(token.Position, $"unexpected \"{token.Text}\" in {context}");
            }
            commands.Add(ParseCommand(end));
            if (Peek().Kind == Kind.Pipe)
            {
                Next();
                if (Peek().Kind == end)
                {
                    throw Error(Peek().Position, "missing command after |");
                }
            }
        }
        if (commands.Count == 0)
        {
            throw Error(start, $"missing value for {context}");
        }
        for (var i = 1; i < commands.Count; i++)
        {
            if (commands[i].Args[0] is GoConstantNode or GoFieldNode { Idents.Count: 0 })
            {
                throw Error(commands[i].Position, $"non executable command in pipeline stage {i + 1}");
            }
        }
        return new GoPipeNode(start, declarations, isAssign, commands);
    }

    /// <summary><c>$x :=</c>, <c>$x =</c> or (range) <c>$i, $v :=</c>; otherwise leaves the tokens alone.</summary>
    private bool TryDeclarations(bool range, List<string> declarations, out bool isAssign)
    {
        isAssign = false;
        var saved = (_pos, _peeked);
        var first = Next();
        var after = Next();
        if (after.Kind == Kind.Comma && range)
        {
            var second = Next();
            var op = Next();
            if (second.Kind == Kind.Variable && op.Kind is Kind.Declare or Kind.Assign)
            {
                declarations.Add(first.Text);
                declarations.Add(second.Text);
                isAssign = op.Kind == Kind.Assign;
                return true;
            }
            throw Error(second.Position, "too many declarations in range");
        }
        if (after.Kind is Kind.Declare or Kind.Assign)
        {
            declarations.Add(first.Text);
            isAssign = after.Kind == Kind.Assign;
            return true;
        }
        (_pos, _peeked) = saved;
        return false;
    }

    private GoCommandNode ParseCommand(Kind end)
    {
        var position = Peek().Position;
        var args = new List<GoNode>();
        while (true)
        {
            var token = Peek();
            if (token.Kind == end || token.Kind == Kind.Pipe || (token.Kind is Kind.End or Kind.RightParen))
            {
                if (args.Count == 0)
                {
                    throw Error(token.Position, "empty command");
                }
                return new GoCommandNode(position, args);
            }
            if (args.Count > 0 && !token.SpaceBefore)
            {
                throw Error(token.Position, $"unexpected \"{token.Text}\" in operand");
            }
            args.Add(ParseOperand());
        }
    }

    private GoNode ParseOperand()
    {
        var token = Next();
        GoNode node;
        switch (token.Kind)
        {
            case Kind.Field:
                return new GoFieldNode(FieldChain([token.Text]));
            case Kind.Dot:
                node = new GoFieldNode([]);
                break;
            case Kind.Variable:
                EnsureDeclared(token.Text, token.Position);
                return new GoVariableNode(token.Text, FieldChain([]));
            case Kind.Constant:
                node = new GoConstantNode(token.Text, token.Value);
                break;
            case Kind.Keyword when token.Text is "true" or "false":
                node = new GoConstantNode(token.Text, token.Text == "true");
                break;
            case Kind.Keyword when token.Text == "nil":
                node = new GoConstantNode("nil", null);
                break;
            case Kind.Identifier:
                if (!GoTemplateFunctions.IsDefined(token.Text))
                {
                    throw Error(token.Position, $"function \"{token.Text}\" not defined");
                }
                node = new GoIdentifierNode(token.Text);
                break;
            case Kind.LeftParen:
                var pipe = ParsePipeline("parenthesized pipeline", Kind.RightParen, GoBranchKind.If);
                var idents = FieldChain([]);
                return idents.Count > 0 ? new GoChainNode(pipe, idents) : pipe;
            default:
                throw Error(token.Position, $"unexpected \"{token.Text}\" in operand");
        }
        if (Peek() is { Kind: Kind.Field, SpaceBefore: false } field)
        {
            throw Error(field.Position, $"unexpected . after term \"{token.Text}\"");
        }
        return node;
    }

    private List<string> FieldChain(List<string> idents)
    {
        while (Peek() is { Kind: Kind.Field, SpaceBefore: false })
        {
            idents.Add(Next().Text);
        }
        return idents;
    }

    private void EnsureDeclared(string variable, int position)
    {
        foreach (var scope in _scopes)
        {
            if (scope.Contains(variable))
            {
                return;
            }
        }
        throw Error(position, $"undefined variable \"{variable}\"");
    }

    private bool TrySkipComment()
    {
        if (!_text.AsSpan(_pos).StartsWith("/*"))
        {
            return false;
        }
        var close = _text.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
        if (close < 0)
        {
            throw Error(_pos, "unclosed comment");
        }
        _pos = close + 2;
        if (_text.AsSpan(_pos).StartsWith(" -}}"))
        {
            _pos += 4;
            _trimNext = true;
            return true;
        }
        if (!_text.AsSpan(_pos).StartsWith("}}"))
        {
            throw Error(_pos, "comment ends before closing delimiter");
        }
        _pos += 2;
        return true;
    }

    private Token Peek() => _peeked ??= Lex();

    private Token Next()
    {
        var token = Peek();
        _peeked = null;
        return token;
    }

    private Token Lex()
    {
        var space = false;
        while (_pos < _text.Length && IsSpace(_text[_pos]))
        {
            // " -}}" closes with trimming.
            if (_text.AsSpan(_pos + 1).StartsWith("-}}"))
            {
                var at = _pos;
                _pos += 4;
                _trimNext = true;
                return new Token(Kind.End, "}}", at, true, Trim: true);
            }
            _pos++;
            space = true;
        }
        if (_pos >= _text.Length)
        {
            throw Error(_pos, "unclosed action");
        }
        var start = _pos;
        var c = _text[_pos];
        if (_text.AsSpan(_pos).StartsWith("}}"))
        {
            _pos += 2;
            return new Token(Kind.End, "}}", start, space);
        }
        switch (c)
        {
            case '|':
                _pos++;
                return new Token(Kind.Pipe, "|", start, space);
            case '(':
                _pos++;
                return new Token(Kind.LeftParen, "(", start, space);
            case ')':
                _pos++;
                return new Token(Kind.RightParen, ")", start, space);
            case ',':
                _pos++;
                return new Token(Kind.Comma, ",", start, space);
            case ':' when _pos + 1 < _text.Length && _text[_pos + 1] == '=':
                _pos += 2;
                return new Token(Kind.Declare, ":=", start, space);
            case '=':
                _pos++;
                return new Token(Kind.Assign, "=", start, space);
            case '"':
                return new Token(Kind.Constant, LexQuoted(start, out var value), start, space, value);
            case '`':
                var close = _text.IndexOf('`', _pos + 1);
                if (close < 0)
                {
                    throw Error(start, "unterminated raw quoted string");
                }
                _pos = close + 1;
                return new Token(Kind.Constant, _text[start.._pos], start, space, _text[(start + 1)..close]);
            case '.' when _pos + 1 < _text.Length && IsIdentifierChar(_text[_pos + 1]):
                _pos++;
                return new Token(Kind.Field, LexWord(), start, space);
            case '.':
                _pos++;
                return new Token(Kind.Dot, ".", start, space);
            case '$':
                _pos++;
                return new Token(Kind.Variable, "$" + LexWord(), start, space);
        }
        if (char.IsAsciiDigit(c) || (c is '-' or '+' && _pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1])))
        {
            _pos++;
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '_' or '.'
                                           || (_text[_pos] is '+' or '-' && _text[_pos - 1] is 'e' or 'E' or 'p' or 'P')))
            {
                _pos++;
            }
            var number = _text[start.._pos];
            if (!TryParseInteger(number, out var integer))
            {
                throw Error(start, $"number {number} is not supported (integers only)");
            }
            return new Token(Kind.Constant, number, start, space, integer);
        }
        if (IsIdentifierChar(c))
        {
            var word = LexWord();
            var kind = word is "if" or "else" or "end" or "range" or "with" or "define" or "template" or "block" or "break" or "continue"
                or "true" or "false" or "nil" ? Kind.Keyword : Kind.Identifier;
            return new Token(kind, word, start, space);
        }
        throw Error(start, $"unexpected \"{c}\" in command");
    }

    private string LexWord()
    {
        var start = _pos;
        while (_pos < _text.Length && IsIdentifierChar(_text[_pos]))
        {
            _pos++;
        }
        return _text[start.._pos];
    }

    private string LexQuoted(int start, out string value)
    {
        var builder = new StringBuilder();
        _pos++;
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error(start, "unterminated quoted string");
            }
            var c = _text[_pos++];
            if (c == '"')
            {
                break;
            }
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            if (_pos >= _text.Length)
            {
                throw Error(start, "unterminated quoted string");
            }
            var escape = _text[_pos++];
            switch (escape)
            {
                case 'n': builder.Append('\n'); break;
                case 't': builder.Append('\t'); break;
                case 'r': builder.Append('\r'); break;
                case 'a': builder.Append('\a'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'v': builder.Append('\v'); break;
                case '\\' or '"' or '\'': builder.Append(escape); break;
                case 'x' or 'u' or 'U':
                    var digits = escape == 'x' ? 2 : escape == 'u' ? 4 : 8;
                    if (_pos + digits > _text.Length
                        || !int.TryParse(_text.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw Error(start, "invalid syntax");
                    }
                    builder.Append(char.ConvertFromUtf32(code));
                    _pos += digits;
                    break;
                default:
                    throw Error(start, "invalid syntax");
            }
        }
        value = builder.ToString();
        return _text[start.._pos];
    }

    private static bool TryParseInteger(string text, out long value)
    {
        var span = text.AsSpan();
        var negative = false;
        if (span[0] is '-' or '+')
        {
            negative = span[0] == '-';
            span = span[1..];
        }
        var cleaned = span.ToString().Replace("_", string.Empty, StringComparison.Ordinal);
        var ok = cleaned.Length > 2 && cleaned[0] == '0' && cleaned[1] is 'x' or 'X' or 'b' or 'B' or 'o' or 'O'
            ? TryParseRadix(cleaned[2..], cleaned[1] is 'x' or 'X' ? 16 : cleaned[1] is 'b' or 'B' ? 2 : 8, out value)
            : cleaned.Length > 1 && cleaned[0] == '0'
                ? TryParseRadix(cleaned[1..], 8, out value)
                : long.TryParse(cleaned, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (negative)
        {
            value = -value;
        }
        return ok;
    }

    private static bool TryParseRadix(string digits, int radix, out long value)
    {
        value = 0;
        if (digits.Length == 0)
        {
            return false;
        }
        foreach (var c in digits)
        {
            var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (digit >= radix || value > (long.MaxValue - digit) / radix)
            {
                return false;
            }
            value = value * radix + digit;
        }
        return true;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
