using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Tests.TestSupport;

/// <summary>The resources the test API server serves, cluster-wide.</summary>
public enum ApiResource { Namespaces, Services, EndpointSlices, Pods, ServiceImports }

/// <summary>One list or watch request the test API server served: when, with which credentials, for what.</summary>
public sealed record ApiRequest(DateTime Time, string? Authorization, ApiResource Resource, bool Watch);

/// <summary>
/// How a <see cref="TestApiServer"/> listens and whom it lets in: HTTPS with <see cref="Certificate"/>, a required
/// bearer <see cref="Token"/> (else 401), and <see cref="Authorize"/> deciding each (verb, API group, resource) as
/// RBAC would (else 403 with the API server's message).
/// </summary>
public sealed record TestApiServerOptions
{
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    public int Port { get; init; }

    public X509Certificate2? Certificate { get; init; }

    public string? Token { get; init; }

    /// <summary>The user the token stands for, as the API server names it in a 403.</summary>
    public string User { get; init; } = "system:serviceaccount:kube-system:coredns";

    public Func<string, string, string, bool>? Authorize { get; init; }
}

/// <summary>
/// A small in-process Kubernetes API server (Kestrel on 127.0.0.1, or HTTPS on any address with bearer-token and
/// RBAC checks: <see cref="TestApiServerOptions"/>) speaking the real list/watch protocol for
/// namespaces, services, endpointslices, pods and (MCS) serviceimports: paged LIST (limit/continue, 410 for an expired continue),
/// label and field selectors, WATCH as a chunked JSON-lines stream replayed from an event history after the given
/// resourceVersion, BOOKMARKs, 410 Gone (as an ERROR event or as HTTP status) after compaction, and fault
/// injection (cut streams, outage with 503).
/// </summary>
public sealed class TestApiServer : IAsyncDisposable
{
    private static readonly ApiResource[] AllResources = Enum.GetValues<ApiResource>();

    private readonly Lock _gate = new();
    private readonly Dictionary<ApiResource, SortedDictionary<string, JsonObject>> _objects = [];
    private readonly List<HistoryEntry> _history = [];
    private readonly List<Subscriber> _subscribers = [];
    private readonly int[] _lists = new int[AllResources.Length];
    private readonly int[] _watches = new int[AllResources.Length];
    private readonly string?[] _lastWatchRv = new string?[AllResources.Length];
    private readonly WebApplication _app;
    private long _rv = 1;
    private long _compactedRv = 1;
    private volatile bool _outage;
    private readonly TestApiServerOptions _options;
    private int _unauthorized;
    private int _forbidden;
    private readonly System.Collections.Concurrent.ConcurrentQueue<ApiRequest> _requests = new();

