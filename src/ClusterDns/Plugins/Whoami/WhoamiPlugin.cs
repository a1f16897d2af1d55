using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Whoami;

/// <summary>Answers every query with the client's address and port in the additional section (CoreDNS <c>whoami</c>).</summary>
public sealed class WhoamiPlugin : DnsPlugin
{
    public override string Name => "whoami";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var reply = request.CreateReply();
        var client = request.RemoteEndPoint;
        var name = request.QuestionName;
        reply.Additionals.Insert(0, client.Address.AddressFamily == AddressFamily.InterNetworkV6
            ? new AaaaRecord(client.Address) { Name = name }
            : new ARecord(client.Address) { Name = name });
        var proto = request.Transport == DnsTransport.Tcp ? "_tcp" : "_udp";
        reply.Additionals.Insert(1, new SrvRecord(0, 0, (ushort)client.Port, DnsName.Root) { Name = name.Prepend(proto) });
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }
}
