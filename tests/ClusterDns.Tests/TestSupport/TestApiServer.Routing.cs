using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Http;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Routing and LIST: authentication and RBAC checks, the URL grammar, paged and filtered lists, status replies.</summary>
public sealed partial class TestApiServer
{
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
}
