using System.Net;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Benchmarks.Kubernetes;

/// <summary>
/// The big synthetic cluster (shape of bench/load/peers/gen-k8s.py, scaled up): <c>ns-0..ns-99</c>; services
/// <c>svc-i</c> (ClusterIP 10.96.0.0/12, one port http 80/TCP), every tenth one headless; one EndpointSlice per
/// service holding <c>EndpointsPerService</c> ready endpoints (hostnames <c>ep-e</c> on headless services); pods
/// <c>pod-j</c> whose first ones are the endpoints. Objects are rendered to JSON on demand from their index, so the
/// API server holds no per-object memory and LIST pages (limit/continue) cost only rendering.
/// </summary>
internal sealed class ScaleCluster(int services, int endpoints, int pods)
{
    public const int Namespaces = 100;

    public int Services { get; } = services;

    public int Endpoints { get; } = endpoints;

    public int Pods { get; } = pods;

    public int EndpointsPerService => Services == 0 ? 0 : Math.Max(1, Endpoints / Services);

    /// <summary>Per-object overrides set by watch events (index → value).</summary>
    public Dictionary<int, string> ServiceIpOverride { get; } = [];

    public Dictionary<int, string> SliceIpOverride { get; } = [];

    public static string Ns(int i) => "ns-" + (i % Namespaces);

    public static bool Headless(int i) => i % 10 == 9;

    public static string ClusterIp(int i)
    {
        var n = 256 + i;
        return $"10.{96 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}";
    }

    public static string PodIp(int j) => $"10.{128 + (j >> 16)}.{(j >> 8) & 0xFF}.{j & 0xFF}";

    public string ServiceJson(int i, long rv)
    {
        var ip = Headless(i) ? "None" : ServiceIpOverride.GetValueOrDefault(i, ClusterIp(i));
        return "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-" + i + "\",\"namespace\":\"" + Ns(i)
            + "\",\"uid\":\"" + Guid(i, 1) + "\",\"resourceVersion\":\"" + rv + "\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
            + "\"labels\":{\"app\":\"svc-" + i + "\"}},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"" + ip + "\",\"clusterIPs\":[\"" + ip
            + "\"],\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"sessionAffinity\":\"None\",\"internalTrafficPolicy\":\"Cluster\","
            + "\"selector\":{\"app\":\"svc-" + i + "\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]},"
            + "\"status\":{\"loadBalancer\":{}}}";
    }

    public string SliceJson(int i, long rv)
    {
        var b = new StringBuilder(512);
        b.Append("{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"svc-").Append(i).Append("-x\",\"namespace\":\"")
            .Append(Ns(i)).Append("\",\"uid\":\"").Append(Guid(i, 2)).Append("\",\"resourceVersion\":\"").Append(rv)
            .Append("\",\"generateName\":\"svc-").Append(i).Append("-\",\"labels\":{\"kubernetes.io/service-name\":\"svc-").Append(i)
            .Append("\",\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"}},\"addressType\":\"IPv4\",")
            .Append("\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":[");
        for (var e = 0; e < EndpointsPerService; e++)
        {
            var j = i * EndpointsPerService + e;
            var ip = e == 0 && SliceIpOverride.TryGetValue(i, out var o) ? o : PodIp(j);
            if (e > 0)
            {
                b.Append(',');
            }
            b.Append("{\"addresses\":[\"").Append(ip).Append("\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},");
            if (Headless(i))
            {
                b.Append("\"hostname\":\"ep-").Append(e).Append("\",");
            }
            b.Append("\"nodeName\":\"node-").Append(j % 500).Append("\",\"zone\":\"zone-").Append(j % 3)
                .Append("\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"").Append(Ns(i)).Append("\",\"name\":\"pod-").Append(j)
                .Append("\",\"uid\":\"").Append(Guid(j, 3)).Append("\"}}");
        }
        return b.Append("]}").ToString();
    }

    public string PodJson(int j, long rv)
    {
        // Owner service of the pod's endpoint (or a spread for pods not behind a service).
        var svc = EndpointsPerService == 0 ? j : j / EndpointsPerService;
        var ns = Ns(svc);
        return "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod-" + j + "\",\"namespace\":\"" + ns + "\",\"uid\":\"" + Guid(j, 3)
            + "\",\"resourceVersion\":\"" + rv + "\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\",\"labels\":{\"app\":\"svc-" + svc
            + "\",\"pod-template-hash\":\"7f9c6d\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"svc-" + svc
            + "-7f9c6d\",\"uid\":\"" + Guid(svc, 4) + "\",\"controller\":true}]},\"spec\":{\"nodeName\":\"node-" + (j % 500)
            + "\",\"containers\":[{\"name\":\"app\",\"image\":\"registry.example/app:1.0\",\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}],"
            + "\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"16Mi\"}}}],\"restartPolicy\":\"Always\",\"serviceAccountName\":\"default\"},"
            + "\"status\":{\"phase\":\"Running\",\"hostIP\":\"192.168." + (j % 500 / 256) + "." + (j % 256) + "\",\"podIP\":\"" + PodIp(j)
            + "\",\"podIPs\":[{\"ip\":\"" + PodIp(j) + "\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
            + "\"startTime\":\"2026-01-01T00:00:00Z\"}}";
    }

    public static string NamespaceJson(int n, long rv) =>
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + (n == Namespaces ? "default" : "ns-" + n)
        + "\",\"resourceVersion\":\"" + rv + "\"},\"status\":{\"phase\":\"Active\"}}";

    private static string Guid(int i, int kind) => $"{kind:x8}-0000-4000-8000-{i:x12}";
}

