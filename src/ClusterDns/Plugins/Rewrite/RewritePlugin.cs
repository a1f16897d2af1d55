using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Rewrite;

/// <summary>
/// CoreDNS's rewrite handler. Rules run in order on the question; a rule that applies ends the run unless it is a
/// <c>continue</c> rule. The changed question (and EDNS0 options) replace the request's query for the rest of the
/// chain; when the chain returns, the client's query is put back and the written reply is reverted (CoreDNS's
/// ResponseReverter): the question section is the client's again and the response rules (answer name/value/auto,
/// ttl, rcode) are applied to every record.
/// A query no rule matches costs a scan of the rules over the name formatted on the stack: no allocation.
/// </summary>
internal sealed class RewritePlugin(RewriteRule[] rules) : DnsPlugin
{
    /// <summary>Presentation form of the longest name: 255 octets, each at most 4 characters escaped.</summary>
    private const int MaxNameText = DnsName.MaxWireLength * 4;

    public override string Name => "rewrite";

    internal IReadOnlyList<RewriteRule> Rules => rules;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var first = FirstMatch(request);
        return first < 0 ? NextAsync(request, cancellationToken) : RewriteAsync(request, first, cancellationToken);
    }

    private int FirstMatch(DnsRequest request)
    {
        Span<char> text = stackalloc char[MaxNameText];
        var name = text[..FormatName(request.LowerNameWire, text)];
        for (var i = 0; i < rules.Length; i++)
        {
            if (rules[i].Matches(name, request.Type, request.Class))
            {
                return i;
            }
        }
        return -1;
    }

    private async ValueTask<DnsResult> RewriteAsync(DnsRequest request, int first, CancellationToken cancellationToken)
    {
        var state = new RewriteState(request.Name, request.Type, request.Class);
        var context = new RewriteContext(request);
        var anyApplied = false;
        for (var i = first; i < rules.Length; i++)
        {
            var rule = rules[i];
            if (!rule.Matches(state.Name, state.Type, state.Class) || !rule.Apply(state, context))
            {
                continue;
            }
            anyApplied = true;
            if (state.QuestionChanged && !DnsName.TryParse(state.Name, out _))
            {
                return new DnsResult(DnsRcode.ServFail, $"invalid name after rewrite: {state.Name}");
            }
            if (rule.Stop)
            {
                break;
            }
        }
        if (!anyApplied)
        {
            return await NextAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var changed = state.QuestionChanged || state.Options is not null;
        var original = changed ? request.Query.ToArray() : null;
        if (original is not null && !request.ReplaceQuery(BuildQuery(request, state)))
        {
            request.ReplaceQuery(original);
            return new DnsResult(DnsRcode.ServFail, $"invalid query after rewrite: {state.Name}");
        }
        DnsResult result;
        try
        {
            result = await NextAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (original is not null)
            {
                // The client's query again: outer plugins (cache, log) and the server's own error replies see it.
                request.ReplaceQuery(original);
            }
        }
        var response = request.Response;
        if (!response.Written && result.ServerWrites && state.ResponseRules.Count > 0)
        {
            // CoreDNS writes this reply through its reverter so the rcode and answer rules apply to it too.
            response.WriteError(result.Rcode);
            result = new DnsResult(DnsRcode.NoError, result.Error);
        }
        if (response.Written && (original is not null || state.ResponseRules.Count > 0 || state.CnameRules is not null))
        {
            await RevertAsync(request, state, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>The query with the rewritten question and EDNS0 options (a new OPT of 4096 octets if it had none).</summary>
    private static byte[] BuildQuery(DnsRequest request, RewriteState state)
    {
        var message = DnsMessage.Parse(request.Query);
        if (state.QuestionChanged)
        {
            message.Questions[0] = new DnsQuestion(DnsName.Parse(state.Name), state.Type, state.Class);
        }
        if (state.Options is { } options)
        {
            var index = message.Additionals.FindIndex(record => record is OptRecord);
            var opt = index >= 0 ? (OptRecord)message.Additionals[index] : OptRecord.Create(4096);
            opt = opt with { Options = options };
            if (index >= 0)
            {
                message.Additionals[index] = opt;
            }
            else
            {
                message.Additionals.Add(opt);
            }
        }
        return message.ToArray();
    }

    /// <summary>Puts the client's question back into the written reply and applies the response rules.</summary>
    private async ValueTask RevertAsync(DnsRequest request, RewriteState state, CancellationToken cancellationToken)
    {
        var response = request.Response;
        if (!DnsMessage.TryParse(response.Bytes, out var reply, out _))
        {
            return;
        }
        var plugin = response.Plugin;
        if (state.CnameRules is { } cnameRules)
        {
            foreach (var rule in cnameRules)
            {
                await rule.RewriteAsync(reply, request, state.Type, cancellationToken).ConfigureAwait(false);
            }
        }
        var responseRules = state.ResponseRules;
        var question = new DnsQuestion(request.QuestionName, request.Type, request.Class);
        if (reply.Questions.Count > 0)
        {
            reply.Questions[0] = question;
        }
        else
        {
            reply.Questions.Add(question); // as CoreDNS's reverter, a reply written without a question gets the client's
        }
        if (responseRules.Count > 0)
        {
            RewriteSection(reply.Authorities, responseRules);
            RewriteSection(reply.Answers, responseRules);
            RewriteSection(reply.Additionals, responseRules);
            foreach (var rule in responseRules)
            {
                rule.RewriteMessage(reply);
            }
        }
        response.Write(reply, plugin.Length > 0 ? plugin : Name);
    }

    private static void RewriteSection(List<DnsRecord> records, List<ResponseRule> responseRules)
    {
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            foreach (var rule in responseRules)
            {
                record = rule.RewriteRecord(record);
            }
            records[i] = record;
        }
    }

    /// <summary>Writes a wire name in presentation form (the escapes of <see cref="DnsNameSpan.ToText"/>); returns the
    /// length written.</summary>
    internal static int FormatName(ReadOnlySpan<byte> wire, Span<char> destination)
    {
        if (wire.Length <= 1)
        {
            destination[0] = '.';
            return 1;
        }
        var position = 0;
        var i = 0;
        while (i < wire.Length && wire[i] != 0)
        {
            var length = wire[i];
            for (var j = i + 1; j <= i + length && j < wire.Length; j++)
            {
                var b = wire[j];
                switch (b)
                {
                    case (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'@' or (byte)'$':
                        destination[position++] = '\\';
                        destination[position++] = (char)b;
                        break;
                    case < 0x21 or > 0x7E:
                        destination[position++] = '\\';
                        destination[position++] = (char)('0' + b / 100);
                        destination[position++] = (char)('0' + b / 10 % 10);
                        destination[position++] = (char)('0' + b % 10);
                        break;
                    default:
                        destination[position++] = (char)b;
                        break;
                }
            }
            destination[position++] = '.';
            i += length + 1;
        }
        return position;
    }
}
