using ClusterDns.Protocol;
using ClusterDns.Server;
using Prometheus;
using PromMetrics = Prometheus.Metrics;

namespace ClusterDns.Metrics;

/// <summary>
/// The core server metrics of CoreDNS's <c>plugin/metrics/vars</c>, in the process-wide default registry (as
/// <c>promauto</c> registers them). The prometheus plugin reports through <see cref="For"/>; rejected queries
/// (zone <c>dropped</c>) are reported from <see cref="ServerCounters.Rejected"/> whether or not a block exports them,
/// as CoreDNS's server does.
/// </summary>
public static class CoreMetrics
{
    /// <summary>Zone label of queries rejected before any chain ran. No trailing dot, so it can never be a real zone.</summary>
    public const string Dropped = "dropped";

    public static Gauge BuildInfo { get; } = PromMetrics.CreateGauge("coredns_build_info",
        "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.",
        ["version", "revision", "goversion"]);

    public static Counter Panics { get; } = PromMetrics.CreateCounter("coredns_panics_total",
        "A metrics that counts the number of panics.");

    public static Counter Requests { get; } = PromMetrics.CreateCounter("coredns_dns_requests_total",
        "Counter of DNS requests made per zone, protocol and family.",
        ["server", "zone", "view", "proto", "family", "type"]);

    /// <summary>No <c>type</c> label: CoreDNS dropped it in 1.8.4 for cardinality.</summary>
    public static Histogram RequestDuration { get; } = PromMetrics.CreateHistogram("coredns_dns_request_duration_seconds",
        "Histogram of the time (in seconds) each request took per zone.",
        ["server", "zone", "view"], new HistogramConfiguration { Buckets = MetricBuckets.Time });

    public static Histogram RequestSize { get; } = PromMetrics.CreateHistogram("coredns_dns_request_size_bytes",
        "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
        ["server", "zone", "view", "proto"], new HistogramConfiguration { Buckets = MetricBuckets.Size });

    public static Histogram ResponseSize { get; } = PromMetrics.CreateHistogram("coredns_dns_response_size_bytes",
        "Size of the returned response in bytes.",
        ["server", "zone", "view", "proto"], new HistogramConfiguration { Buckets = MetricBuckets.Size });

    public static Counter DoRequests { get; } = PromMetrics.CreateCounter("coredns_dns_do_requests_total",
        "Counter of DNS requests with DO bit set per zone.",
        ["server", "zone", "view"]);

    public static Counter Responses { get; } = PromMetrics.CreateCounter("coredns_dns_responses_total",
        "Counter of response status codes.",
        ["server", "zone", "view", "rcode", "plugin"]);

    public static Gauge PluginEnabled { get; } = PromMetrics.CreateGauge("coredns_plugin_enabled",
        "A metric that indicates whether a plugin is enabled on per server and zone basis.",
        ["server", "zone", "view", "name"]);

    /// <summary>DoH replies by HTTP status (for a future https:// listener).</summary>
    public static Counter HttpsResponses { get; } = PromMetrics.CreateCounter("coredns_dns_https_responses_total",
        "Counter of DoH responses per server and http status code.",
        ["server", "status"]);

    private static readonly SeriesTable<RequestSeries> Series = new(static (server, zone) => new RequestSeries(server, zone, DnsLabels.NoView));

    // Blocks with a view: one (server, zone) table per view name.
    private static readonly SeriesTable<SeriesTable<RequestSeries>> ViewSeries =
        new(static (view, _) => new SeriesTable<RequestSeries>((server, zone) => new RequestSeries(server, zone, view)));

    static CoreMetrics()
    {
        MetricsRegistry.EnsureConfigured();
        // Panics are counted by the server core (no prometheus dependency there); mirror the count at scrape time.
        PromMetrics.DefaultRegistry.AddBeforeCollectCallback(static () => Panics.IncTo(ServerCounters.Panics));
        ServerCounters.Rejected += OnRejected;
    }

    /// <summary>Forces the static setup (registry options, the rejected-query subscription). Idempotent.</summary>
    public static void EnsureInitialized() => _ = Series.Count;

    /// <summary>The cached children of one (server, zone) pair with an empty view. Lock-free after the first call per pair.</summary>
    public static RequestSeries For(string server, string zone) => Series.Get(server, zone);

    /// <summary>The cached children of one (server, zone, view); <paramref name="view"/> "" is <see cref="For(string, string)"/>.</summary>
    public static RequestSeries For(string server, string zone, string view) =>
        view.Length == 0 ? Series.Get(server, zone) : ViewSeries.Get(view).Get(server, zone);

