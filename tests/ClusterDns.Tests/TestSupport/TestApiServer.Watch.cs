using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace ClusterDns.Tests.TestSupport;

/// <summary>WATCH: the event history, the chunked JSON-lines streams replayed from it, and BOOKMARKs.</summary>
public sealed partial class TestApiServer
{
    public int ActiveWatches(ApiResource r)
    {
        lock (_gate)
        {
            return _subscribers.Count(s => s.Resource == r);
        }
    }

    /// <summary>Sends a BOOKMARK with the current resourceVersion on every open watch that asked for bookmarks.</summary>
    public void SendBookmarks()
    {
        lock (_gate)
        {
            foreach (var s in _subscribers)
            {
                if (s.Bookmarks)
                {
                    s.Lines.Writer.TryWrite(BookmarkLine(s.Resource, _rv));
                }
            }
        }
    }

    private async Task WatchAsync(HttpContext ctx, ApiResource r, string? rvText, string? labels, string? fields, bool bookmarks, int timeoutSeconds)
    {
        var sub = new Subscriber(r, labels, fields, bookmarks);
        var backlog = new List<string>();
        bool expired = false;
        long fromRv = 0;
        lock (_gate)
        {
            // No (or "0") resourceVersion means "from now" here; the reflector always passes one.
            fromRv = long.TryParse(rvText, out var v) && v > 0 ? v : _rv;
            if (fromRv < _compactedRv)
            {
                expired = true;
            }
            else
            {
                foreach (var e in _history)
                {
                    if (e.Rv > fromRv && e.Resource == r && sub.Render(e) is { } line)
                    {
                        backlog.Add(line);
                    }
                }
                _subscribers.Add(sub);
            }
        }

        if (expired)
        {
            var message = $"too old resource version: {fromRv} ({_compactedRv})";
            if (GoneAsHttpStatus)
            {
                await WriteStatus(ctx, 410, "Expired", message);
                return;
            }

            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("{\"type\":\"ERROR\",\"object\":" + StatusJson(410, "Expired", message) + "}\n");
            return;
        }

        try
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.StartAsync();
            foreach (var line in backlog)
            {
                await WriteLine(ctx, line);
            }

            using var timeout = new CancellationTokenSource(HangWatches ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(timeoutSeconds));
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, sub.CutToken, ctx.RequestAborted);
            try
            {
                while (true)
                {
                    var line = await sub.Lines.Reader.ReadAsync(linked.Token);
                    if (!HangWatches)
                    {
                        await WriteLine(ctx, line);
                    }
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !sub.CutToken.IsCancellationRequested)
            {
                // Normal end of a watch: a real server sends a final bookmark first.
                if (bookmarks && BookmarkBeforeTimeout)
                {
                    await WriteLine(ctx, BookmarkLine(r, ResourceVersion));
                }
            }
            catch (OperationCanceledException)
            {
                if (sub.Aborted)
                {
                    ctx.Abort();
                }
                else
                {
                    // A clean cut still delivers what was already queued, like a server closing after its last write.
                    while (sub.Lines.Reader.TryRead(out var queued))
                    {
                        await WriteLine(ctx, queued);
                    }
                }
            }
        }
        catch (Exception) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(sub);
            }
        }
    }

    private static async Task WriteLine(HttpContext ctx, string line)
    {
        await ctx.Response.WriteAsync(line + "\n", ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    private void Publish(HistoryEntry e)
    {
        _history.Add(e);
        foreach (var s in _subscribers)
        {
            if (s.Resource == e.Resource && s.Render(e) is { } line)
            {
                s.Lines.Writer.TryWrite(line);
            }
        }
    }

    private static string BookmarkLine(ApiResource r, long rv)
    {
        var (apiVersion, kind) = TypeOf(r);
        return $"{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{kind}\",\"apiVersion\":\"{apiVersion}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"}}}}}}";
    }

    private sealed record HistoryEntry(long Rv, ApiResource Resource, string Type, JsonObject Obj, JsonObject? Prev);

    private sealed class Subscriber(ApiResource resource, string? labels, string? fields, bool bookmarks)
    {
        private readonly CancellationTokenSource _cut = new();

        public ApiResource Resource => resource;
        public bool Bookmarks => bookmarks;
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();
        public CancellationToken CutToken => _cut.Token;
        public bool Aborted { get; private set; }

        public void Cut(bool abort)
        {
            Aborted = abort;
            _cut.Cancel();
        }

        /// <summary>The event as this watcher sees it, honouring selectors (moving out of a selector is a DELETED).</summary>
        public string? Render(HistoryEntry e)
        {
            bool now = Matches(e.Obj);
            string? type = e.Type switch
            {
                "MODIFIED" when e.Prev is not null && Matches(e.Prev) => now ? "MODIFIED" : "DELETED",
                "MODIFIED" => now ? "ADDED" : null,
                _ => now || (e.Prev is not null && Matches(e.Prev)) ? e.Type : null,
            };
            return type is null ? null : "{\"type\":\"" + type + "\",\"object\":" + e.Obj.ToJsonString() + "}";
        }

        private bool Matches(JsonObject o) => Selectors.MatchesLabels(labels, o) && Selectors.MatchesFields(fields, o);
    }
}
