using ClusterDns.Server;

namespace ClusterDns.Plugins.View;

/// <summary>One <c>expr</c> line: its text and its compiled form.</summary>
internal sealed record ViewRule(string Source, ExprNode Expression);

/// <summary>
/// CoreDNS <c>view</c>: a filter the listener's router evaluates before choosing the server block (see
/// <see cref="IViewFilter"/>); in the chain itself it only passes the query on. Every <c>expr</c> must evaluate to
/// boolean true; a run-time error or any other result is "no match", as in CoreDNS.
/// </summary>
public sealed class ViewPlugin : DnsPlugin, IViewFilter
{
    private readonly ViewRule[] _rules;

    internal ViewPlugin(string viewName, ViewRule[] rules)
    {
        ViewName = viewName;
        _rules = rules;
    }

    public override string Name => "view";

    public string ViewName { get; }

    /// <summary>The <c>expr</c> lines as configured.</summary>
    public IReadOnlyList<string> Expressions
    {
        get
        {
            var list = new string[_rules.Length];
            for (var i = 0; i < list.Length; i++)
            {
                list[i] = _rules[i].Source;
            }
            return list;
        }
    }

    public bool Filter(DnsRequest request)
    {
        foreach (var rule in _rules)
        {
            var expression = rule.Expression;
            if (expression.Type != ExprType.Bool || !expression.TryBool(request, out var value) || !value)
            {
                return false;
            }
        }
        return true;
    }

    // plugin.NextOrFailure: the view is the last plugin in plugin.cfg, so usually nothing follows and the server answers
    // SERVFAIL, as CoreDNS does for a block that only has a view.
    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken) =>
        NextAsync(request, cancellationToken);
}
