using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.Plugins.Autopath;

/// <summary>A small cluster whose pods have loopback IPs, so a test can send as a pod (every 127.0.0.x is local on Linux).</summary>
internal static class AutopathTestSupport
{
    public const string Ns1Pod = "127.0.0.11";
    public const string DefaultPod = "127.0.0.12";
    public const string Stranger = "127.0.0.99";

    public static string Cluster { get; } = $$"""
        apiVersion: v1
        kind: List
        items:
        - kind: Namespace
          apiVersion: v1
          metadata: { name: default }
        - kind: Namespace
          apiVersion: v1
          metadata: { name: ns1 }
        - kind: Service
          apiVersion: v1
          metadata: { name: web, namespace: ns1 }
          spec: { type: ClusterIP, clusterIP: 10.96.0.20, ports: [{ name: http, port: 80, protocol: TCP }] }
        - kind: Service
          apiVersion: v1
          metadata: { name: api, namespace: default }
          spec: { type: ClusterIP, clusterIP: 10.96.0.30, ports: [{ name: http, port: 80, protocol: TCP }] }
        - kind: Pod
          apiVersion: v1
          metadata: { name: client, namespace: ns1 }
          status: { phase: Running, podIP: {{Ns1Pod}} }
        - kind: Pod
          apiVersion: v1
          metadata: { name: client, namespace: default }
          status: { phase: Running, podIP: {{DefaultPod}} }
        """;

    /// <summary>The block of the tests: hosts (before kubernetes in plugin.cfg) answers google.com and, for other names outside
    /// the cluster, SERVFAIL without an error - a failed try for autopath; kubernetes serves the snapshot above.</summary>
    public static string ClusterCorefile(string pods = "verified", string autopath = "autopath @kubernetes") => $$"""
        .:0 {
            {{autopath}}
            kubernetes cluster.local {
                snapshot cluster.yaml
                pods {{pods}}
                ttl 30
            }
            hosts {
                192.0.2.10 google.com
                ttl 60
                fallthrough cluster.local
            }
        }
        """;

    public static Dictionary<string, string> Files => new() { ["cluster.yaml"] = Cluster };

    /// <summary>Sends one query from <paramref name="source"/> (UDP, or TCP with <paramref name="tcp"/>) and parses the reply.</summary>
    public static async Task<DnsMessage> QueryFromAsync(IPEndPoint server, string source, string name, DnsType type, bool tcp = false)
    {
        var query = DnsMessage.CreateQuery(name, type, id: 4321, ednsSize: 1232).ToArray();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        if (tcp)
        {
            using var stream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            stream.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
            await stream.ConnectAsync(server, cts.Token);
            var framed = new byte[query.Length + 2];
            framed[0] = (byte)(query.Length >> 8);
            framed[1] = (byte)query.Length;
            query.CopyTo(framed, 2);
            await stream.SendAsync(framed, SocketFlags.None, cts.Token);
            await using var network = new NetworkStream(stream);
            var reply = await TestSupport.TestDnsServer.ReadFrameAsync(network, TimeSpan.FromSeconds(10));
            return DnsMessage.Parse(reply ?? throw new TimeoutException("no TCP reply"));
        }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
        await socket.SendToAsync(query, SocketFlags.None, server, cts.Token);
        var buffer = new byte[65535];
        var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
        return DnsMessage.Parse(buffer.AsSpan(0, result.ReceivedBytes));
    }

    public static string[] Answers(DnsMessage reply) => reply.Answers.Select(r => $"{r.Name} {r.Ttl} {r.Type} {r.DataText()}").ToArray();
}
