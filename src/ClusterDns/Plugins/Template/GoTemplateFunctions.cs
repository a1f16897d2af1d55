using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Template;

/// <summary>
/// The functions a template RR may call: Go's builtins <c>and or not len index print printf println eq ne lt le gt
/// ge</c> and CoreDNS's <c>parseInt</c> (strconv.ParseUint). Go's <c>html js urlquery slice call</c> are not offered.
/// </summary>
internal static class GoTemplateFunctions
{
    public static bool IsDefined(string name) => name is "and" or "or" or "not" or "len" or "index" or "print" or "printf" or "println"
        or "eq" or "ne" or "lt" or "le" or "gt" or "ge" or "parseInt";

    public static object? Call(string name, IReadOnlyList<GoNode> args, GoExecutor executor, object? dot, bool hasFinal, object? final)
    {
        // and/or evaluate their arguments lazily (Go 1.18+): the first deciding one is the result.
        if (name is "and" or "or")
        {
            var count = args.Count - 1 + (hasFinal ? 1 : 0);
            if (count < 1)
            {
                throw executor.Fail($"wrong number of args for {name}: want at least 1 got 0");
            }
            object? value = null;
            for (var i = 0; i < count; i++)
            {
                value = i + 1 < args.Count ? executor.EvalArg(args[i + 1], dot) : final;
                if (GoFormat.IsTrue(value) != (name == "and"))
                {
                    return value;
                }
            }
            return value;
        }
        var values = new List<object?>(args.Count);
        for (var i = 1; i < args.Count; i++)
        {
            values.Add(executor.EvalArg(args[i], dot));
        }
        if (hasFinal)
        {
            values.Add(final);
        }
        try
        {
            return name switch
            {
                "not" => values.Count == 1 ? !GoFormat.IsTrue(values[0]) : throw WrongCount(name, 1, values.Count),
                "len" => values.Count == 1 ? Length(values[0]) : throw WrongCount(name, 1, values.Count),
                "index" => values.Count >= 1 ? Index(values) : throw new GoCallException("wrong number of args for index: want at least 1 got 0"),
                "print" => GoFormat.Sprint(values),
                "println" => GoFormat.Sprintln(values),
                "printf" => values.Count >= 1 && values[0] is string format
                    ? GoFormat.Sprintf(format, values.GetRange(1, values.Count - 1))
                    : throw new GoCallException(values.Count == 0 ? "wrong number of args for printf: want at least 1 got 0"
                        : $"wrong type for value; expected string; got {GoFormat.TypeName(values[0])}"),
                "eq" or "ne" or "lt" or "le" or "gt" or "ge" => Compare(name, values),
                "parseInt" => ParseInt(values),
                _ => throw new GoCallException($"function \"{name}\" not defined"),
            };
        }
        catch (GoCallException exception)
        {
            throw executor.Fail(exception.Message.StartsWith("wrong", StringComparison.Ordinal)
                ? exception.Message
                : $"error calling {name}: {exception.Message}");
        }
    }

    private sealed class GoCallException(string message) : Exception(message);

    private static GoCallException WrongCount(string name, int want, int got) => new($"wrong number of args for {name}: want {want} got {got}");

    private static long Length(object? value) => value switch
    {
        string s => System.Text.Encoding.UTF8.GetByteCount(s),
        string[] a => a.Length,
        IReadOnlyList<DnsQuestion> q => q.Count,
        Dictionary<string, string> m => m.Count,
        _ => throw new GoCallException($"len of type {GoFormat.TypeName(value)}"),
    };

    private static object? Index(List<object?> values)
    {
        var item = values[0];
        for (var i = 1; i < values.Count; i++)
        {
            var key = values[i];
            switch (item)
            {
                case Dictionary<string, string> map:
                    if (key is not string name)
                    {
                        throw new GoCallException($"value has type {GoFormat.TypeName(key)}; should be string");
                    }
                    item = map.TryGetValue(name, out var entry) ? entry : string.Empty;
                    continue;
                case string[] or IReadOnlyList<DnsQuestion> or string:
                    if (!GoFormat.TryInteger(key, out var index))
                    {
                        throw new GoCallException($"cannot index slice/array with type {GoFormat.TypeName(key)}");
                    }
                    var length = item is string[] a ? a.Length : item is string s ? System.Text.Encoding.UTF8.GetByteCount(s) : ((IReadOnlyList<DnsQuestion>)item).Count;
                    if (index < 0 || index >= length)
                    {
                        throw new GoCallException($"index out of range: {index}");
                    }
                    item = item switch
                    {
                        string[] strings => strings[index],
                        string text => (long)System.Text.Encoding.UTF8.GetBytes(text)[index],
                        _ => ((IReadOnlyList<DnsQuestion>)item)[(int)index],
                    };
                    continue;
                case null or GoMissing:
                    throw new GoCallException("index of untyped nil");
                default:
                    throw new GoCallException($"can't index item of type {GoFormat.TypeName(item)}");
            }
        }
        return item;
    }