/// <summary>
/// A list/watch API server for <see cref="ScaleCluster"/>, run as a separate process (<c>k8s-apiserver</c>) so its
/// memory never counts against the DNS side: paged LIST (limit/continue), WATCH streams of JSON lines, and
/// <c>POST /control/service?i=&amp;ip=</c> / <c>/control/slice?i=&amp;ip=</c> to publish a MODIFIED event.
/// </summary>
internal static class ScaleApiServer
{
    public static async Task RunAsync(int services, int endpoints, int pods)
    {
        var cluster = new ScaleCluster(services, endpoints, pods);
        var gate = new Lock();
        long rv = 1000;
        var subscribers = new List<(string Resource, Channel<string> Lines)>();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            var path = ctx.Request.Path.Value ?? "";
            var q = ctx.Request.Query;
            if (path.StartsWith("/control/", StringComparison.Ordinal))
            {
                var i = int.Parse(q["i"]!, System.Globalization.CultureInfo.InvariantCulture);
                string resource, line;
                lock (gate)
                {
                    var next = ++rv;
                    if (path == "/control/service")
                    {
                        cluster.ServiceIpOverride[i] = q["ip"]!;
                        resource = "services";
                        line = "{\"type\":\"MODIFIED\",\"object\":" + cluster.ServiceJson(i, next) + "}\n";
                    }
                    else
                    {
                        cluster.SliceIpOverride[i] = q["ip"]!;
                        resource = "endpointslices";
                        line = "{\"type\":\"MODIFIED\",\"object\":" + cluster.SliceJson(i, next) + "}\n";
                    }
                    foreach (var (r, lines) in subscribers)
                    {
                        if (r == resource)
                        {
                            lines.Writer.TryWrite(line);
                        }
                    }
                }
                await ctx.Response.WriteAsync("ok");
                return;
            }

            var (kind, count) = path switch
            {
                "/api/v1/namespaces" => ("namespaces", ScaleCluster.Namespaces + 1),
                "/api/v1/services" => ("services", services),
                "/apis/discovery.k8s.io/v1/endpointslices" => ("endpointslices", services),
                "/api/v1/pods" => ("pods", pods),
                _ => ("", 0),
            };
            if (kind.Length == 0)
            {
                ctx.Response.StatusCode = 404;
                return;
            }
            ctx.Response.ContentType = "application/json";
            if (q["watch"] == "true" || q["watch"] == "1")
            {
                var lines = Channel.CreateUnbounded<string>();
                var entry = (kind, lines);
                lock (gate)
                {
                    subscribers.Add(entry);
                }
                var timeout = int.TryParse(q["timeoutSeconds"], out var t) && t > 0 ? t : 300;
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
                cts.CancelAfter(TimeSpan.FromSeconds(timeout));
                try
                {
                    await ctx.Response.StartAsync(cts.Token);
                    await ctx.Response.Body.FlushAsync(cts.Token);
                    while (true)
                    {
                        var line = await lines.Reader.ReadAsync(cts.Token);
                        await ctx.Response.WriteAsync(line, cts.Token);
                        await ctx.Response.Body.FlushAsync(cts.Token);
                    }
                }
                catch (OperationCanceledException)
                {
                    // Watch timeout or client gone: the reflector re-watches.
                }
                finally
                {
                    lock (gate)
                    {
                        subscribers.Remove(entry);
                    }
                }
                return;
            }

            var limit = int.TryParse(q["limit"], out var l) && l > 0 ? l : int.MaxValue;
            var start = int.TryParse(q["continue"], out var c) ? c : 0;
            var end = (int)Math.Min(count, (long)start + limit);
            long listRv;
            lock (gate)
            {
                listRv = rv;
            }
            var body = new StringBuilder(1024 * Math.Max(1, end - start));
            body.Append("{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"").Append(listRv).Append('"');
            if (end < count)
            {
                body.Append(",\"continue\":\"").Append(end).Append('"');
            }
            body.Append("},\"items\":[");
            for (var k = start; k < end; k++)
            {
                if (k > start)
                {
                    body.Append(',');
                }
                body.Append(kind switch
                {
                    "namespaces" => ScaleCluster.NamespaceJson(k, listRv),
                    "services" => cluster.ServiceJson(k, listRv),
                    "endpointslices" => cluster.SliceJson(k, listRv),
                    _ => cluster.PodJson(k, listRv),
                });
            }
            body.Append("]}");
            await ctx.Response.WriteAsync(body.ToString());
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine("listening " + address);
        Console.Out.Flush();
        // Runs until the parent closes stdin.
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
    }
}
