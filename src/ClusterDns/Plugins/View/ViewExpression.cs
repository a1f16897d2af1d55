using System.Globalization;
using System.Text;
using ClusterDns.Plugins.Template;

namespace ClusterDns.Plugins.View;

/// <summary>
/// The subset of expr-lang (github.com/expr-lang/expr, which CoreDNS's view compiles with <c>expression.DefaultEnv</c>)
/// that view expressions use: the query functions, <c>incidr</c>, comparisons, <c>&amp;&amp;</c>/<c>and</c>,
/// <c>||</c>/<c>or</c>, <c>!</c>/<c>not</c>, parentheses, string/integer/boolean literals, <c>in</c>/<c>not in</c> an array
/// literal, <c>matches</c> (RE2), <c>contains</c>, <c>startsWith</c>, <c>endsWith</c>. Operator precedence and type
/// checks follow expr-lang's parser and checker; anything outside the subset is refused with an error pointing at it,
/// in expr-lang's format (message, (line:column), the source and a caret).
/// </summary>
internal sealed class ViewExpression
{
    private const int OrPrecedence = 10;
    private const int AndPrecedence = 15;
    private const int ComparePrecedence = 20;
    private const int UnaryPrecedence = 50;

    // expr-lang's builtins: valid there, not offered here.
    private static readonly HashSet<string> Builtins = new(StringComparer.Ordinal)
    {
        "len", "upper", "lower", "trim", "trimPrefix", "trimSuffix", "split", "splitAfter", "replace", "repeat", "join",
        "indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "all", "any", "none", "one", "filter", "map", "count", "sum",
        "find", "findIndex", "groupBy", "sortBy", "reduce", "abs", "int", "float", "string", "toJSON", "fromJSON",
        "toBase64", "fromBase64", "now", "duration", "date", "first", "last", "keys", "values", "get", "max", "min",
        "mean", "median", "ceil", "floor", "round", "toPairs", "fromPairs", "concat", "flatten", "uniq", "reverse", "sort",
    };

    private static readonly Dictionary<string, RequestFunction> Functions = new(StringComparer.Ordinal)
    {
        ["bufsize"] = RequestFunction.Bufsize,
        ["class"] = RequestFunction.Class,
        ["client_ip"] = RequestFunction.ClientIp,
        ["do"] = RequestFunction.Do,
        ["id"] = RequestFunction.Id,
        ["name"] = RequestFunction.Name,
        ["opcode"] = RequestFunction.Opcode,
        ["port"] = RequestFunction.Port,
        ["proto"] = RequestFunction.Proto,
        ["server_ip"] = RequestFunction.ServerIp,
        ["server_port"] = RequestFunction.ServerPort,
        ["size"] = RequestFunction.Size,
        ["type"] = RequestFunction.Type,
    };

    private readonly string _source;
    private readonly List<Token> _tokens;
    private int _next;

    private ViewExpression(string source, List<Token> tokens)
    {
        _source = source;
        _tokens = tokens;
    }

    /// <summary>Compiles <paramref name="source"/>; a <see cref="FormatException"/> carries expr-lang's style of message.</summary>
    public static ExprNode Compile(string source)
    {
        var parser = new ViewExpression(source, Tokenize(source));
        var node = parser.ParseExpression(0);
        var rest = parser.Peek();
        if (rest.Kind != TokenKind.End)
        {
            throw parser.Error(rest, $"unexpected token {rest.Describe()}");
        }
        return node;
    }

    private enum TokenKind
    {
        Identifier,
        Number,
        String,
        Operator,
        End,
    }

    private readonly record struct Token(TokenKind Kind, string Text, int Position, object? Value = null)
    {
        public string Describe() => Kind switch
        {
            TokenKind.End => "EOF",
            TokenKind.String => $"String(\"{Text}\")",
            TokenKind.Number => $"Number(\"{Text}\")",
            TokenKind.Identifier => $"Identifier(\"{Text}\")",
            _ => $"Operator(\"{Text}\")",
        };

        public bool Is(string text) => Kind is TokenKind.Operator or TokenKind.Identifier && Text == text;
    }

