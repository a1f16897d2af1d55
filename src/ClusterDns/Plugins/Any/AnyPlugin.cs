using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Any;

/// <summary>CoreDNS <c>any</c>: answers every ANY query with the RFC 8482 HINFO record; other types pass on.</summary>
public sealed class AnyPlugin : DnsPlugin
{
    public override string Name => "any";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (request.Type != DnsType.ANY)
        {
            return NextAsync(request, cancellationToken);
        }
        var reply = request.CreateReply(authoritative: false);
        reply.Answers.Add(new HinfoRecord("ANY obsoleted", "See RFC 8482") { Name = request.QuestionName, Ttl = 8482 });
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }
}