    /// <summary>CoreDNS's <c>errorAndMetricsFunc</c>: REFUSED (bad class, no zone) and SERVFAIL (panic) replies written by the
    /// server count under zone "dropped". FORMERR/NOTIMP (miekg/dns's accept func) and BADVERS are answered by CoreDNS
    /// before ServeDNS reports anything, so they are not counted.</summary>
    private static void OnRejected(DnsRequest request, DnsRcode rcode)
    {
        if (rcode is DnsRcode.FormErr or DnsRcode.NotImp or DnsRcode.BadVers)
        {
            return;
        }
        var facts = RequestFacts.Capture(request);
        For(request.Server, Dropped).Report(facts, (int)rcode, string.Empty, request.Response.Length, 0);
    }
}

/// <summary>
/// The core metric children of one (server, zone, view), created on first use and then read from arrays indexed
/// by <see cref="RequestFacts"/> — counting a query allocates nothing and takes no lock.
/// </summary>
public sealed class RequestSeries
{
    private readonly string _server;
    private readonly string _zone;
    private readonly string _view;
    private readonly Counter.Child?[] _requests = new Counter.Child?[2 * 2 * DnsLabels.TypeCount];
    private readonly Histogram.Child?[] _requestSize = new Histogram.Child?[2];
    private readonly Histogram.Child?[] _responseSize = new Histogram.Child?[2];
    private readonly SeriesTable<Counter.Child?[]> _responses;
    private Histogram.Child? _duration;
    private Counter.Child? _do;

    internal RequestSeries(string server, string zone, string view)
    {
        _server = server;
        _zone = zone;
        _view = view;
        _responses = new SeriesTable<Counter.Child?[]>(static (_, _) => new Counter.Child?[DnsLabels.RcodeCount]);
    }

    /// <summary>CoreDNS's <c>vars.Report</c>. <paramref name="plugin"/> is the writer's name ("" when the server wrote).</summary>
    public void Report(in RequestFacts facts, int rcode, string plugin, int responseSize, double seconds)
    {
        if (facts.DnssecOk)
        {
            (_do ?? CreateDo()).Inc();
        }
        var index = ((facts.Proto * 2) + facts.Family) * DnsLabels.TypeCount + facts.Type;
        (_requests[index] ?? CreateRequests(index)).Inc();
        (_duration ?? CreateDuration()).Observe(seconds);
        (_responseSize[facts.Proto] ?? CreateSize(CoreMetrics.ResponseSize, _responseSize, facts.Proto)).Observe(responseSize);
        (_requestSize[facts.Proto] ?? CreateSize(CoreMetrics.RequestSize, _requestSize, facts.Proto)).Observe(facts.Size);
        ResponseCounter(rcode, plugin).Inc();
    }

    private Counter.Child ResponseCounter(int rcode, string plugin)
    {
        if ((uint)rcode >= (uint)DnsLabels.RcodeCount)
        {
            // Never written in a header (4 bits); only a plugin returning an odd extended rcode lands here.
            return CoreMetrics.Responses.WithLabels(_server, _zone, _view, DnsLabels.Rcode(rcode), plugin);
        }
        var byRcode = _responses.Get(plugin);
        return byRcode[rcode] ??= CoreMetrics.Responses.WithLabels(_server, _zone, _view, DnsLabels.Rcode(rcode), plugin);
    }

    // First-use creation: WithLabels returns the same child for the same labels, so a race only duplicates a lookup.
    private Counter.Child CreateDo() => _do = CoreMetrics.DoRequests.WithLabels(_server, _zone, _view);

    private Histogram.Child CreateDuration() => _duration = CoreMetrics.RequestDuration.WithLabels(_server, _zone, _view);

    private Counter.Child CreateRequests(int index)
    {
        var type = index % DnsLabels.TypeCount;
        var family = index / DnsLabels.TypeCount % 2;
        var proto = index / DnsLabels.TypeCount / 2;
        return _requests[index] = CoreMetrics.Requests.WithLabels(_server, _zone, _view,
            DnsLabels.ProtoNames[proto], DnsLabels.FamilyNames[family], DnsLabels.TypeNames[type]);
    }

    private Histogram.Child CreateSize(Histogram histogram, Histogram.Child?[] slots, int proto) =>
        slots[proto] = histogram.WithLabels(_server, _zone, _view, DnsLabels.ProtoNames[proto]);
}