    private Token Peek(int ahead = 0) => _tokens[Math.Min(_next + ahead, _tokens.Count - 1)];

    private Token Take() => _tokens[Math.Min(_next++, _tokens.Count - 1)];

    private FormatException Error(Token at, string message) => Error(_source, at.Position, message);

    private static FormatException Error(string source, int position, string message) =>
        new($"{message} (1:{position + 1})\n | {source}\n | {new string('.', position)}^");

    private static int BinaryPrecedence(Token token, Token next)
    {
        if (token.Kind is not (TokenKind.Operator or TokenKind.Identifier))
        {
            return -1;
        }
        return token.Text switch
        {
            "||" or "or" => OrPrecedence,
            "&&" or "and" => AndPrecedence,
            "==" or "!=" or "<" or ">" or "<=" or ">=" or "in" or "matches" or "contains" or "startsWith" or "endsWith" => ComparePrecedence,
            "not" when next.Is("in") => ComparePrecedence,
            _ => -1,
        };
    }

    private ExprNode ParseExpression(int minPrecedence)
    {
        var left = ParseUnary();
        while (true)
        {
            var op = Peek();
            var precedence = BinaryPrecedence(op, Peek(1));
            if (precedence < 0 || precedence < minPrecedence)
            {
                return left;
            }
            Take();
            var negate = false;
            if (op.Text == "not")
            {
                op = Take(); // "in"
                negate = true;
            }
            var rightStart = Peek();
            var right = ParseExpression(precedence + 1);
            left = Binary(op, negate, left, right, rightStart);
        }
    }

    private ExprNode Binary(Token op, bool negate, ExprNode left, ExprNode right, Token rightStart)
    {
        switch (op.Text)
        {
            case "||" or "or" or "&&" or "and":
                if (left.Type != ExprType.Bool || right.Type != ExprType.Bool)
                {
                    throw Mismatch(op, left, right);
                }
                return new Logical(op.Text is "&&" or "and", left, right);
            case "==" or "!=":
                if (left.Type != right.Type || left.Type == ExprType.Array)
                {
                    throw Mismatch(op, left, right);
                }
                return new Comparison(op.Text == "==" ? CompareOp.Equal : CompareOp.NotEqual, left, right);
            case "<" or ">" or "<=" or ">=":
                if (left.Type != right.Type || left.Type is not (ExprType.Int or ExprType.String))
                {
                    throw Mismatch(op, left, right);
                }
                return new Comparison(op.Text switch
                {
                    "<" => CompareOp.Less,
                    ">" => CompareOp.Greater,
                    "<=" => CompareOp.LessOrEqual,
                    _ => CompareOp.GreaterOrEqual,
                }, left, right);
            case "in":
                if (right is not ArrayLiteral array)
                {
                    throw Error(rightStart, "ClusterDns supports 'in' only with an array literal on the right, e.g. type() in ['A', 'AAAA']");
                }
                return new InArray(left, array, negate);
            case "matches":
                if (left.Type != ExprType.String)
                {
                    throw Mismatch(op, left, right);
                }
                if (right is not StringLiteral pattern)
                {
                    throw Error(rightStart, "ClusterDns supports 'matches' only with a string literal pattern");
                }
                if (!GoRegex.TryCompile(pattern.Value, out var regex, out var error))
                {
                    throw Error(rightStart, "error parsing regexp: " + error);
                }
                return new Matches(left, regex!);
            default: // contains, startsWith, endsWith
                if (left.Type != ExprType.String || right.Type != ExprType.String)
                {
                    throw Mismatch(op, left, right);
                }
                return new StringTest(op.Text switch
                {
                    "contains" => StringOp.Contains,
                    "startsWith" => StringOp.StartsWith,
                    _ => StringOp.EndsWith,
                }, left, right);
        }
    }

