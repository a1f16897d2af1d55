namespace ClusterDns.Server;

/// <summary>
/// CoreDNS's <c>dnsserver.Viewer</c>: a handler whose <see cref="Filter"/> decides whether a query is routed to its server
/// block at all. Blocks with a filter may share a zone and port with other blocks; a listener routes each query to the
/// first block (in Corefile order) of the longest matching zone whose filter passes, and blocks without a filter are
/// the fallback. Listeners without any filter never call it.
/// </summary>
public interface IViewFilter
{
    /// <summary>The view's name: the <c>view</c> label of the metrics of queries routed to the block.</summary>
    string ViewName { get; }

    /// <summary>Whether <paramref name="request"/> may be served by the block. Runs on the receive thread, before the
    /// chain, for every query whose name is in the block's zones.</summary>
    bool Filter(DnsRequest request);
}
