using System.Globalization;
using System.Text;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Template;

/// <summary>How Go's fmt prints template values (<c>%v</c>, Sprint, Sprintln, Sprintf) and text/template's truth.</summary>
internal static class GoFormat
{
    public static string Print(object? value) => value switch
    {
        null => "<nil>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        ulong u => u.ToString(CultureInfo.InvariantCulture),
        string[] a => "[" + string.Join(' ', a) + "]",
        IReadOnlyList<DnsQuestion> q => "[" + string.Join(' ', q.Select(Question)) + "]",
        Dictionary<string, string> m => "map[" + string.Join(' ', m.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + p.Value)) + "]",
        DnsQuestion question => Question(question),
        DnsMessage message => message.ToString(),
        TemplateData data => "&{" + data.Zone + " " + data.Name + " " + data.Regex + " " + Print(data.Match) + " " + Print(data.Group) + " "
                             + data.Class + " " + data.Type + "}",
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>miekg/dns Question.String(): <c>;name.\tIN\t A</c>.</summary>
    private static string Question(DnsQuestion question) =>
        ";" + question.Name + "\t" + question.Class.ToText() + "\t " + question.Type.ToText();

    public static bool IsTrue(object? value) => value switch
    {
        null or GoMissing => false,
        string s => s.Length > 0,
        bool b => b,
        long l => l != 0,
        ulong u => u != 0,
        string[] a => a.Length > 0,
        IReadOnlyList<DnsQuestion> q => q.Count > 0,
        Dictionary<string, string> m => m.Count > 0,
        _ => true,
    };

    public static string TypeName(object? value) => value switch
    {
        null => "<nil>",
        GoMissing => "<no value>",
        string => "string",
        bool => "bool",
        long => "int",
        ulong => "uint64",
        string[] => "[]string",
        IReadOnlyList<DnsQuestion> => "[]dns.Question",
        Dictionary<string, string> => "map[string]string",
        DnsQuestion => "*dns.Question",
        DnsMessage => "*dns.Msg",
        TemplateData => TemplateData.GoTypeName,
        _ => value.GetType().Name,
    };

    public static bool TryInteger(object? value, out long integer)
    {
        switch (value)
        {
            case long l:
                integer = l;
                return true;
            case ulong u when u <= long.MaxValue:
                integer = (long)u;
                return true;
            default:
                integer = 0;
                return false;
        }
    }

