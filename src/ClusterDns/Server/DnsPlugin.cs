using ClusterDns.Protocol;

namespace ClusterDns.Server;

/// <summary>
/// What a handler returns, as CoreDNS's <c>(int, error)</c>: an rcode, and an error text that the
/// <c>errors</c> plugin logs. SERVFAIL, REFUSED, FORMERR and NOTIMP returned without a written reply mean
/// "the server writes the reply"; anything else means the plugin wrote it.
/// </summary>
public readonly record struct DnsResult(DnsRcode Rcode, string? Error = null)
{
    public static DnsResult Success => new(DnsRcode.NoError);

    /// <summary>True for the rcodes after which the server writes the reply itself (plugin.ClientWrite's complement).</summary>
    public bool ServerWrites => Rcode is DnsRcode.ServFail or DnsRcode.Refused or DnsRcode.FormErr or DnsRcode.NotImp;
}

/// <summary>
/// A query handler in a server block's chain. Chains are built once per (re)load in plugin.cfg order;
/// <see cref="Next"/> is the following handler or null at the end. Handlers are shared by concurrent
/// queries: no per-query state in fields.
/// </summary>
public abstract class DnsPlugin
{
    public abstract string Name { get; }

    public DnsPlugin? Next { get; internal set; }

    public abstract ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken);

    /// <summary>Calls the next handler, or fails as CoreDNS's <c>plugin.NextOrFailure</c> does.</summary>
    protected ValueTask<DnsResult> NextAsync(DnsRequest request, CancellationToken cancellationToken) =>
        Next is { } next
            ? next.ServeAsync(request, cancellationToken)
            : new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail, $"plugin/{Name}: no next plugin found"));

    public override string ToString() => Name;
}