    private FormatException Mismatch(Token op, ExprNode left, ExprNode right) =>
        Error(op, $"invalid operation: {op.Text} (mismatched types {ExprNode.TypeName(left.Type)} and {ExprNode.TypeName(right.Type)})");

    private ExprNode ParseUnary()
    {
        var token = Peek();
        if (token.Is("!") || token.Is("not"))
        {
            Take();
            var operand = ParseExpression(UnaryPrecedence);
            if (operand.Type != ExprType.Bool)
            {
                throw Error(token, $"invalid operation: {token.Text} (mismatched type {ExprNode.TypeName(operand.Type)})");
            }
            return new Not(operand);
        }
        return ParsePrimary();
    }

    private ExprNode ParsePrimary()
    {
        var token = Take();
        switch (token.Kind)
        {
            case TokenKind.Number:
                return new IntLiteral((long)token.Value!);
            case TokenKind.String:
                return new StringLiteral((string)token.Value!);
            case TokenKind.Identifier:
                return ParseIdentifier(token);
            case TokenKind.Operator when token.Text == "(":
                var inner = ParseExpression(0);
                Expect(")");
                return inner;
            case TokenKind.Operator when token.Text == "[":
                var items = new List<ExprNode>();
                if (!Peek().Is("]"))
                {
                    do
                    {
                        if (Peek().Is("]"))
                        {
                            break; // trailing comma
                        }
                        items.Add(ParseExpression(0));
                    }
                    while (TakeIf(","));
                }
                Expect("]");
                return new ArrayLiteral([.. items]);
            default:
                throw Error(token, $"unexpected token {token.Describe()}");
        }
    }

    private ExprNode ParseIdentifier(Token token)
    {
        switch (token.Text)
        {
            case "true":
                return new BoolLiteral(true);
            case "false":
                return new BoolLiteral(false);
            case "nil":
                throw Error(token, "ClusterDns view expressions do not support nil");
            case "metadata":
                throw Error(token, "metadata() needs the metadata plugin, which ClusterDns does not implement yet");
        }
        var isFunction = Functions.TryGetValue(token.Text, out var function);
        if (token.Text != "incidr" && !isFunction)
        {
            throw Error(token, Builtins.Contains(token.Text)
                ? $"the expr-lang builtin {token.Text}() is not supported in ClusterDns view expressions"
                : $"unknown name {token.Text}");
        }
        if (!Peek().Is("("))
        {
            throw Error(token, $"{token.Text} is a function: call it as {token.Text}()");
        }
        Take();
        var args = new List<(ExprNode Node, Token At)>();
        if (!Peek().Is(")"))
        {
            do
            {
                var at = Peek();
                args.Add((ParseExpression(0), at));
            }
            while (TakeIf(","));
        }
        Expect(")");
        if (isFunction)
        {
            if (args.Count > 0)
            {
                throw Error(token, $"too many arguments to call {token.Text}");
            }
            return new RequestCall(function);
        }
        if (args.Count != 2)
        {
            throw Error(token, args.Count < 2 ? "not enough arguments to call incidr" : "too many arguments to call incidr");
        }
        foreach (var (node, at) in args)
        {
            if (node.Type != ExprType.String)
            {
                throw Error(at, $"cannot use {ExprNode.TypeName(node.Type)} as argument (type string) to call incidr");
            }
        }
        return new InCidrCall(args[0].Node, args[1].Node);
    }

    private bool TakeIf(string text)
    {
        if (Peek().Is(text))
        {
            Take();
            return true;
        }
        return false;
    }

    private void Expect(string text)
    {
        var token = Take();
        if (!token.Is(text))
        {
            throw Error(token, $"unexpected token {token.Describe()}, expected {text}");
        }
    }

