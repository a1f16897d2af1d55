using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Transfer;

/// <summary>
/// A plugin whose zones can be transferred (CoreDNS's <c>transfer.Transferer</c>). The <c>transfer</c> plugin asks
/// every source after it in the chain, first answer wins.
/// </summary>
public interface ITransferSource
{
    /// <summary>
    /// The records of <paramref name="zone"/> in transfer order: SOA first and last, everything else between. For an
    /// IXFR (<paramref name="ixfrSerial"/> set) whose serial is current, the SOA alone. Null when this source is not
    /// authoritative for exactly that zone.
    /// </summary>
    IReadOnlyList<DnsRecord>? Transfer(DnsName zone, uint? ixfrSerial);
}