    /// <summary>fmt.Sprint: a space between operands when neither side is a string.</summary>
    public static string Sprint(List<object?> values)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0 && values[i] is not string && values[i - 1] is not string)
            {
                builder.Append(' ');
            }
            builder.Append(Print(values[i]));
        }
        return builder.ToString();
    }

    /// <summary>fmt.Sprintln: spaces between all operands, a newline at the end.</summary>
    public static string Sprintln(List<object?> values)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }
            builder.Append(Print(values[i]));
        }
        return builder.Append('\n').ToString();
    }

    /// <summary>fmt.Sprintf for the verbs templates use: v s d x X o b q c t and %%, with flags, width and precision.</summary>
    public static string Sprintf(string format, List<object?> args)
    {
        var builder = new StringBuilder();
        var next = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%')
            {
                builder.Append(c);
                continue;
            }
            if (++i >= format.Length)
            {
                builder.Append("%!(NOVERB)");
                break;
            }
            bool minus = false, plus = false, zero = false, space = false, sharp = false;
            for (; i < format.Length && format[i] is '-' or '+' or '0' or ' ' or '#'; i++)
            {
                switch (format[i])
                {
                    case '-': minus = true; break;
                    case '+': plus = true; break;
                    case '0': zero = true; break;
                    case ' ': space = true; break;
                    default: sharp = true; break;
                }
            }
            var width = ReadNumber(format, ref i);
            int? precision = null;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = ReadNumber(format, ref i) ?? 0;
            }
            if (i >= format.Length)
            {
                builder.Append("%!(NOVERB)");
                break;
            }
            var verb = format[i];
            if (verb == '%')
            {
                builder.Append('%');
                continue;
            }
            if (next >= args.Count)
            {
                builder.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }
            var arg = args[next++];
            var text = FormatOne(verb, arg, plus, space, sharp, precision);
            if (text is null)
            {
                builder.Append("%!").Append(verb).Append('(').Append(TypeName(arg)).Append('=').Append(Print(arg)).Append(')');
                continue;
            }
            Pad(builder, text, width ?? 0, minus, zero && !minus);
        }
        if (next < args.Count)
        {
            builder.Append("%!(EXTRA ");
            for (var k = next; k < args.Count; k++)
            {
                builder.Append(k > next ? ", " : string.Empty).Append(TypeName(args[k])).Append('=').Append(Print(args[k]));
            }
            builder.Append(')');
        }
        return builder.ToString();
    }

    private static int? ReadNumber(string format, ref int i)
    {
        var start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }
        return i > start ? int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture) : null;
    }

    private static string? FormatOne(char verb, object? arg, bool plus, bool space, bool sharp, int? precision)
    {
        if (arg is long or ulong)
        {
            var negative = arg is long l && l < 0;
            var magnitude = arg is long s ? (s < 0 ? (ulong)(-(s + 1)) + 1 : (ulong)s) : (ulong)arg;
            string? digits = verb switch
            {
                'd' or 'v' => magnitude.ToString(CultureInfo.InvariantCulture),
                'x' => (sharp ? "0x" : string.Empty) + magnitude.ToString("x", CultureInfo.InvariantCulture),
                'X' => (sharp ? "0X" : string.Empty) + magnitude.ToString("X", CultureInfo.InvariantCulture),
                'o' => (sharp ? "0" : string.Empty) + Convert.ToString((long)magnitude, 8),
                'b' => Convert.ToString((long)magnitude, 2),
                'c' => char.ConvertFromUtf32((int)magnitude),
                'q' => "'" + char.ConvertFromUtf32((int)magnitude) + "'",
                _ => null,
            };
            if (digits is null)
            {
                return null;
            }
            if (precision is { } p && verb is 'd' or 'x' or 'X' or 'o' or 'b' && digits.Length < p)
            {
                digits = new string('0', p - digits.Length) + digits;
            }
            return (negative ? "-" : plus ? "+" : space ? " " : string.Empty) + digits;
        }
        if (arg is bool b)
        {
            return verb is 't' or 'v' ? (b ? "true" : "false") : null;
        }
        if (arg is string text)
        {
            if (precision is { } p && p < text.Length)
            {
                text = text[..p];
            }
            return verb switch
            {
                's' or 'v' => text,
                'q' => Quote(text),
                'x' => Convert.ToHexStringLower(Encoding.UTF8.GetBytes(text)),
                'X' => Convert.ToHexString(Encoding.UTF8.GetBytes(text)),
                _ => null,
            };
        }
        return verb is 'v' or 's' ? Print(arg) : null;
    }

    private static string Quote(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\t': builder.Append("\\t"); break;
                case '\r': builder.Append("\\r"); break;
                case < ' ': builder.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: builder.Append(c); break;
            }
        }
        return builder.Append('"').ToString();
    }

    private static void Pad(StringBuilder builder, string text, int width, bool left, bool zero)
    {
        var padding = width - text.Length;
        if (padding <= 0)
        {
            builder.Append(text);
            return;
        }
        if (left)
        {
            builder.Append(text).Append(' ', padding);
            return;
        }
        if (zero && text.Length > 0 && text[0] is '-' or '+' or ' ')
        {
            builder.Append(text[0]).Append('0', padding).Append(text, 1, text.Length - 1);
            return;
        }
        builder.Append(zero ? '0' : ' ', padding).Append(text);
    }
}