    private static List<Token> Tokenize(string source)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < source.Length)
        {
            var c = source[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            var start = i;
            if (char.IsAsciiLetter(c) || c is '_' or '$')
            {
                while (i < source.Length && (char.IsAsciiLetterOrDigit(source[i]) || source[i] is '_' or '$'))
                {
                    i++;
                }
                tokens.Add(new Token(TokenKind.Identifier, source[start..i], start));
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                while (i < source.Length && (char.IsAsciiLetterOrDigit(source[i]) || source[i] is '_' or '.'))
                {
                    i++;
                }
                tokens.Add(new Token(TokenKind.Number, source[start..i], start, ParseInteger(source, start, source[start..i])));
                continue;
            }
            if (c is '\'' or '"')
            {
                var (value, end) = ParseString(source, start);
                tokens.Add(new Token(TokenKind.String, value, start, value));
                i = end;
                continue;
            }
            var two = i + 1 < source.Length ? source.Substring(i, 2) : string.Empty;
            if (two is "==" or "!=" or "<=" or ">=" or "&&" or "||")
            {
                tokens.Add(new Token(TokenKind.Operator, two, start));
                i += 2;
                continue;
            }
            if (c is '<' or '>' or '!' or '(' or ')' or '[' or ']' or ',')
            {
                tokens.Add(new Token(TokenKind.Operator, c.ToString(), start));
                i++;
                continue;
            }
            var op = two is ".." or "??" or "?." or "**" ? two : c.ToString();
            throw Error(source, start, $"ClusterDns view expressions do not support \"{op}\"");
        }
        tokens.Add(new Token(TokenKind.End, string.Empty, source.Length));
        return tokens;
    }

    private static long ParseInteger(string source, int position, string text)
    {
        var digits = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (digits.Length > 2 && digits[0] == '0' && digits[1] is 'x' or 'X'
            && long.TryParse(digits.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return hex;
        }
        if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        throw Error(source, position, text.Contains('.', StringComparison.Ordinal) || text.Contains('e', StringComparison.OrdinalIgnoreCase)
            ? $"ClusterDns view expressions support integers only, not {text}"
            : $"invalid number {text}");
    }

    /// <summary>A quoted literal with Go's escapes (<c>\\</c>, <c>\'</c>, <c>\"</c>, <c>\n</c>, <c>\t</c>, <c>\xHH</c>, <c>\uHHHH</c>...).</summary>
    private static (string Value, int End) ParseString(string source, int start)
    {
        var quote = source[start];
        var builder = new StringBuilder();
        var i = start + 1;
        while (i < source.Length)
        {
            var c = source[i];
            if (c == quote)
            {
                return (builder.ToString(), i + 1);
            }
            if (c != '\\')
            {
                builder.Append(c);
                i++;
                continue;
            }
            if (i + 1 >= source.Length)
            {
                break;
            }
            var e = source[i + 1];
            i += 2;
            switch (e)
            {
                case '\\' or '\'' or '"':
                    builder.Append(e);
                    break;
                case 'n':
                    builder.Append('\n');
                    break;
                case 't':
                    builder.Append('\t');
                    break;
                case 'r':
                    builder.Append('\r');
                    break;
                case 'a':
                    builder.Append('\a');
                    break;
                case 'b':
                    builder.Append('\b');
                    break;
                case 'f':
                    builder.Append('\f');
                    break;
                case 'v':
                    builder.Append('\v');
                    break;
                case 'x' or 'u' or 'U':
                    var width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + width > source.Length
                        || !int.TryParse(source.AsSpan(i, width), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                        || code > 0x10FFFF)
                    {
                        throw Error(source, i - 2, "invalid char escape");
                    }
                    builder.Append(char.ConvertFromUtf32(code));
                    i += width;
                    break;
                default:
                    throw Error(source, i - 2, "invalid char escape");
            }
        }
        throw Error(source, start, "literal not terminated");
    }
}
