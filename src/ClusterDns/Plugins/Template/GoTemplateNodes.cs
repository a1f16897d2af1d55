using System.Text;

namespace ClusterDns.Plugins.Template;

// The parse tree of a Go text/template, the subset the template plugin accepts. ToString gives the text Go's
// Tree.Root.String() prints (actions without their inner spaces), which CoreDNS uses as the failure metrics'
// "template" label.

internal abstract record GoNode
{
    public abstract void Append(StringBuilder builder);

    public sealed override string ToString()
    {
        var builder = new StringBuilder();
        Append(builder);
        return builder.ToString();
    }

    public static void AppendList(StringBuilder builder, IReadOnlyList<GoNode> nodes)
    {
        foreach (var node in nodes)
        {
            node.Append(builder);
        }
    }
}

internal sealed record GoTextNode(string Text) : GoNode
{
    public override void Append(StringBuilder builder) => builder.Append(Text);
}

/// <summary><c>{{pipeline}}</c>: prints the pipeline's value unless it declares variables.</summary>
internal sealed record GoActionNode(int Position, int Line, GoPipeNode Pipe) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        builder.Append("{{");
        Pipe.Append(builder);
        builder.Append("}}");
    }
}

internal enum GoBranchKind
{
    If,
    With,
    Range,
}

/// <summary><c>{{if}}</c>, <c>{{with}}</c> and <c>{{range}}</c>; an <c>else if</c> is an else list holding one branch.</summary>
internal sealed record GoBranchNode(GoBranchKind Kind, int Line, GoPipeNode Pipe, IReadOnlyList<GoNode> List, IReadOnlyList<GoNode>? ElseList) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        builder.Append("{{").Append(Kind switch { GoBranchKind.If => "if", GoBranchKind.With => "with", _ => "range" }).Append(' ');
        Pipe.Append(builder);
        builder.Append("}}");
        AppendList(builder, List);
        if (ElseList is not null)
        {
            builder.Append("{{else}}");
            AppendList(builder, ElseList);
        }
        builder.Append("{{end}}");
    }
}

/// <summary>Commands joined by <c>|</c>, optionally declaring (<c>:=</c>) or assigning (<c>=</c>) variables.</summary>
internal sealed record GoPipeNode(int Position, IReadOnlyList<string> Declarations, bool IsAssign, IReadOnlyList<GoCommandNode> Commands) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        if (Declarations.Count > 0)
        {
            builder.Append(string.Join(", ", Declarations)).Append(IsAssign ? " = " : " := ");
        }
        for (var i = 0; i < Commands.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(" | ");
            }
            Commands[i].Append(builder);
        }
    }
}

internal sealed record GoCommandNode(int Position, IReadOnlyList<GoNode> Args) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        for (var i = 0; i < Args.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(' ');
            }
            if (Args[i] is GoPipeNode pipe)
            {
                builder.Append('(');
                pipe.Append(builder);
                builder.Append(')');
                continue;
            }
            Args[i].Append(builder);
        }
    }
}

/// <summary><c>.A.B</c>: fields (or methods, map keys) of dot. No identifiers means dot itself.</summary>
internal sealed record GoFieldNode(IReadOnlyList<string> Idents) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        if (Idents.Count == 0)
        {
            builder.Append('.');
        }
        foreach (var ident in Idents)
        {
            builder.Append('.').Append(ident);
        }
    }
}

/// <summary><c>$x.A.B</c>: a variable and fields of it.</summary>
internal sealed record GoVariableNode(string Name, IReadOnlyList<string> Idents) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        builder.Append(Name);
        foreach (var ident in Idents)
        {
            builder.Append('.').Append(ident);
        }
    }
}

/// <summary><c>(pipeline).A.B</c>.</summary>
internal sealed record GoChainNode(GoPipeNode Pipe, IReadOnlyList<string> Idents) : GoNode
{
    public override void Append(StringBuilder builder)
    {
        builder.Append('(');
        Pipe.Append(builder);
        builder.Append(')');
        foreach (var ident in Idents)
        {
            builder.Append('.').Append(ident);
        }
    }
}

/// <summary>A function name in command position.</summary>
internal sealed record GoIdentifierNode(string Name) : GoNode
{
    public override void Append(StringBuilder builder) => builder.Append(Name);
}

/// <summary>A constant: a string, a number, a boolean or nil; <see cref="Source"/> is its text as written.</summary>
internal sealed record GoConstantNode(string Source, object? Value) : GoNode
{
    public override void Append(StringBuilder builder) => builder.Append(Source);
}
