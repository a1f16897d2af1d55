using ClusterDns.Corefile;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Autopath;

/// <summary>
/// CoreDNS <c>autopath</c>: server-side search path completion. A query whose name is the client's first search element
/// or below it is taken as the first try of the client's search: the base name is tried with every search element and
/// then as is, through the rest of the chain, and the first reply that is not NXDOMAIN is returned with the original
/// question and a CNAME from the original name to the found one prepended. When every try fails the reply to the first
/// try is returned as is. Queries outside the zones or not starting a search pass straight on.
/// </summary>
public sealed class AutopathPlugin : DnsPlugin
{
    private readonly ZoneSet _zones;
    private readonly SearchPath? _search;

    internal AutopathPlugin(AutopathOptions options)
    {
        Options = options;
        _zones = new ZoneSet(options.Zones);
        _search = options.Search;
    }

    public override string Name => "autopath";

    internal AutopathOptions Options { get; }

    /// <summary>The plugin named by <c>@NAME</c>, once the configuration is built; it takes precedence over a file's list.</summary>
    public IAutoPather? Source { get; internal set; }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var name = request.LowerNameWire;
        if (!_zones.Covers(name))
        {
            return NextAsync(request, cancellationToken);
        }
        var search = Source is { } source ? source.AutoPath(request) : _search;
        if (search is null || !search.StartsSearch(name))
        {
            return NextAsync(request, cancellationToken);
        }
        return SearchAsync(request, search, cancellationToken);
    }

    /// <summary>The search itself (the slow path: copies and re-parses the query per try, as CoreDNS copies the message).</summary>
    private async ValueTask<DnsResult> SearchAsync(DnsRequest request, SearchPath search, CancellationToken cancellationToken)
    {
        var original = request.Query.ToArray();
        var zone = request.Zone;
        var transport = request.Transport;
        var nameLength = request.Info.NameLength;
        var labels = DnsNameSpan.CountLabels(request.NameWire);
        if (labels < search.FirstLabels || (labels == search.FirstLabels && labels > 0))
        {
            // dnsutil.TrimZone: the name is the first element itself, there is no base name.
            var qname = request.QuestionName.ToString();
            return new DnsResult(DnsRcode.ServFail, $"trimzone: overshot qname: {qname}for zone {search.Elements[0]}");
        }
        // The base keeps the case the client wrote; the search elements are lower case.
        var baseLength = LabelsLength(request.NameWire, labels - search.FirstLabels);
        byte[]? firstReply = null;
        var firstResult = default(DnsResult);
        for (var i = 0; i < search.Count; i++)
        {
            var element = search.Wire(i);
            if (baseLength + element.Length > DnsName.MaxWireLength)
            {
                continue; // no such name can exist
            }
            var query = new byte[original.Length - nameLength + baseLength + element.Length];
            original.AsSpan(0, DnsHeader.Size + baseLength).CopyTo(query);
            element.CopyTo(query.AsSpan(DnsHeader.Size + baseLength));
            original.AsSpan(DnsHeader.Size + nameLength).CopyTo(query.AsSpan(DnsHeader.Size + baseLength + element.Length));
            Reload(request, query, transport, zone);
            var result = await NextAsync(request, cancellationToken).ConfigureAwait(false);
            if (result.Error is not null)
            {
                // CoreDNS returns at once; what the try wrote never reaches the client.
                Reload(request, original, transport, zone);
                return result;
            }
            var response = request.Response;
            if (i == 0)
            {
                firstReply = response.Written ? response.Bytes.ToArray() : null;
                firstResult = result;
            }
            if (result.ServerWrites || !response.Written || response.Rcode == DnsRcode.NXDomain)
            {
                continue;
            }
            var reply = response.ReadMessage();
            Reload(request, original, transport, zone);
            Cnamer(reply, request.QuestionName);
            request.Response.Write(reply, Name);
            AutopathMetrics.Success.WithLabels(request.Server).Inc();
            return result;
        }
        Reload(request, original, transport, zone);
        if (!firstResult.ServerWrites && firstReply is not null)
        {
            firstReply.CopyTo(request.Response.GetBuffer(firstReply.Length));
            request.Response.Commit(firstReply.Length, Name);
        }
        return firstResult;
    }

    private static void Reload(DnsRequest request, byte[] query, DnsTransport transport, string zone)
    {
        request.Load(query, transport);
        request.Zone = zone;
    }

    /// <summary>Octets taken by the first <paramref name="labels"/> labels of <paramref name="wire"/>.</summary>
    private static int LabelsLength(ReadOnlySpan<byte> wire, int labels)
    {
        var at = 0;
        for (var i = 0; i < labels; i++)
        {
            at += wire[at] + 1;
        }
        return at;
    }

    /// <summary>CoreDNS's cnamer: a CNAME from the original name to the owner of the first answer not already owned by
    /// it (with that answer's TTL) goes in front, and the question becomes the original name again.</summary>
    internal static void Cnamer(DnsMessage reply, DnsName original)
    {
        foreach (var answer in reply.Answers)
        {
            if (answer.Name == original)
            {
                continue;
            }
            reply.Answers.Insert(0, new CnameRecord(answer.Name) { Name = original, Ttl = answer.Ttl });
            break;
        }
        if (reply.Questions.Count > 0)
        {
            reply.Questions[0] = reply.Questions[0] with { Name = original };
        }
    }
}
