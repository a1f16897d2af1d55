using ClusterDns.Server;

namespace ClusterDns.Plugins.View;

/// <summary>
/// Parses <c>view NAME { expr EXPRESSION ... }</c> as CoreDNS does: once per block, exactly one NAME, any number of
/// <c>expr</c> lines (all must hold; none means the view always matches), the words after <c>expr</c> joined with
/// spaces and compiled when the configuration is built.
/// </summary>
public static class ViewSetup
{
    public static PluginDescriptor Descriptor { get; } = new("view", Setup);

    private static IReadOnlyList<DnsPlugin> Setup(PluginSetupContext context)
    {
        var d = context.Dispenser;
        var name = string.Empty;
        var rules = new List<ViewRule>();
        while (d.Next())
        {
            var args = d.RemainingArgs();
            if (args.Count != 1)
            {
                throw d.ArgErr();
            }
            name = args[0];
            while (d.NextBlock())
            {
                if (d.Val != "expr")
                {
                    throw d.Err($"unknown property '{d.Val}'");
                }
                var source = string.Join(' ', d.RemainingArgs());
                rules.Add(new ViewRule(source, ViewExpression.Compile(source)));
            }
        }
        return [new ViewPlugin(name, [.. rules])];
    }
}
