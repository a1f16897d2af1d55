using System.Text;

namespace ClusterDns.Corefile;

/// <summary>Caddy-v1 style tokeniser, behaviour-compatible with coredns/caddy's lexer.</summary>
internal static class Lexer
{
    public static List<Token> Tokenize(string text, string file)
    {
        var tokens = new List<Token>();
        var i = 0;
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            i = 1;
        }

        var line = 1;
        var val = new StringBuilder();
        while (true)
        {
            // Each token starts with fresh state: a '#' inside a token only swallows up to the next
            // whitespace, exactly like the Go lexer whose "comment" flag is local to one token read.
            val.Clear();
            bool comment = false, quoted = false, escaped = false;
            var tokenLine = line;
            var produced = false;
            for (; i < text.Length; i++)
            {
                var ch = text[i];
                if (quoted)
                {
                    if (!escaped)
                    {
                        if (ch == '\\')
                        {
                            escaped = true;
                            continue;
                        }
                        if (ch == '"')
                        {
                            i++;
                            produced = true;
                            break;
                        }
                    }
                    if (ch == '\n')
                    {
                        line++;
                    }
                    if (escaped && ch != '"')
                    {
                        val.Append('\\'); // only \" is an escape; keep other backslashes verbatim
                    }
                    val.Append(ch);
                    escaped = false;
                    continue;
                }

                if (char.IsWhiteSpace(ch))
                {
                    if (ch == '\r')
                    {
                        continue;
                    }
                    if (ch == '\n')
                    {
                        line++;
                        comment = false;
                    }
                    if (val.Length > 0)
                    {
                        i++;
                        produced = true;
                        break;
                    }
                    continue;
                }

                if (ch == '#')
                {
                    comment = true;
                }
                if (comment)
                {
                    continue;
                }

                if (val.Length == 0)
                {
                    tokenLine = line;
                    if (ch == '"')
                    {
                        quoted = true; // only a quote at the start of a word opens a quoted token
                        continue;
                    }
                }
                val.Append(ch);
            }

            if (!produced)
            {
                // EOF: an unterminated token (even an unclosed quote) still counts if it has text.
                if (val.Length == 0)
                {
                    return tokens;
                }
            }
            tokens.Add(new Token(val.ToString(), file, tokenLine));
        }
    }
}
