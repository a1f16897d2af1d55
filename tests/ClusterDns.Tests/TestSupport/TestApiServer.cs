using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
public sealed partial class TestApiServer : IAsyncDisposable
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
}
