using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Tests.TestSupport;

internal static class ForwardTestSupport
{
    /// <summary>A request as a listener would prepare it, for calling a plugin directly.</summary>
    public static DnsRequest Request(string name, DnsType type, bool tcp = false, ushort? ednsSize = 1232, bool dnssecOk = false,
        bool checkingDisabled = false, ushort id = 4242)
    {
        var query = DnsMessage.CreateQuery(name, type, id, ednsSize: ednsSize, dnssecOk: dnssecOk);
        query.Header.CheckingDisabled = checkingDisabled;
        var request = new DnsRequest();
        Assert.Equal(QueryDisposition.Query, request.Load(query.ToArray(), tcp ? DnsTransport.Tcp : DnsTransport.Udp));
        request.SetRemote(new IPEndPoint(IPAddress.Loopback, 5353));
        return request;
    }

    public static T Plugin<T>(TestDnsServer server, int index = 0) where T : DnsPlugin
    {
        var found = 0;
        foreach (var plugin in server.App.Host.Current!.Blocks[0].Plugins)
        {
            if (plugin is T typed && found++ == index)
            {
                return typed;
            }
        }
        throw new InvalidOperationException($"no {typeof(T).Name} #{index}");
    }

    public static async Task<DnsMessage> Query(TestDnsServer server, string name, DnsType type = DnsType.A, bool tcp = false, ushort? ednsSize = 1232)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: ednsSize);
        var bytes = query.ToArray();
        var reply = tcp ? await TestDnsServer.ExchangeTcpAsync(server.Endpoint, bytes) : await server.ExchangeUdpAsync(bytes, TimeSpan.FromSeconds(8));
        Assert.NotNull(reply);
        var message = DnsMessage.Parse(reply);
        Assert.Equal(query.Header.Id, message.Header.Id);
        return message;
    }
}
