using System.Globalization;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Template;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Rewrite;

/// <summary>
/// Parses <c>rewrite [continue|stop] FIELD ...</c> as CoreDNS's rewriteParse/newRule: one rule per directive; a
/// directive with fewer than two arguments takes its block's tokens as the rule's arguments. Errors are CoreDNS's
/// texts (the server puts <c>plugin/rewrite: </c> before them; CoreDNS's rule errors carry no file or line).
/// </summary>
internal static class RewriteSetup
{
    public static PluginDescriptor Descriptor { get; } = new("rewrite", Setup, OncePerBlock: false);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context) => [new RewritePlugin(Parse(context.Dispenser, context.Resolver))];

    /// <param name="resolver">The server's own chain, where cname rules look their new targets up.</param>
    public static RewriteRule[] Parse(Dispenser d, InternalResolver? resolver = null)
    {
        var rules = new List<RewriteRule>();
        while (d.Next())
        {
            var args = new List<string>(d.RemainingArgs());
            if (args.Count < 2)
            {
                while (d.NextBlock())
                {
                    args.Add(d.Val);
                }
            }
            try
            {
                rules.Add(NewRule(args, resolver));
            }
            catch (RuleException exception)
            {
                throw new ConfigException(exception.Message);
            }
        }
        return [.. rules];
    }

    private sealed class RuleException(string message) : Exception(message);

    private static RewriteRule NewRule(List<string> args, InternalResolver? resolver)
    {
        if (args.Count == 0)
        {
            throw new RuleException("no rule type specified for rewrite");
        }
        var first = args[0].ToLowerInvariant();
        var stop = true;
        int start;
        switch (first)
        {
            case "continue" or "stop":
                if (args.Count < 2)
                {
                    throw new RuleException($"{first} rule must begin with a rule type");
                }
                stop = first == "stop";
                start = 2;
                break;
            default:
                start = 1;
                break;
        }
        var ruleType = args[start - 1].ToLowerInvariant();
        var rest = args.GetRange(start, args.Count - start);
        switch (ruleType)
        {
            case "answer":
                throw new RuleException("response rewrites must begin with a name rule");
            case "name":
                return NewNameRule(stop, rest);
            case "class":
                return rest.Count != 2 ? throw new RuleException("class rules must have exactly two arguments") : NewClassRule(stop, rest);
            case "type":
                return rest.Count != 2 ? throw new RuleException("type rules must have exactly two arguments") : NewTypeRule(stop, rest);
            case "edns0":
                return NewEdns0Rule(stop, rest);
            case "ttl":
                return NewTtlRule(stop, rest);
            case "rcode":
                return NewRcodeRule(stop, rest);
            case "cname":
                return NewCnameRule(stop, rest, resolver);
            default:
                throw new RuleException($"invalid rule type {GoQuote(args[0])}");
        }
    }

    /// <summary>CoreDNS's plugin.Name(s).Normalize(): lower case, fully qualified.</summary>
    private static string Normalize(string name) => (name.EndsWith('.') ? name : name + ".").ToLowerInvariant();

    private static RewriteRule NewNameRule(bool stop, List<string> args)
    {
        if (args.Count < 2)
        {
            throw new RuleException("too few arguments for a name rule");
        }
        string matchType, from, to;
        if (args.Count == 2)
        {
            matchType = "exact";
            (from, to) = (Normalize(args[0]), Normalize(args[1]));
        }
        else
        {
            matchType = args[0].ToLowerInvariant();
            (from, to) = matchType == "regex" ? (args[1], args[2]) : (Normalize(args[1]), Normalize(args[2]));
        }
        var auto = false;
        var answers = new List<ResponseRule>();
        if (args.Count > 3)
        {
            auto = ParseAnswerRules(matchType, args.GetRange(3, args.Count - 3), answers);
        }
        switch (matchType)
        {
            case "exact":
                return new NameRule(stop, new NameMatcher(NameMatch.Exact, from, null), to, auto: true, answers);
            case "prefix":
                return new NameRule(stop, new NameMatcher(NameMatch.Prefix, from, null), to, auto, answers);
            case "suffix":
                if (auto)
                {
                    // A suffix rule's auto answers swap its suffixes back statically.
                    var back = new SuffixStringRewriter(to, from);
                    answers.InsertRange(0, [new NameResponseRule(back), new ValueResponseRule(back)]);
                }
                return new NameRule(stop, new NameMatcher(NameMatch.Suffix, from, null), to, auto: false, answers);
            case "substring":
                return new NameRule(stop, new NameMatcher(NameMatch.Substring, from, null), to, auto, answers);
            case "regex":
                var pattern = CompileRegex(from, to);
                return new NameRule(stop, new NameMatcher(NameMatch.Regex, from, pattern), Normalize(args[2]), auto, answers);
            default:
                throw new RuleException($"name rule supports only exact, prefix, suffix, substring, and regex name matching, received: {matchType}");
        }
    }

    /// <summary>CoreDNS's parseAnswerRules: <c>answer auto</c>, <c>answer name FROM TO</c>, <c>answer value FROM TO</c>,
    /// the keyword <c>answer</c> optional after the first. Returns whether <c>auto</c> was given.</summary>
    private static bool ParseAnswerRules(string name, List<string> args, List<ResponseRule> rules)
    {
        var auto = false;
        var nameRules = 0;
        var last = string.Empty;
        var arg = 0;
        if (args.Count < 2)
        {
            throw new RuleException($"invalid arguments for {name} rule");
        }
        while (arg < args.Count)
        {
            if (last.Length == 0 && args[arg] != "answer")
            {
                throw new RuleException($"exceeded the number of arguments for a non-answer rule argument for {name} rule");
            }
            if (args[arg] == "answer")
            {
                arg++;
            }
            if (args.Count - arg == 0)
            {
                throw new RuleException($"type missing for answer rule for {name} rule");
            }
            last = args[arg];
            arg++;
            switch (last)
            {
                case "auto":
                    auto = true;
                    continue;
                case "name" or "value":
                    if (args.Count - arg < 2)
                    {
                        throw new RuleException($"{last} answer rule for {name} rule: 2 arguments required");
                    }
                    GoRegex pattern;
                    try
                    {
                        pattern = CompileRegex(args[arg], args[arg + 1]);
                    }
                    catch (RuleException exception)
                    {
                        throw new RuleException($"{last} answer rule for {name} rule: {exception.Message}");
                    }
                    var rewriter = new RegexStringRewriter(pattern, Normalize(args[arg + 1]));
                    rules.Add(last == "name" ? new NameResponseRule(rewriter) : new ValueResponseRule(rewriter));
                    nameRules += last == "name" ? 1 : 0;
                    arg += 2;
                    break;
                default:
                    throw new RuleException($"invalid type {GoQuote(last)} for answer rule for {name} rule");
            }
        }
        if (auto && nameRules > 0)
        {
            // CoreDNS's spelling.
            throw new RuleException("auto name answer rule cannot be combined with explicit name anwer rules");
        }
        return auto;
    }

    /// <summary>CoreDNS's isValidRegexPattern: compiles FROM and checks TO uses no more <c>{N}</c> groups than FROM has.</summary>
    private static GoRegex CompileRegex(string from, string to)
    {
        if (!GoRegex.TryCompile(from, out var regex, out _) || regex is null)
        {
            throw new RuleException($"invalid regex matching pattern: {from}");
        }
        var used = 0;
        for (var i = 0; i <= 100; i++)
        {
            if (to.Contains("{" + i.ToString(CultureInfo.InvariantCulture) + "}", StringComparison.Ordinal))
            {
                used++;
            }
        }
        if (used > regex.Regex.GetGroupNumbers().Length - 1)
        {
            throw new RuleException($"the rewrite regex pattern ({to}) uses more subexpressions than its corresponding matching regex pattern ({from})");
        }
        WarmUp(regex);
        return regex;
    }

    /// <summary>CoreDNS's newCNAMERule: <c>[TYPE] FROM TO</c>, lower-cased (not made fully qualified: CNAME targets are,
    /// so an exact FROM without its final dot never matches, as in CoreDNS).</summary>
    private static RewriteRule NewCnameRule(bool stop, List<string> args, InternalResolver? resolver)
    {
        string type, from, to;
        switch (args.Count)
        {
            case 3:
                type = args[0].ToLowerInvariant();
                (from, to) = (args[1].ToLowerInvariant(), args[2].ToLowerInvariant());
                break;
            case 2:
                type = "exact";
                (from, to) = (args[0].ToLowerInvariant(), args[1].ToLowerInvariant());
                break;
            default:
                throw new RuleException($"too few ({args.Count}) arguments for a cname rule");
        }
        var kind = type switch
        {
            "exact" => NameMatch.Exact,
            "prefix" => NameMatch.Prefix,
            "suffix" => NameMatch.Suffix,
            "substring" => NameMatch.Substring,
            "regex" => NameMatch.Regex,
            _ => throw new RuleException($"unknown cname rewrite type: {type}"),
        };
        GoRegex? regex = null;
        if (kind == NameMatch.Regex && (!GoRegex.TryCompile(from, out regex, out _) || regex is null))
        {
            // CoreDNS compiles the pattern per reply and panics on a bad one; refusing it at start-up is the safe form.
            throw new RuleException($"invalid regex matching pattern: {from}");
        }
        return new CnameTargetRule(stop, kind, from, to, regex, resolver);
    }

    /// <summary>Runs a compiled pattern once at start-up, so the first query does not pay its JIT under the match time
    /// limit (on a busy machine that alone can exceed it; the warm-up's own time-out is of no consequence).</summary>
    private static void WarmUp(GoRegex regex)
    {
        try
        {
            _ = regex.Regex.IsMatch("warm.up.");
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
        }
    }

    private static RewriteRule NewTypeRule(bool stop, List<string> args)
    {
        if (!MiekgNames.TryParseType(args[0].ToUpperInvariant(), out var from))
        {
            throw new RuleException($"invalid type {GoQuote(args[0].ToUpperInvariant())}");
        }
        if (!MiekgNames.TryParseType(args[1].ToUpperInvariant(), out var to))
        {
            throw new RuleException($"invalid type {GoQuote(args[1].ToUpperInvariant())}");
        }
        return new TypeRule(stop, from, to);
    }

    private static RewriteRule NewClassRule(bool stop, List<string> args)
    {
        if (!MiekgNames.TryParseClass(args[0].ToUpperInvariant(), out var from))
        {
            throw new RuleException($"invalid class {GoQuote(args[0].ToUpperInvariant())}");
        }
        if (!MiekgNames.TryParseClass(args[1].ToUpperInvariant(), out var to))
        {
            throw new RuleException($"invalid class {GoQuote(args[1].ToUpperInvariant())}");
        }
        return new ClassRule(stop, from, to);
    }

    /// <summary>The name test of ttl and rcode rules: <c>[TYPE] NAME</c> with CoreDNS's per-field error texts.</summary>
    private static NameMatcher NewMatcher(string field, string type, string name) => type.ToLowerInvariant() switch
    {
        "exact" => new NameMatcher(NameMatch.Exact, Normalize(name), null),
        "prefix" => new NameMatcher(NameMatch.Prefix, Normalize(name), null),
        "suffix" => new NameMatcher(NameMatch.Suffix, Normalize(name), null),
        "substring" => new NameMatcher(NameMatch.Substring, Normalize(name), null),
        "regex" => GoRegex.TryCompile(name, out var regex, out _) && regex is not null
            ? new NameMatcher(NameMatch.Regex, name, regex)
            : throw new RuleException($"invalid regex pattern in a {field} rule: {name}"),
        _ => throw new RuleException($"{field} rule supports only exact, prefix, suffix, substring, and regex name matching"),
    };

    private static RewriteRule NewTtlRule(bool stop, List<string> args)
    {
        if (args.Count < 2)
        {
            throw new RuleException($"too few ({args.Count}) arguments for a ttl rule");
        }
        var value = args.Count == 2 ? args[1] : args.Count == 3 ? args[2] : string.Empty;
        if (!TryParseTtl(value, out var min, out var max))
        {
            throw new RuleException($"invalid TTL '{value}' for a ttl rule");
        }
        if (args.Count > 3)
        {
            throw new RuleException("many few arguments for a ttl rule"); // sic
        }
        var matcher = args.Count == 3 ? NewMatcher("ttl", args[0], args[1]) : NewMatcher("ttl", "exact", args[0]);
        return new ResponseOnlyRule(stop, matcher, new TtlResponseRule(min, max));
    }

    /// <summary>CoreDNS's isValidTTL: <c>N</c>, <c>MIN-MAX</c>, <c>MIN-</c> (up to 2147483647) or <c>-MAX</c>.</summary>
    private static bool TryParseTtl(string text, out uint min, out uint max)
    {
        min = max = 0;
        var parts = text.Split('-');
        if (parts.Length == 1)
        {
            if (!TryParseUInt32(parts[0], out min))
            {
                return false;
            }
            max = min;
            return true;
        }
        if (parts.Length != 2 || (parts[0].Length == 0 && parts[1].Length == 0))
        {
            return false;
        }
        if (parts[0].Length > 0 && !TryParseUInt32(parts[0], out min))
        {
            return false;
        }
        max = 2147483647;
        if (parts[1].Length > 0 && !TryParseUInt32(parts[1], out max))
        {
            return false;
        }
        return min <= max;
    }

    private static bool TryParseUInt32(string text, out uint value) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static RewriteRule NewRcodeRule(bool stop, List<string> args)
    {
        if (args.Count < 3)
        {
            throw new RuleException($"too few ({args.Count}) arguments for a rcode rule");
        }
        var (oldText, newText) = args.Count == 3 ? (args[1], args[2]) : args.Count == 4 ? (args[2], args[3]) : (string.Empty, string.Empty);
        if (!TryParseRcode(oldText, out var from))
        {
            throw new RuleException($"invalid matching RCODE '{oldText}' for a rcode rule");
        }
        if (!TryParseRcode(newText, out var to))
        {
            throw new RuleException($"invalid replacement RCODE '{newText}' for a rcode rule");
        }
        if (args.Count > 4)
        {
            throw new RuleException("many few arguments for a rcode rule"); // sic
        }
        var matcher = args.Count == 4 ? NewMatcher("rcode", args[0], args[1]) : NewMatcher("rcode", "exact", args[0]);
        return new ResponseOnlyRule(stop, matcher, new RcodeResponseRule(from, to));
    }

    /// <summary>CoreDNS's isValidRCode: a number up to 23, or a name of miekg's RcodeToString in any case.</summary>
    private static bool TryParseRcode(string text, out DnsRcode rcode)
    {
        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= 23)
        {
            rcode = (DnsRcode)number;
            return true;
        }
        var upper = text.ToUpperInvariant();
        return MiekgNames.TryParseRcode(upper, out rcode) && upper != "NOTIMPL";
    }

    private static RewriteRule NewEdns0Rule(bool stop, List<string> args)
    {
        if (args.Count < 2)
        {
            throw new RuleException("too few arguments for an EDNS0 rule");
        }
        var ruleType = args[0].ToLowerInvariant();
        var actionText = args[1].ToLowerInvariant();
        var action = actionText switch
        {
            "set" => Edns0Action.Set,
            "replace" => Edns0Action.Replace,
            "append" => Edns0Action.Append,
            "unset" => Edns0Action.Unset,
            _ => throw new RuleException($"invalid action: {GoQuote(actionText)}"),
        };
        // A final "revert" puts the reply's option back as the client sent it.
        var revert = args.Count > 2 && args[^1] == "revert";
        if (revert)
        {
            args = args.GetRange(0, args.Count - 1);
        }
        var unset = action == Edns0Action.Unset;
        switch (ruleType)
        {
            case "local":
                if (unset)
                {
                    return args.Count != 3
                        ? throw new RuleException("EDNS0 local unset rules require exactly one arg")
                        : new Edns0LocalRule(stop, action, revert, (ushort)ParseUint(args[2], 16), []);
                }
                if (args.Count != 4)
                {
                    throw new RuleException("EDNS0 local rules require exactly three args");
                }
                if (args[3].StartsWith('{') && args[3].EndsWith('}'))
                {
                    var code = (ushort)ParseUint(args[2], 16);
                    return Edns0VariableRule.IsValid(args[3])
                        ? new Edns0VariableRule(stop, action, revert, code, args[3])
                        : throw new RuleException($"unsupported variable name {GoQuote(args[3])}");
                }
                return new Edns0LocalRule(stop, action, revert, (ushort)ParseUint(args[2], 16), LocalData(args[3]));
            case "nsid":
                return args.Count != 2 ? throw new RuleException("EDNS0 NSID rules do not accept args") : new Edns0NsidRule(stop, action, revert);
            case "subnet":
                if (unset)
                {
                    return args.Count != 2
                        ? throw new RuleException("EDNS0 subnet unset rules do not accept args")
                        : new Edns0SubnetRule(stop, action, revert, 0, 0);
                }
                if (args.Count != 4)
                {
                    throw new RuleException("EDNS0 subnet rules require exactly three args");
                }
                var v4 = ParseUint(args[2], 16);
                if (v4 > 32)
                {
                    throw new RuleException($"invalid IPv4 bit mask length {v4}");
                }
                var v6 = ParseUint(args[3], 16);
                if (v6 > 128)
                {
                    throw new RuleException($"invalid IPv6 bit mask length {v6}");
                }
                return new Edns0SubnetRule(stop, action, revert, (byte)v4, (byte)v6);
            default:
                throw new RuleException($"invalid rule type {GoQuote(ruleType)}");
        }
    }

    /// <summary>Data of an EDNS0 local option: hex after <c>0x</c>, else the text's bytes.</summary>
    private static byte[] LocalData(string data)
    {
        if (!data.StartsWith("0x", StringComparison.Ordinal))
        {
            return System.Text.Encoding.UTF8.GetBytes(data);
        }
        var hex = data[2..];
        for (var i = 0; i < hex.Length; i++)
        {
            if (!char.IsAsciiHexDigit(hex[i]))
            {
                throw new RuleException($"encoding/hex: invalid byte: U+{(int)hex[i]:X4} {GoQuoteRune(hex[i])}");
            }
        }
        return hex.Length % 2 != 0 ? throw new RuleException("encoding/hex: odd length hex string") : Convert.FromHexString(hex);
    }

    /// <summary>Go's strconv.ParseUint(s, 0, bits): 0x/0o/0b prefixes, a leading 0 for octal, '_' between digits.</summary>
    private static ulong ParseUint(string s, int bits)
    {
        var text = s.Replace("_", string.Empty, StringComparison.Ordinal);
        var radix = 10;
        if (text.Length > 1 && text[0] == '0')
        {
            (radix, text) = char.ToLowerInvariant(text[1]) switch
            {
                'x' => (16, text[2..]),
                'o' => (8, text[2..]),
                'b' => (2, text[2..]),
                _ => (8, text[1..]),
            };
        }
        if (text.Length == 0)
        {
            throw new RuleException($"strconv.ParseUint: parsing {GoQuote(s)}: invalid syntax");
        }
        ulong value = 0;
        foreach (var c in text)
        {
            var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (digit >= radix)
            {
                throw new RuleException($"strconv.ParseUint: parsing {GoQuote(s)}: invalid syntax");
            }
            value = value * (ulong)radix + (ulong)digit;
            if (value >= 1UL << bits)
            {
                throw new RuleException($"strconv.ParseUint: parsing {GoQuote(s)}: value out of range");
            }
        }
        return value;
    }

    private static string GoQuote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string GoQuoteRune(char c) => c == '\'' ? "'\\''" : "'" + c + "'";
}
