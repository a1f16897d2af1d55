using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// A DNS server on loopback (UDP and TCP on one port) whose behaviour each test scripts: the handler gets the
/// parsed query and the transport and returns the reply bytes, or null to drop the query.
/// </summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    public delegate ValueTask<byte[]?> Handler(DnsMessage query, bool tcp);

    private readonly Socket _udp;
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Handler _handler;
    private int _udpQueries;
    private int _tcpQueries;

    private FakeUpstream(Socket udp, TcpListener tcp, Handler handler)
    {
        _udp = udp;
        _tcp = tcp;
        _handler = handler;
        EndPoint = (IPEndPoint)udp.LocalEndPoint!;
        _ = UdpLoopAsync();
        _ = TcpLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>As written in a Corefile TO.</summary>
    public string Address => $"127.0.0.1:{EndPoint.Port}";

    public int UdpQueries => Volatile.Read(ref _udpQueries);

    public int TcpQueries => Volatile.Read(ref _tcpQueries);

    public int Queries => UdpQueries + TcpQueries;

    public ConcurrentQueue<DnsMessage> Received { get; } = new();

    public static FakeUpstream Start(Handler handler)
    {
        for (var attempt = 0; ; attempt++)
        {
            var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return new FakeUpstream(udp, tcp, handler);
            }
            catch (SocketException) when (attempt < 20)
            {
                udp.Dispose();
                tcp.Stop();
            }
        }
    }

    /// <summary>Answers every query with <paramref name="reply"/>(query).</summary>
    public static FakeUpstream Answering(Func<DnsMessage, DnsMessage?> reply) =>
        Start((query, _) => new ValueTask<byte[]?>(reply(query) is { } message ? message.ToArray() : null));

    /// <summary>Answers A queries with <paramref name="address"/> (TTL <paramref name="ttl"/>), everything else NODATA.</summary>
    public static FakeUpstream WithAddress(string address, uint ttl = 300) =>
        Answering(query => Reply(query, DnsRcode.NoError, query.Question!.Type == DnsType.A
            ? [new ARecord(IPAddress.Parse(address)) { Name = query.Question.Name, Ttl = ttl }]
            : []));

    public static DnsMessage Reply(DnsMessage query, DnsRcode rcode, DnsRecord[] answers, DnsRecord[]? authority = null)
    {
        var reply = DnsMessage.CreateReply(query);
        reply.Header.RecursionAvailable = true;
        reply.Rcode = rcode;
        reply.Answers.AddRange(answers);
        if (authority is not null)
        {
            reply.Authorities.AddRange(authority);
        }
        if (query.Opt is { } opt)
        {
            reply.Additionals.Add(OptRecord.Create(opt.UdpPayloadSize, opt.DnssecOk));
        }
        return reply;
    }

    /// <summary>A loopback UDP/TCP port where nothing listens (UDP gets ICMP port unreachable, TCP a RST).</summary>
    public static string ClosedAddress()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return $"127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}";
    }

    private async Task UdpLoopAsync()
    {
        var buffer = new byte[65535];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            var packet = buffer[..received.ReceivedBytes];
            var remote = received.RemoteEndPoint;
            _ = Task.Run(async () =>
            {
                if (!DnsMessage.TryParse(packet, out var query, out _))
                {
                    return;
                }
                Interlocked.Increment(ref _udpQueries);
                Received.Enqueue(query);
                var reply = await _handler(query, tcp: false);
                if (reply is not null)
                {
                    try
                    {
                        await _udp.SendToAsync(reply, SocketFlags.None, remote);
                    }
                    catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
                    {
                    }
                }
            });
        }
    }

    private async Task TcpLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _tcp.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeTcpAsync(client);
        }
    }

    private async Task ServeTcpAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var prefix = new byte[2];
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    await stream.ReadExactlyAsync(prefix, _stop.Token);
                    var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                    await stream.ReadExactlyAsync(query, _stop.Token);
                    if (!DnsMessage.TryParse(query, out var message, out _))
                    {
                        return;
                    }
                    Interlocked.Increment(ref _tcpQueries);
                    Received.Enqueue(message);
                    var reply = await _handler(message, tcp: true);
                    if (reply is null)
                    {
                        continue;
                    }
                    var frame = new byte[reply.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)reply.Length);
                    reply.CopyTo(frame, 2);
                    await stream.WriteAsync(frame, _stop.Token);
                }
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Stop();
        return ValueTask.CompletedTask;
    }
}