    private TestApiServer(WebApplication app, TestApiServerOptions options)
    {
        _app = app;
        _options = options;
        foreach (var r in AllResources)
        {
            _objects[r] = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        }
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:34567</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>The current (latest) resourceVersion.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _rv;
            }
        }
    }

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

    /// <summary>The Authorization header of the latest request (null if none).</summary>
    public string? LastAuthorization { get; private set; }

    /// <summary>Starts listening on 127.0.0.1:<paramref name="port"/> (0 = any free port).</summary>
    public static Task<TestApiServer> StartAsync(int port = 0) => StartAsync(new TestApiServerOptions { Port = port });

    public static async Task<TestApiServer> StartAsync(TestApiServerOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var connections = new ConcurrentDictionary<string, ConnectionContext>();
        builder.WebHost.UseKestrel(o => o.Listen(options.Address, options.Port, listen =>
        {
            listen.Use(next => async connection =>
            {
                connections[connection.ConnectionId] = connection;
                try
                {
                    await next(connection);
                }
                finally
                {
                    connections.TryRemove(connection.ConnectionId, out _);
                }
            });
            if (options.Certificate is { } certificate)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var server = new TestApiServer(app, options) { _connections = connections };
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        server.Url = addresses.Addresses.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    /// <summary>Every list and watch request served so far, in arrival order (refused ones are not listed).</summary>
    public IReadOnlyList<ApiRequest> Requests => [.. _requests];

    /// <summary>Requests refused with 401 (no or wrong bearer token).</summary>
    public int Unauthorized => Volatile.Read(ref _unauthorized);

    /// <summary>Requests refused with 403 (not granted by <see cref="TestApiServerOptions.Authorize"/>).</summary>
    public int Forbidden => Volatile.Read(ref _forbidden);

    public int ListRequests(ApiResource r) => Volatile.Read(ref _lists[(int)r]);

    public int WatchRequests(ApiResource r) => Volatile.Read(ref _watches[(int)r]);

    /// <summary>The resourceVersion parameter of the latest watch request for <paramref name="r"/>.</summary>
    public string? LastWatchResourceVersion(ApiResource r) => Volatile.Read(ref _lastWatchRv[(int)r]);

    public int ActiveWatches(ApiResource r)
    {
        lock (_gate)
        {
            return _subscribers.Count(s => s.Resource == r);
        }
    }

    /// <summary>Loads a list document (e.g. <c>example-servicelist.json</c>) as the initial state, without watch history.</summary>
    public void LoadList(string json)
    {
        var list = JsonNode.Parse(json)!.AsObject();
        var listKind = list["kind"]?.GetValue<string>() ?? "List";
        lock (_gate)
        {
            foreach (var item in list["items"]!.AsArray())
            {
                var obj = item!.DeepClone().AsObject();
                var kind = obj["kind"]?.GetValue<string>() ?? listKind[..^4];
                var r = ResourceOfKind(kind);
                Normalize(r, obj);
                if (obj["metadata"]!["resourceVersion"] is null)
                {
                    obj["metadata"]!["resourceVersion"] = (++_rv).ToString();
                }
                _objects[r][Key(obj)] = obj;
            }

            if (long.TryParse(list["metadata"]?["resourceVersion"]?.GetValue<string>(), out var listRv) && listRv > _rv)
            {
                _rv = listRv;
            }
            // Loaded objects have no history: a watch from before this point is told to relist.
            _compactedRv = _rv;
        }
    }

    /// <summary>Creates or replaces an object (ADDED or MODIFIED event); returns its new resourceVersion.</summary>
    public long Upsert(IKubernetesObject<V1ObjectMeta> obj)
    {
        var r = ResourceOf(obj);
        var json = JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject();
        Normalize(r, json);
        lock (_gate)
        {
            var rv = ++_rv;
            json["metadata"]!["resourceVersion"] = rv.ToString();
            var key = Key(json);
            _objects[r].TryGetValue(key, out var prev);
            _objects[r][key] = json;
            Publish(new HistoryEntry(rv, r, prev is null ? "ADDED" : "MODIFIED", json, prev));
            return rv;
        }
    }

    /// <summary>Deletes an object (DELETED event); false if it did not exist.</summary>
    public bool Delete(ApiResource r, string? ns, string name)
    {
        lock (_gate)
        {
            var key = (ns ?? "") + "/" + name;
            if (!_objects[r].Remove(key, out var prev))
            {
                return false;
            }
            var rv = ++_rv;
            var json = prev.DeepClone().AsObject();
            json["metadata"]!["resourceVersion"] = rv.ToString();
            Publish(new HistoryEntry(rv, r, "DELETED", json, prev));
            return true;
        }
    }

    /// <summary>Forgets the event history: watches from any older resourceVersion now get 410 Gone.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _history.Clear();
            _compactedRv = _rv;
        }
    }

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

    /// <summary>The objects currently stored (as JSON), optionally filtered like a LIST would filter them.</summary>
    public IReadOnlyList<string> Objects(ApiResource r, string? labelSelector = null, string? fieldSelector = null)
    {
        lock (_gate)
        {
            return _objects[r].Values.Where(o => Selectors.MatchesLabels(labelSelector, o) && Selectors.MatchesFields(fieldSelector, o))
                .Select(o => o.ToJsonString()).ToList();
        }
    }

    public async ValueTask DisposeAsync()
    {
        CutWatches(abort: true);
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        LastAuthorization = ctx.Request.Headers.Authorization.Count > 0 ? ctx.Request.Headers.Authorization.ToString() : null;
        if (_outage)
        {
            await WriteStatus(ctx, 503, "ServiceUnavailable", "the test API server is down");
            return;
        }

        if (_options.Token is { } token && LastAuthorization != "Bearer " + token)
        {
            Interlocked.Increment(ref _unauthorized);
            await WriteStatus(ctx, 401, "Unauthorized", "Unauthorized");
            return;
        }
        if (_options.Authorize is { } authorize && !Authorized(ctx, authorize, out var denial))
        {
            Interlocked.Increment(ref _forbidden);
            await WriteStatus(ctx, 403, "Forbidden", denial);
            return;
        }

        ApiResource? resource = ctx.Request.Path.Value switch
        {
            "/api/v1/namespaces" => ApiResource.Namespaces,
            "/api/v1/services" => ApiResource.Services,
            "/apis/discovery.k8s.io/v1/endpointslices" => ApiResource.EndpointSlices,
            "/api/v1/pods" => ApiResource.Pods,
            "/apis/multicluster.x-k8s.io/v1alpha1/serviceimports" => ApiResource.ServiceImports,
            _ => null,
        };
        if (resource is not { } r || ctx.Request.Method != "GET")
        {
            await WriteStatus(ctx, 404, "NotFound", "the server could not find the requested resource");
            return;
        }

        var q = ctx.Request.Query;
        var labels = NullIfEmpty(q["labelSelector"]);
        var fields = NullIfEmpty(q["fieldSelector"]);
        var watch = q["watch"] == "true" || q["watch"] == "1";
        var authorization = ctx.Request.Headers.Authorization.Count > 0 ? ctx.Request.Headers.Authorization.ToString() : null;
        _requests.Enqueue(new ApiRequest(DateTime.UtcNow, authorization, r, watch));
        if (watch)
        {
            Volatile.Write(ref _lastWatchRv[(int)r], q["resourceVersion"].ToString());
            Interlocked.Increment(ref _watches[(int)r]);
            int timeout = int.TryParse(q["timeoutSeconds"], out var t) && t > 0 ? t : 1800;
            await WatchAsync(ctx, r, NullIfEmpty(q["resourceVersion"]), labels, fields, q["allowWatchBookmarks"] == "true", timeout);
        }
        else
        {
            Interlocked.Increment(ref _lists[(int)r]);
            while (HangLists && !ctx.RequestAborted.IsCancellationRequested)
            {
                await Task.Delay(50, CancellationToken.None);
            }
            int limit = int.TryParse(q["limit"], out var l) && l > 0 ? l : int.MaxValue;
            await ListAsync(ctx, r, labels, fields, limit, NullIfEmpty(q["continue"]));
        }
    }

    private async Task ListAsync(HttpContext ctx, ApiResource r, string? labels, string? fields, int limit, string? cont)
    {
        long listRv;
        string after = "";
        var page = new List<JsonObject>();
        string? next = null;
        lock (_gate)
        {
            listRv = _rv;
            if (cont is not null)
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(cont)).Split('|', 2);
                listRv = long.Parse(parts[0]);
                after = parts[1];
                if (listRv < _compactedRv)
                {
                    next = "expired";
                }
            }

            if (next is null)
            {
                foreach (var (key, obj) in _objects[r])
                {
                    if (string.CompareOrdinal(key, after) <= 0 && cont is not null)
                    {
                        continue;
                    }
                    if (!Selectors.MatchesLabels(labels, obj) || !Selectors.MatchesFields(fields, obj))
                    {
                        continue;
                    }
                    if (page.Count == limit)
                    {
                        next = Convert.ToBase64String(Encoding.UTF8.GetBytes(listRv + "|" + Key(page[^1])));
                        break;
                    }

                    page.Add(obj.DeepClone().AsObject());
                }
            }
        }

        if (next == "expired")
        {
            await WriteStatus(ctx, 410, "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
            return;
        }

        var (apiVersion, kind) = TypeOf(r);
        var meta = new JsonObject { ["resourceVersion"] = listRv.ToString() };
        if (next is not null)
        {
            meta["continue"] = next;
        }
        var body = new JsonObject
        {
            ["kind"] = kind + "List",
            ["apiVersion"] = apiVersion,
            ["metadata"] = meta,
            ["items"] = new JsonArray(page.ToArray<JsonNode?>()),
        };
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString());
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

    // Never through KubernetesJson: serializing a V1Status throws NotImplementedException.
    private static string StatusJson(int code, string reason, string message) =>
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
        + JsonSerializer.Serialize(message) + ",\"reason\":\"" + reason + "\",\"code\":" + code + "}";

    /// <summary>The request's verb, group and resource from its path (<c>/api/v1/R</c>, <c>/apis/G/V/R</c>, with an
    /// optional <c>namespaces/NS/</c>), judged by <paramref name="authorize"/>.</summary>
    private bool Authorized(HttpContext ctx, Func<string, string, string, bool> authorize, out string denial)
    {
        var segments = (ctx.Request.Path.Value ?? "/").Trim('/').Split('/');
        var core = segments[0] == "api";
        var group = core || segments.Length < 2 ? "" : segments[1];
        var rest = segments.AsSpan(Math.Min(core ? 2 : 3, segments.Length));
        var scope = "at the cluster scope";
        if (rest.Length >= 3 && rest[0] == "namespaces")
        {
            scope = $"in the namespace \"{rest[1]}\"";
            rest = rest[2..];
        }
        var resource = rest.Length > 0 ? rest[0] : "";
        var q = ctx.Request.Query;
        var verb = ctx.Request.Method != "GET" ? ctx.Request.Method.ToLowerInvariant()
            : q["watch"] == "true" || q["watch"] == "1" ? "watch"
            : rest.Length > 1 ? "get" : "list";
        denial = $"{resource} is forbidden: User \"{_options.User}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}";
        return authorize(verb, group, resource);
    }

    private static async Task WriteStatus(HttpContext ctx, int code, string reason, string message)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(StatusJson(code, reason, message));
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string Key(JsonObject obj) =>
        (obj["metadata"]?["namespace"]?.GetValue<string>() ?? "") + "/" + obj["metadata"]!["name"]!.GetValue<string>();

    private static void Normalize(ApiResource r, JsonObject obj)
    {
        var (apiVersion, kind) = TypeOf(r);
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        if (r == ApiResource.Namespaces)
        {
            obj["metadata"]!.AsObject().Remove("namespace");
        }
    }

    private static (string ApiVersion, string Kind) TypeOf(ApiResource r) => r switch
    {
        ApiResource.Namespaces => ("v1", "Namespace"),
        ApiResource.Services => ("v1", "Service"),
        ApiResource.EndpointSlices => ("discovery.k8s.io/v1", "EndpointSlice"),
        ApiResource.ServiceImports => ("multicluster.x-k8s.io/v1alpha1", "ServiceImport"),
        _ => ("v1", "Pod"),
    };

    private static ApiResource ResourceOfKind(string kind) => kind switch
    {
        "Namespace" => ApiResource.Namespaces,
        "Service" => ApiResource.Services,
        "EndpointSlice" => ApiResource.EndpointSlices,
        "Pod" => ApiResource.Pods,
        "ServiceImport" => ApiResource.ServiceImports,
        _ => throw new ArgumentException($"unsupported kind {kind}"),
    };

    private static ApiResource ResourceOf(IKubernetesObject<V1ObjectMeta> obj) => obj switch
    {
        V1Namespace => ApiResource.Namespaces,
        V1Service => ApiResource.Services,
        V1EndpointSlice => ApiResource.EndpointSlices,
        V1Pod => ApiResource.Pods,
        ClusterDns.Kubernetes.V1Alpha1ServiceImport => ApiResource.ServiceImports,
        _ => throw new ArgumentException($"unsupported object type {obj.GetType().Name}"),
    };

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
