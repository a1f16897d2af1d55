using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Benchmarks.Kubernetes;

/// <summary>
/// <c>k8s-scale [services endpoints pods samples [verified|disabled|insecure]]</c> (pods mode, default verified): big-cluster sync time, memory and DNS programming latency of the
/// kubernetes plugin in a real server. Each size runs in a fresh child process (<c>k8s-scale-run</c>), which starts
/// the API server as a further child (<c>k8s-apiserver</c>) so only the DNS side is measured; an empty cluster is
/// run too, so the per-object slope excludes the runtime's fixed cost.
/// </summary>
internal static class ScaleRunner
{
    public static async Task<int> MainAsync(string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : fallback;
        switch (args[0])
        {
            case "k8s-apiserver":
                await ScaleApiServer.RunAsync(Arg(1, 0), Arg(2, 0), Arg(3, 0));
                return 0;
            case "k8s-scale-run":
                await RunOneAsync(Arg(1, 0), Arg(2, 0), Arg(3, 0), Arg(4, 0), args[5]);
                return 0;
        }

        int services = Arg(1, 50_000), endpoints = Arg(2, 100_000), pods = Arg(3, 200_000), samples = Arg(4, 1_000);
        // `pods verified` watches and stores every pod; `pods disabled` (CoreDNS's default) watches none.
        var podsMode = args.Length > 5 ? args[5] : "verified";
        if (podsMode is not ("verified" or "disabled" or "insecure"))
        {
            Console.Error.WriteLine($"pods mode must be verified, insecure or disabled, not '{podsMode}'");
            return 2;
        }
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInfo()}");
        var empty = Parse(await RunChildAsync("k8s-scale-run", 0, 0, 0, 0, podsMode));
        var big = Parse(await RunChildAsync("k8s-scale-run", services, endpoints, pods, samples, podsMode));
        var objects = services + pods;
        var slope = (big["rss_mb"] - empty["rss_mb"]) * 1024 * 1024 / objects;
        var heapSlope = (big["heap_mb"] - empty["heap_mb"]) * 1024 * 1024 / objects;
        // CoreDNS's Scaling_CoreDNS.md: (Pods + Services) / 1000 + 54 MB by default, / 250 + 56 MB with pods verified.
        var (perThousand, fixedMb) = podsMode == "verified" ? (4.0, 56.0) : (1.0, 54.0);
        var coredns = objects / 1000.0 * perThousand + fixedMb;
        Console.WriteLine();
        Console.WriteLine($"| cluster | sync s | RSS MB | managed heap MB | peak RSS MB |");
        Console.WriteLine($"|---|---|---|---|---|");
        Console.WriteLine($"| empty | {empty["sync_s"]:F2} | {empty["rss_mb"]:F0} | {empty["heap_mb"]:F1} | {empty["peak_mb"]:F0} |");
        Console.WriteLine($"| {services:N0} svc + {endpoints:N0} endpoints + {pods:N0} pods (pods {podsMode}) | {big["sync_s"]:F2} | {big["rss_mb"]:F0} | {big["heap_mb"]:F1} | {big["peak_mb"]:F0} |");
        Console.WriteLine();
        var ours = slope * 1000 / 1024 / 1024;
        Console.WriteLine($"RSS slope: {slope:F0} B per (pod + service) = {ours:F3} MB per 1000; CoreDNS's formula for pods {podsMode}: "
            + $"{perThousand:F0} MB per 1000, so {ours / perThousand:F2}× its slope (target ≤ 0.25×)");
        Console.WriteLine($"managed heap slope: {heapSlope:F0} B per (pod + service)");
        Console.WriteLine($"CoreDNS formula for this cluster: {coredns:F0} MB; ours: {big["rss_mb"]:F0} MB");
        if (big.ContainsKey("p50_ms"))
        {
            Console.WriteLine($"DNS programming latency ({big["samples"]:F0} samples, Upsert → new answer over UDP): "
                + $"p50 {big["p50_ms"]:F2} ms, p90 {big["p90_ms"]:F2} ms, p99 {big["p99_ms"]:F2} ms, max {big["max_ms"]:F2} ms");
        }
        return 0;
    }

    private static string RuntimeInfo() =>
        $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";

    private static Dictionary<string, double> Parse(string output)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith("RESULT ", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var pair in line[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split('=');
                result[kv[0]] = double.Parse(kv[1], CultureInfo.InvariantCulture);
            }
        }
        return result;
    }

    private static ProcessStartInfo Self(params object[] args)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }
        foreach (var a in args)
        {
            info.ArgumentList.Add(Convert.ToString(a, CultureInfo.InvariantCulture)!);
        }
        return info;
    }

    private static async Task<string> RunChildAsync(params object[] args)
    {
        using var child = Process.Start(Self(args))!;
        var output = new System.Text.StringBuilder();
        string? line;
        while ((line = await child.StandardOutput.ReadLineAsync()) is not null)
        {
            Console.WriteLine("  " + line);
            output.AppendLine(line);
        }
        await child.WaitForExitAsync();
        return output.ToString();
    }

    private static async Task RunOneAsync(int services, int endpoints, int pods, int samples, string podsMode)
    {
        using var api = Process.Start(Self("k8s-apiserver", services, endpoints, pods))!;
        try
        {
            var url = (await api.StandardOutput.ReadLineAsync())!["listening ".Length..];
            var directory = Path.Combine(Path.GetTempPath(), "clusterdns-k8s-scale-" + Environment.ProcessId);
            Directory.CreateDirectory(directory);
            var corefile = Path.Combine(directory, "Corefile");
            await File.WriteAllTextAsync(corefile, ".:0 {\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        endpoint " + url
                + "\n        pods " + podsMode + "\n        startup_timeout 600s\n    }\n}\n");

            var clock = Stopwatch.StartNew();
            await using var app = new ClusterDnsApp(new AppOptions
            {
                Conf = corefile,
                Quiet = true,
                WorkingDirectory = directory,
                Plugins = ClusterDns.Plugins.BuiltinPlugins.All,
            }, NullLoggerFactory.Instance);
            await app.StartAsync();
            var sync = clock.Elapsed.TotalSeconds;

            var port = app.Host.Endpoints.Values.First().Port;
            var server = new IPEndPoint(IPAddress.Loopback, port);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(server);
            socket.ReceiveTimeout = 2000;
            if (services > 0)
            {
                // Sanity: the last service and a pod answer.
                Console.WriteLine("check: " + string.Join(" ", Answer(socket, $"svc-{services - 2}.{ScaleCluster.Ns(services - 2)}.svc.cluster.local.", DnsType.A)));
            }

            for (var i = 0; i < 3; i++)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }
            var heap = GC.GetTotalMemory(true) / 1048576.0;
            var (rss, peak) = ReadRss();
            Console.WriteLine(FormattableString.Invariant($"RESULT sync_s={sync:F3} heap_mb={heap:F1} rss_mb={rss:F1} peak_mb={peak:F1}"));

            if (samples > 0 && services > 0)
            {
                await MeasureLatencyAsync(url, socket, services, samples);
            }
        }
        finally
        {
            api.StandardInput.Close();
            await api.WaitForExitAsync();
        }
    }

    /// <summary>Upsert (a MODIFIED Service or EndpointSlice published by the API server) → first UDP answer with the
    /// new address. The question was asked (and cached) just before, so a stale cached reply would show up here.</summary>
    private static async Task MeasureLatencyAsync(string url, Socket socket, int services, int samples)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var latencies = new List<double>(samples);
        var random = new Random(42);
        for (var s = 0; s < samples; s++)
        {
            var i = random.Next(services);
            var headless = ScaleCluster.Headless(i);
            // Headless: the slice's first endpoint moves; ClusterIP: the service's clusterIP moves (every other sample
            // a ClusterIP service's slice changes instead, checked through its endpoint's PTR-free A record).
            var ip = $"10.200.{s >> 8 & 0xFF}.{s & 0xFF}";
            var name = headless
                ? $"svc-{i}.{ScaleCluster.Ns(i)}.svc.cluster.local."
                : $"svc-{i}.{ScaleCluster.Ns(i)}.svc.cluster.local.";
            var sliceChange = headless || s % 2 == 1;
            var query = sliceChange && !headless ? $"{ip.Replace('.', '-')}.{name}" : name;
            Answer(socket, query, DnsType.A); // warm the cache with the old reply
            var clock = Stopwatch.StartNew();
            using (var response = await http.PostAsync(sliceChange ? $"/control/slice?i={i}&ip={ip}" : $"/control/service?i={i}&ip={ip}", null))
            {
                response.EnsureSuccessStatusCode();
            }
            while (true)
            {
                var answers = Answer(socket, query, DnsType.A);
                if (answers.Contains(ip))
                {
                    break;
                }
                if (clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new TimeoutException($"{query} never showed {ip}");
                }
            }
            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT samples={latencies.Count} p50_ms={P(0.5):F3} p90_ms={P(0.9):F3} p99_ms={P(0.99):F3} max_ms={latencies[^1]:F3}"));
    }

    private static readonly byte[] Buffer = new byte[4096];
    private static ushort s_id;

    private static List<string> Answer(Socket socket, string name, DnsType type)
    {
        var query = DnsMessage.CreateQuery(name, type, id: ++s_id).ToArray();
        socket.Send(query);
        while (true)
        {
            var n = socket.Receive(Buffer);
            var reply = DnsMessage.Parse(Buffer.AsSpan(0, n).ToArray());
            if (reply.Header.Id != s_id)
            {
                continue; // a late reply to an earlier question
            }
            var result = new List<string>();
            foreach (var r in reply.Answers)
            {
                result.Add(r.DataText());
            }
            return result;
        }
    }

    private static (double Rss, double Peak) ReadRss()
    {
        double rss = 0, peak = 0;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kb(line) / 1024.0;
            }
        }
        return (rss, peak);

        static double Kb(string line) => double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
