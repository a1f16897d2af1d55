using System.Text;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Template;

/// <summary>An error while executing a template, with Go's text:
/// <c>template: answer:1:26: executing "answer" at &lt;index .Match 2&gt;: error calling index: index out of range: 2</c>.</summary>
internal sealed class GoExecException(string message) : Exception(message);

/// <summary>
/// One parsed Go text/template (a plugin's RR text). A template without actions is <see cref="IsStatic"/>: its
/// output is <see cref="Text"/> and callers precompute whatever they build from it.
/// </summary>
internal sealed class GoTemplate
{
    private readonly IReadOnlyList<GoNode> _root;

    private GoTemplate(string name, string text, IReadOnlyList<GoNode> root)
    {
        Name = name;
        Text = text;
        _root = root;
        IsStatic = root.Count == 0 || (root.Count == 1 && root[0] is GoTextNode);
        Source = GoNodeText(root);
    }

    public string Name { get; }

    /// <summary>The text as configured.</summary>
    public string Text { get; }

    /// <summary>Go's <c>Tree.Root.String()</c>: the metrics' <c>template</c> label.</summary>
    public string Source { get; }

    public bool IsStatic { get; }

    /// <summary>The output of a static template (text with comments and trim markers applied).</summary>
    public string StaticText => _root.Count == 0 ? string.Empty : ((GoTextNode)_root[0]).Text;

    /// <summary>Parses; throws <see cref="GoTemplateException"/> with Go's parse error text.</summary>
    public static GoTemplate Parse(string name, string text) => new(name, text, GoTemplateParser.Parse(name, text));

    private static string GoNodeText(IReadOnlyList<GoNode> nodes)
    {
        var builder = new StringBuilder();
        GoNode.AppendList(builder, nodes);
        return builder.ToString();
    }

    /// <summary>Runs the template on <paramref name="data"/>; false with Go's error text on an execution error.</summary>
    public bool TryExecute(TemplateData data, StringBuilder output, out string error)
    {
        try
        {
            new GoExecutor(this, data, output).Run(_root, data);
            error = string.Empty;
            return true;
        }
        catch (GoExecException exception)
        {
            error = exception.Message;
            return false;
        }
    }

    /// <summary>Line and column of <paramref name="position"/> as Go prints them (column counted from 0 after the last newline).</summary>
    internal (int Line, int Column) Locate(int position)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < position && i < Text.Length; i++)
        {
            if (Text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return (line, position - lineStart);
    }
}

/// <summary>Go's "no value" (an invalid reflect.Value: a missing map key, an unset variable).</summary>
internal sealed class GoMissing
{
    public static readonly GoMissing Value = new();

    private GoMissing()
    {
    }

    public override string ToString() => "<no value>";
}

/// <summary>Walks the parse tree. Values are plain objects: string, long, ulong, bool, null, <see cref="GoMissing"/>,
/// string[], Dictionary&lt;string,string&gt;, <see cref="TemplateData"/>, <see cref="DnsMessage"/>, <see cref="DnsQuestion"/>.</summary>
internal sealed class GoExecutor(GoTemplate template, TemplateData root, StringBuilder output)
{
    private readonly List<(string Name, object? Value)> _variables = [("$", root)];
    private GoCommandNode? _command;

