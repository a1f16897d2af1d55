using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Template;

/// <summary>
/// What a template RR sees, as CoreDNS's <c>templateData</c>: <c>.Zone .Name .Regex .Match .Group .Class .Type
/// .Message .Question .Remote</c> and the method <c>.Meta "name"</c>. Built only for templates whose RRs have actions.
/// </summary>
internal sealed class TemplateData
{
    public required string Zone { get; init; }

    public required string Name { get; init; }

    public required string Regex { get; init; }

    public required string[] Match { get; init; }

    public required Dictionary<string, string> Group { get; init; }

    public required string Class { get; init; }

    public required string Type { get; init; }

    public required DnsMessage Message { get; init; }

    public required DnsQuestion Question { get; init; }

    public required string Remote { get; init; }

    /// <summary>Metadata by name ("" when absent, as CoreDNS's Meta without the metadata plugin).</summary>
    public required Func<string, string> Meta { get; init; }

    /// <summary>Go's name for this type in "can't evaluate field" errors.</summary>
    public const string GoTypeName = "*template.templateData";
}
