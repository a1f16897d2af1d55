namespace ClusterDns.Server;

/// <summary>
/// TCP settings a Corefile sets for one listener (the <c>timeouts</c> plugin); a null field keeps the host default of
/// <see cref="ListenerOptions"/>. Carried by the listener's <see cref="ListenerRoutes"/>, so a reload changes them
/// without reopening sockets (connections already open keep counting from what they started with).
/// </summary>
public sealed record TcpSettings
{
    /// <summary>A started frame must arrive within this time (CoreDNS: <c>read</c>).</summary>
    public TimeSpan? Read { get; init; }

    /// <summary>An answer must be handed to the socket within this time (<c>write</c>).</summary>
    public TimeSpan? Write { get; init; }

    /// <summary>A connection waiting for its next query is closed after this time (<c>idle</c>).</summary>
    public TimeSpan? Idle { get; init; }

    /// <summary>Queries served on one connection before it is closed; -1 unlimited (<c>maxtcpqueries</c>).</summary>
    public int? MaxQueries { get; init; }

    /// <summary>Most connections on the listener (ClusterDns extension <c>max_connections</c>).</summary>
    public int? MaxConnections { get; init; }

    /// <summary>Most connections from one client address (ClusterDns extension <c>max_connections_per_client</c>).</summary>
    public int? MaxConnectionsPerClient { get; init; }

    /// <summary>This block's values over <paramref name="earlier"/>'s (several blocks can share a listener: the last
    /// one that sets a value wins, as CoreDNS builds one server from its blocks).</summary>
    public TcpSettings Over(TcpSettings? earlier) => earlier is null ? this : new TcpSettings
    {
        Read = Read ?? earlier.Read,
        Write = Write ?? earlier.Write,
        Idle = Idle ?? earlier.Idle,
        MaxQueries = MaxQueries ?? earlier.MaxQueries,
        MaxConnections = MaxConnections ?? earlier.MaxConnections,
        MaxConnectionsPerClient = MaxConnectionsPerClient ?? earlier.MaxConnectionsPerClient,
    };
}
