namespace ClusterDns.Plugins.Log;

/// <summary>The values a format can reference (CoreDNS replacer's known labels).</summary>
internal enum LogLabel : byte
{
    Literal,
    Metadata,
    Type,
    Name,
    Class,
    Proto,
    Size,
    Remote,
    Port,
    Local,
    Id,
    Opcode,
    Do,
    Bufsize,
    Rcode,
    Rsize,
    Duration,
    Rflags,
}

/// <summary>One segment of a compiled format: a literal text, a label, or a metadata key (<c>{/key}</c>).</summary>
internal readonly record struct LogNode(LogLabel Label, string Text);

/// <summary>
/// A format compiled once at setup into nodes, so a query only appends values (CoreDNS's parseFormat).
/// Scanning finds each '}' and backtracks to the last '{' before it; unknown labels stay literal text.
/// </summary>
internal sealed class LogFormat
{
    private static readonly Dictionary<string, LogLabel> Known = new(StringComparer.Ordinal)
    {
        ["{type}"] = LogLabel.Type,
        ["{name}"] = LogLabel.Name,
        ["{class}"] = LogLabel.Class,
        ["{proto}"] = LogLabel.Proto,
        ["{size}"] = LogLabel.Size,
        ["{remote}"] = LogLabel.Remote,
        ["{port}"] = LogLabel.Port,
        ["{local}"] = LogLabel.Local,
        ["{>id}"] = LogLabel.Id,
        ["{>opcode}"] = LogLabel.Opcode,
        ["{>do}"] = LogLabel.Do,
        ["{>bufsize}"] = LogLabel.Bufsize,
        ["{rcode}"] = LogLabel.Rcode,
        ["{rsize}"] = LogLabel.Rsize,
        ["{duration}"] = LogLabel.Duration,
        ["{>rflags}"] = LogLabel.Rflags,
    };

    private LogFormat(string text, LogNode[] nodes)
    {
        Text = text;
        Nodes = nodes;
    }

    public string Text { get; }

    public LogNode[] Nodes { get; }

    public static LogFormat Parse(string format)
    {
        var nodes = new List<LogNode>();
        var s = format;
        while (true)
        {
            var j = s.IndexOf('}', StringComparison.Ordinal);
            if (j < 0)
            {
                break;
            }
            var i = s.LastIndexOf('{', j);
            if (i < 0)
            {
                // "A } {foo}": the text up to '}' is literal.
                nodes.Add(new LogNode(LogLabel.Literal, s[..(j + 1)]));
                s = s[(j + 1)..];
                continue;
            }
            var value = s[i..(j + 1)];
            LogNode node;
            if (Known.TryGetValue(value, out var label))
            {
                node = new LogNode(label, value);
            }
            else if (value.StartsWith("{/", StringComparison.Ordinal))
            {
                node = new LogNode(LogLabel.Metadata, value[2..^1]);
            }
            else
            {
                // Unknown "{x}": the whole text up to here is literal.
                nodes.Add(new LogNode(LogLabel.Literal, s[..(j + 1)]));
                s = s[(j + 1)..];
                continue;
            }
            if (i != 0)
            {
                nodes.Add(new LogNode(LogLabel.Literal, s[..i]));
            }
            nodes.Add(node);
            s = s[(j + 1)..];
        }
        if (s.Length != 0)
        {
            nodes.Add(new LogNode(LogLabel.Literal, s));
        }
        return new LogFormat(format, [.. nodes]);
    }

    /// <summary>Whether the format reads the reply's class-independent recorded values only (for tests).</summary>
    public override string ToString() => Text;
}
