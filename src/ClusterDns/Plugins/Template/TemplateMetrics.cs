using ClusterDns.Metrics;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Plugins.Template;

/// <summary><c>coredns_template_*</c> (plugin/template/metrics.go): names, help texts and labels as CoreDNS.</summary>
public static class TemplateMetrics
{
    public static Counter Matches { get; } = PromMetrics.CreateCounter("coredns_template_matches_total",
        "Counter of template regex matches.", ["server", "zone", "view", "class", "type"]);

    public static Counter TemplateFailures { get; } = PromMetrics.CreateCounter("coredns_template_template_failures_total",
        "Counter of go template failures.", ["server", "zone", "view", "class", "type", "section", "template"]);

    public static Counter RRFailures { get; } = PromMetrics.CreateCounter("coredns_template_rr_failures_total",
        "Counter of mis-templated RRs.", ["server", "zone", "view", "class", "type", "section", "template"]);

    private static MatchSeries[] _matches = [];
    private static readonly Lock Gate = new();

    /// <summary>The matches child for these labels. Lock-free and allocation-free once seen: the label strings come from
    /// the configuration and static name tables, so a linear scan comparing references finds them.</summary>
    internal static Counter.Child MatchesFor(string server, string zone, string @class, string type)
    {
        var series = Volatile.Read(ref _matches);
        foreach (var entry in series)
        {
            if (entry.Is(server, zone, @class, type))
            {
                return entry.Child;
            }
        }
        lock (Gate)
        {
            foreach (var entry in _matches)
            {
                if (entry.Is(server, zone, @class, type))
                {
                    return entry.Child;
                }
            }
            var child = Matches.WithLabels(server, zone, DnsLabels.NoView, @class, type);
            Volatile.Write(ref _matches, [.. _matches, new MatchSeries(server, zone, @class, type, child)]);
            return child;
        }
    }

    private sealed record MatchSeries(string Server, string Zone, string Class, string Type, Counter.Child Child)
    {
        public bool Is(string server, string zone, string @class, string type) =>
            Same(Server, server) && Same(Zone, zone) && Same(Class, @class) && Same(Type, type);

        private static bool Same(string a, string b) => ReferenceEquals(a, b) || string.Equals(a, b, StringComparison.Ordinal);
    }
}