    private static bool Compare(string name, List<object?> values)
    {
        if (name is "eq")
        {
            if (values.Count < 2)
            {
                throw new GoCallException("missing argument for comparison");
            }
            for (var i = 1; i < values.Count; i++)
            {
                if (CompareTwo(values[0], values[i], equalityOnly: true) == 0)
                {
                    return true;
                }
            }
            return false;
        }
        if (values.Count != 2)
        {
            throw WrongCount(name, 2, values.Count);
        }
        var order = CompareTwo(values[0], values[1], equalityOnly: name == "ne");
        return name switch
        {
            "ne" => order != 0,
            "lt" => order < 0,
            "le" => order <= 0,
            "gt" => order > 0,
            _ => order >= 0,
        };
    }

    private static int CompareTwo(object? a, object? b, bool equalityOnly)
    {
        switch (a, b)
        {
            case (string x, string y):
                return string.CompareOrdinal(x, y);
            case (bool x, bool y) when equalityOnly:
                return x == y ? 0 : 1;
            case (bool, bool):
                throw new GoCallException("invalid type for comparison");
        }
        if (a is long or ulong && b is long or ulong)
        {
            if (a is long la && b is long lb)
            {
                return la.CompareTo(lb);
            }
            if (a is ulong ua && b is ulong ub)
            {
                return ua.CompareTo(ub);
            }
            // Mixed signed/unsigned: a negative signed value is the smaller.
            if (a is long signedA)
            {
                return signedA < 0 ? -1 : ((ulong)signedA).CompareTo((ulong)b);
            }
            var signedB = (long)b;
            return signedB < 0 ? 1 : ((ulong)a).CompareTo((ulong)signedB);
        }
        if (a is null or GoMissing || b is null or GoMissing || a is string or bool || b is string or bool)
        {
            throw new GoCallException("incompatible types for comparison");
        }
        throw new GoCallException("invalid type for comparison");
    }

    /// <summary>strconv.ParseUint(s, base, bitSize) with its error texts.</summary>
    private static ulong ParseInt(List<object?> values)
    {
        if (values.Count != 3)
        {
            throw WrongCount("parseInt", 3, values.Count);
        }
        if (values[0] is not string text)
        {
            throw new GoCallException(values[0] is GoMissing
                ? "invalid value; expected string"
                : $"wrong type for value; expected string; got {GoFormat.TypeName(values[0])}");
        }
        if (!GoFormat.TryInteger(values[1], out var radix) || !GoFormat.TryInteger(values[2], out var bitSize))
        {
            throw new GoCallException($"wrong type for value; expected int; got {GoFormat.TypeName(GoFormat.TryInteger(values[1], out _) ? values[2] : values[1])}");
        }
        return GoStrconvUint.Parse(text, (int)radix, (int)bitSize);
    }

    /// <summary>strconv.ParseUint.</summary>
    private static class GoStrconvUint
    {
        public static ulong Parse(string s, int radix, int bitSize)
        {
            var original = s;
            if (s.Length == 0)
            {
                throw Syntax(original);
            }
            var prefixed = radix == 0;
            if (radix == 0)
            {
                radix = 10;
                if (s[0] == '0')
                {
                    if (s.Length >= 3 && char.ToLowerInvariant(s[1]) is 'b' or 'o' or 'x')
                    {
                        radix = char.ToLowerInvariant(s[1]) switch { 'b' => 2, 'o' => 8, _ => 16 };
                        s = s[2..];
                    }
                    else
                    {
                        radix = 8;
                        s = s[1..];
                    }
                }
            }
            else if (radix is < 2 or > 36)
            {
                throw new GoCallException($"strconv.ParseUint: parsing \"{original}\": invalid base {radix}");
            }
            if (bitSize == 0)
            {
                bitSize = 64;
            }
            else if (bitSize is < 0 or > 64)
            {
                throw new GoCallException($"strconv.ParseUint: parsing \"{original}\": invalid bit size {bitSize}");
            }
            var max = bitSize == 64 ? ulong.MaxValue : (1UL << bitSize) - 1;
            ulong value = 0;
            var outOfRange = false;
            var sawDigit = false;
            foreach (var c in s)
            {
                if (c == '_' && prefixed)
                {
                    continue;
                }
                var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
                if (digit >= radix)
                {
                    throw Syntax(original);
                }
                sawDigit = true;
                if (outOfRange)
                {
                    continue;
                }
                if (value > (max - (ulong)digit) / (ulong)radix)
                {
                    outOfRange = true;
                    continue;
                }
                value = value * (ulong)radix + (ulong)digit;
            }
            if (!sawDigit && !(prefixed && radix == 8 && original == "0"))
            {
                throw Syntax(original);
            }
            if (outOfRange)
            {
                throw new GoCallException($"strconv.ParseUint: parsing \"{original}\": value out of range");
            }
            return value;
        }

        private static GoCallException Syntax(string text) => new($"strconv.ParseUint: parsing \"{text}\": invalid syntax");
    }
}
