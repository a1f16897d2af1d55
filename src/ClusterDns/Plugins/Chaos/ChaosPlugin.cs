using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Chaos;

/// <summary>
/// CoreDNS <c>chaos</c>: answers class CH TXT queries for <c>version.bind</c>/<c>version.server</c> (the version),
/// <c>authors.bind</c> (one TXT per author, shuffled) and <c>hostname.bind</c>/<c>id.server</c> (the host name).
/// Everything else goes to the next plugin.
/// </summary>
public sealed class ChaosPlugin(string version, IReadOnlyList<string> authors) : DnsPlugin
{
    public override string Name => "chaos";

    public string Version { get; } = version;

    public IReadOnlyList<string> Authors { get; } = authors;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (request.Class != DnsClass.CH || request.Type != DnsType.TXT)
        {
            return NextAsync(request, cancellationToken);
        }
        var reply = request.CreateReply(authoritative: false);
        switch (request.Name)
        {
            case "authors.bind.":
                var order = new int[Authors.Count];
                for (var i = 0; i < order.Length; i++)
                {
                    order[i] = i;
                }
                Random.Shared.Shuffle(order);
                foreach (var i in order)
                {
                    reply.Answers.Add(Txt(request, Authors[i]));
                }
                break;
            case "version.bind." or "version.server.":
                reply.Answers.Add(Txt(request, Version));
                break;
            case "hostname.bind." or "id.server.":
                reply.Answers.Add(Txt(request, ChaosSetup.Trim(HostName())));
                break;
            default:
                return NextAsync(request, cancellationToken);
        }
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    private static TxtRecord Txt(DnsRequest request, string text) =>
        new([text]) { Name = request.QuestionName, Class = DnsClass.CH, Ttl = 0 };

    /// <summary>The kernel's host name as Go's os.Hostname returns it (not cut at the first dot), "localhost" on failure.</summary>
    internal static string HostName()
    {
        try
        {
            return System.Net.Dns.GetHostName();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return "localhost";
        }
    }
}