    public void Run(IReadOnlyList<GoNode> nodes, object? dot)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case GoTextNode text:
                    output.Append(text.Text);
                    break;
                case GoActionNode action:
                    var value = EvalPipeline(action.Pipe, dot);
                    if (action.Pipe.Declarations.Count == 0)
                    {
                        output.Append(GoFormat.Print(value));
                    }
                    break;
                case GoBranchNode branch:
                    RunBranch(branch, dot);
                    break;
            }
        }
    }

    private void RunBranch(GoBranchNode branch, object? dot)
    {
        var mark = _variables.Count;
        var value = EvalPipeline(branch.Pipe, dot);
        switch (branch.Kind)
        {
            case GoBranchKind.If:
                Run(GoFormat.IsTrue(value) ? branch.List : branch.ElseList ?? [], dot);
                break;
            case GoBranchKind.With:
                if (GoFormat.IsTrue(value))
                {
                    Run(branch.List, value);
                }
                else
                {
                    Run(branch.ElseList ?? [], dot);
                }
                break;
            default:
                var any = false;
                foreach (var (key, element) in Iterate(value))
                {
                    any = true;
                    var declarations = branch.Pipe.Declarations;
                    if (declarations.Count == 1)
                    {
                        SetVariable(declarations[0], element, branch.Pipe.IsAssign);
                    }
                    else if (declarations.Count == 2)
                    {
                        SetVariable(declarations[0], key, branch.Pipe.IsAssign);
                        SetVariable(declarations[1], element, branch.Pipe.IsAssign);
                    }
                    Run(branch.List, element);
                }
                if (!any)
                {
                    Run(branch.ElseList ?? [], dot);
                }
                break;
        }
        _variables.RemoveRange(mark, _variables.Count - mark);
    }

    private IEnumerable<(object? Key, object? Value)> Iterate(object? value)
    {
        switch (value)
        {
            case string[] strings:
                for (var i = 0; i < strings.Length; i++)
                {
                    yield return ((long)i, strings[i]);
                }
                break;
            case IReadOnlyList<DnsQuestion> questions:
                for (var i = 0; i < questions.Count; i++)
                {
                    yield return ((long)i, questions[i]);
                }
                break;
            case Dictionary<string, string> map:
                var keys = map.Keys.ToArray();
                Array.Sort(keys, StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    yield return (key, map[key]);
                }
                break;
            case long count:
                for (long i = 0; i < count; i++)
                {
                    yield return (i, i);
                }
                break;
            case null or GoMissing:
                break;
            default:
                throw Fail($"range can't iterate over {GoFormat.Print(value)}");
        }
    }

    private void SetVariable(string name, object? value, bool assign)
    {
        if (assign)
        {
            for (var i = _variables.Count - 1; i >= 0; i--)
            {
                if (_variables[i].Name == name)
                {
                    _variables[i] = (name, value);
                    return;
                }
            }
        }
        _variables.Add((name, value));
    }

    private object? EvalPipeline(GoPipeNode pipe, object? dot)
    {
        object? value = null;
        var hasFinal = false;
        foreach (var command in pipe.Commands)
        {
            value = EvalCommand(command, dot, hasFinal, value);
            hasFinal = true;
        }
        foreach (var declaration in pipe.Declarations)
        {
            SetVariable(declaration, value, pipe.IsAssign);
        }
        return value;
    }

    private object? EvalCommand(GoCommandNode command, object? dot, bool hasFinal, object? final)
    {
        var saved = _command;
        _command = command;
        try
        {
            var first = command.Args[0];
            switch (first)
            {
                case GoIdentifierNode function:
                    return GoTemplateFunctions.Call(function.Name, command.Args, this, dot, hasFinal, final);
                case GoFieldNode field:
                    return EvalFieldChain(dot, field.Idents, command.Args, hasFinal, final, field, dot);
                case GoVariableNode variable:
                    return EvalFieldChain(Variable(variable.Name), variable.Idents, command.Args, hasFinal, final, variable, dot);
                case GoChainNode chain:
                    return EvalFieldChain(EvalPipeline(chain.Pipe, dot), chain.Idents, command.Args, hasFinal, final, chain, dot);
            }
            if (command.Args.Count > 1 || hasFinal)
            {
                throw Fail($"can't give argument to non-function {first}");
            }
            return EvalArg(first, dot);
        }
        finally
        {
            _command = saved;
        }
    }

    /// <summary>An operand's value (arguments of functions and methods).</summary>
    public object? EvalArg(GoNode node, object? dot) => node switch
    {
        GoConstantNode constant => constant.Value,
        GoFieldNode field => EvalFieldChain(dot, field.Idents, [field], false, null, field, dot),
        GoVariableNode variable => EvalFieldChain(Variable(variable.Name), variable.Idents, [variable], false, null, variable, dot),
        GoChainNode chain => EvalFieldChain(EvalPipeline(chain.Pipe, dot), chain.Idents, [chain], false, null, chain, dot),
        GoPipeNode pipe => EvalPipeline(pipe, dot),
        GoIdentifierNode function => GoTemplateFunctions.Call(function.Name, [function], this, dot, false, null),
        _ => throw Fail($"can't handle {node}"),
    };

    private object? Variable(string name)
    {
        for (var i = _variables.Count - 1; i >= 0; i--)
        {
            if (_variables[i].Name == name)
            {
                return _variables[i].Value;
            }
        }
        throw Fail($"undefined variable: {name}");
    }

    /// <summary>Fields of <paramref name="receiver"/> in turn; the last one gets the command's other arguments (a
    /// method call such as <c>.Meta "name"</c>).</summary>
    private object? EvalFieldChain(object? receiver, IReadOnlyList<string> idents, IReadOnlyList<GoNode> args, bool hasFinal, object? final, GoNode node, object? dot)
    {
        var value = receiver;
        for (var i = 0; i < idents.Count; i++)
        {
            var last = i == idents.Count - 1;
            value = EvalField(value, idents[i], last ? args : [node], last && hasFinal, final, node, dot);
        }
        if (idents.Count == 0 && (args.Count > 1 || hasFinal))
        {
            throw Fail($"can't give argument to non-function {node}");
        }
        return value;
    }

    private object? EvalField(object? receiver, string name, IReadOnlyList<GoNode> args, bool hasFinal, object? final, GoNode node, object? dot)
    {
        var hasArgs = args.Count > 1 || hasFinal;
        if (receiver is TemplateData data && name == "Meta")
        {
            var count = args.Count - 1 + (hasFinal ? 1 : 0);
            if (count != 1)
            {
                throw Fail($"wrong number of args for Meta: want 1 got {count}", node);
            }
            var argument = hasFinal ? final : EvalArg(args[1], dot);
            if (argument is not string key)
            {
                throw Fail($"wrong type for value; expected string; got {GoFormat.TypeName(argument)}", node);
            }
            return data.Meta(key);
        }
        object? value;
        switch (receiver)
        {
            case Dictionary<string, string> map:
                if (hasArgs)
                {
                    throw Fail($"{name} is not a method but has arguments", node);
                }
                return map.TryGetValue(name, out var entry) ? entry : GoMissing.Value;
            case TemplateData d when TryTemplateField(d, name, out value):
            case DnsMessage m when TryMessageField(m, name, out value):
            case DnsQuestion q when TryQuestionField(q, name, out value):
                break;
            case null or GoMissing:
                throw Fail($"nil pointer evaluating {GoFormat.TypeName(receiver)}.{name}", node);
            default:
                throw Fail($"can't evaluate field {name} in type {GoFormat.TypeName(receiver)}", node);
        }
        if (hasArgs)
        {
            throw Fail($"{name} has arguments but cannot be invoked as function", node);
        }
        return value;
    }

    private static bool TryTemplateField(TemplateData data, string name, out object? value)
    {
        value = name switch
        {
            "Zone" => data.Zone,
            "Name" => data.Name,
            "Regex" => data.Regex,
            "Match" => data.Match,
            "Group" => data.Group,
            "Class" => data.Class,
            "Type" => data.Type,
            "Message" => data.Message,
            "Question" => data.Question,
            "Remote" => data.Remote,
            _ => GoMissing.Value,
        };
        return value is not GoMissing;
    }

    private static bool TryMessageField(DnsMessage message, string name, out object? value)
    {
        value = name switch
        {
            "Id" => (long)message.Header.Id,
            "Opcode" => (long)message.Header.Opcode,
            "Response" => message.Header.IsResponse,
            "Authoritative" => message.Header.Authoritative,
            "Truncated" => message.Header.Truncated,
            "RecursionDesired" => message.Header.RecursionDesired,
            "RecursionAvailable" => message.Header.RecursionAvailable,
            "AuthenticatedData" => message.Header.AuthenticData,
            "CheckingDisabled" => message.Header.CheckingDisabled,
            "Rcode" => (long)message.Rcode,
            "Question" => (IReadOnlyList<DnsQuestion>)message.Questions,
            _ => GoMissing.Value,
        };
        return value is not GoMissing;
    }

    private static bool TryQuestionField(DnsQuestion question, string name, out object? value)
    {
        value = name switch
        {
            "Name" => question.Name.ToString(),
            "Qtype" => (long)question.Type,
            "Qclass" => (long)question.Class,
            _ => GoMissing.Value,
        };
        return value is not GoMissing;
    }

    /// <summary>An execution error located at the running command, as Go words it.</summary>
    public GoExecException Fail(string message, GoNode? node = null)
    {
        var position = _command?.Position ?? 0;
        var (line, column) = template.Locate(position);
        var at = node?.ToString() ?? _command?.ToString() ?? string.Empty;
        return new GoExecException($"template: {template.Name}:{line}:{column}: executing \"{template.Name}\" at <{at}>: {message}");
    }
}
