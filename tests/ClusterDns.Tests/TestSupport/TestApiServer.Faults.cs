using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Fault injection: how the server misbehaves on purpose (hung lists and watches, 410 as HTTP status, cut watch
/// streams, dropped connections, an outage with 503).</summary>
public sealed partial class TestApiServer
{
    /// <summary>Answer a watch from a compacted resourceVersion with HTTP 410 instead of a 200 + ERROR event.</summary>
    public bool GoneAsHttpStatus { get; set; }

    /// <summary>Whether watches get a BOOKMARK with the latest resourceVersion before they time out (real servers do).</summary>
    public bool BookmarkBeforeTimeout { get; set; } = true;

    /// <summary>Keep watch streams open past their timeoutSeconds and send nothing (a silent, half-open watch).</summary>
    public bool HangWatches { get; set; }

    /// <summary>Hold every LIST request unanswered until the client gives up (a hung list).</summary>
    public bool HangLists { get; set; }

    /// <summary>Open TCP connections (idle keep-alive ones included), by Kestrel connection id.</summary>
    private ConcurrentDictionary<string, ConnectionContext> _connections = new();

    /// <summary>Ends every open watch stream: by resetting the connection (<paramref name="abort"/>) or a clean close.</summary>
    public void CutWatches(bool abort = true)
    {
        lock (_gate)
        {
            foreach (var s in _subscribers)
            {
                s.Cut(abort);
            }
        }
    }

    /// <summary>Closes every TCP connection, idle keep-alive ones included (as an API server restart or a proxy would).</summary>
    public void DropConnections()
    {
        CutWatches(abort: true);
        foreach (var connection in _connections.Values)
        {
            connection.Abort(new ConnectionAbortedException("dropped by the test API server"));
        }
    }

    /// <summary>Open TCP connections, idle keep-alive ones included.</summary>
    public int Connections => _connections.Count;

    /// <summary>While down every request gets 503 and open watches are reset.</summary>
    public void SetOutage(bool down)
    {
        _outage = down;
        if (down)
        {
            CutWatches(abort: true);
        }
    }
}
