using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Loop;

/// <summary>
/// CoreDNS <c>loop</c>: at start it sends <c>&lt;random&gt;.&lt;random&gt;.&lt;zone&gt; HINFO</c> to its own listener. If that exact
/// query passes through this plugin more than twice, the forwarding path leads back to us (classic cause: a
/// resolv.conf pointing at 127.0.0.53) and the process exits with CoreDNS's message. Once a probe was sent and
/// answered (or 30 s passed) the plugin disables itself and costs one volatile read per query.
/// </summary>
public sealed partial class LoopPlugin : DnsPlugin, IPluginLifecycle
{
    private readonly byte[] _probeName;
    private readonly string _probeText;
    private readonly string _zone;
    private readonly string _listener;
    private readonly ServiceHub _services;
    private readonly ILogger _logger;
    private volatile bool _disabled;
    private int _seen;
    private CancellationTokenSource? _stopping;

    public LoopPlugin(string zone, string listenerAddress, ServiceHub services, ILogger logger)
    {
        _zone = zone;
        _listener = listenerAddress;
        _services = services;
        _logger = logger;
        var probe = $"{Random.Shared.NextInt64(long.MaxValue)}.{Random.Shared.NextInt64(long.MaxValue)}.{(zone == "." ? string.Empty : zone)}";
        var name = DnsName.Parse(probe);
        _probeName = name.Wire.ToArray();
        _probeText = name.ToString();
    }

    public override string Name => "loop";

    public string ProbeName => _probeText;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (!_disabled && request.Type == DnsType.HINFO && DnsNameSpan.EqualsIgnoreCase(request.LowerNameWire, _probeName))
        {
            if (Interlocked.Increment(ref _seen) > 2)
            {
                var client = request.RemoteEndPoint;
                _services.Fatal($"plugin/loop: Loop ({client} -> {ListenerHostPort()}) detected for zone \"{_zone}\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO {_probeText}\"");
            }
        }
        return NextAsync(request, cancellationToken);
    }

    private string ListenerHostPort()
    {
        var at = _listener.IndexOf("://", StringComparison.Ordinal);
        return at < 0 ? _listener : _listener[(at + 3)..];
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _ = ProbeAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    /// <summary>Sends the probe until one exchange completes (answered or timed out), for at most 30 s, then disables.</summary>
    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var query = DnsMessage.CreateQuery(_probeText, DnsType.HINFO, id: (ushort)Random.Shared.Next(1, 65535)).ToArray();
        try
        {
            while (DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
                if (_services.EndpointOf(_listener) is not { } bound)
                {
                    continue; // listener not open yet
                }
                var target = new IPEndPoint(bound.Address.Equals(IPAddress.IPv6Any) || bound.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : bound.Address, bound.Port);
                using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    await socket.SendToAsync(query, SocketFlags.None, target, cancellationToken).ConfigureAwait(false);
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(5));
                    var buffer = new byte[512];
                    await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token).ConfigureAwait(false);
                    break;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break; // sent, no answer in time: an upstream that ignores HINFO; the loop, if any, was seen
                }
                catch (SocketException exception)
                {
                    LogProbeFailed(_logger, exception.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        _disabled = true;
    }

    public Task StopAsync()
    {
        _stopping?.Cancel();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Probe failed: {Reason}")]
    private static partial void LogProbeFailed(ILogger logger, string reason);
}
