using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.TestSupport;

/// <summary>A reply reduced to what the conformance table compares: rcode, AA and the three sections as record text.</summary>
internal sealed record ProbeReply(DnsRcode Rcode, bool Authoritative, List<DnsRecord> Answer, List<DnsRecord> Authority, List<DnsRecord> Additional)
{
    public static ProbeReply From(DnsMessage message) => new(message.Rcode, message.Header.Authoritative, [.. message.Answers],
        [.. message.Authorities], message.Additionals.Where(r => r is not OptRecord).ToList());
}

/// <summary>Clients for end-to-end tests: raw UDP/TCP sockets, and dig / kdig as external processes.</summary>
internal static class DnsProbe
{
    public static async Task<ProbeReply> UdpAsync(IPEndPoint server, string name, DnsType type, ushort? ednsSize = 1232)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: ednsSize).ToArray();
        var reply = await TestDnsServer.ExchangeUdpAsync(server, query);
        Assert.True(reply is not null, $"no UDP reply for {name} {type}");
        return ProbeReply.From(DnsMessage.Parse(reply));
    }

    public static async Task<ProbeReply> TcpAsync(IPEndPoint server, string name, DnsType type)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
        var reply = await TestDnsServer.ExchangeTcpAsync(server, query);
        Assert.True(reply is not null, $"no TCP reply for {name} {type}");
        return ProbeReply.From(DnsMessage.Parse(reply));
    }

    /// <summary>Sends <paramref name="query"/> over one TCP connection and reads messages until the stream's closing SOA
    /// (or a non-transfer reply, or the connection ends).</summary>
    public static async Task<List<DnsMessage>> TransferAsync(IPEndPoint server, DnsMessage query)
    {
        using var client = new TcpClient(server.AddressFamily);
        await client.ConnectAsync(server);
        var stream = client.GetStream();
        var bytes = query.ToArray();
        var frame = new byte[bytes.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)bytes.Length);
        bytes.CopyTo(frame, 2);
        await stream.WriteAsync(frame);
        var messages = new List<DnsMessage>();
        var soaSeen = 0;
        while (true)
        {
            var raw = await TestDnsServer.ReadFrameAsync(stream);
            if (raw is null)
            {
                return messages;
            }
            var message = DnsMessage.Parse(raw);
            messages.Add(message);
            soaSeen += message.Answers.Count(r => r is SoaRecord);
            if (message.Rcode != DnsRcode.NoError || soaSeen >= 2 || (soaSeen == 1 && messages.Count == 1 && message.Answers.Count == 1))
            {
                return messages;
            }
        }
    }

    /// <summary>Runs dig with <c>+noall +answer +authority +additional +comments</c> and parses its text.</summary>
    public static async Task<ProbeReply> DigAsync(IPEndPoint server, string name, DnsType type, bool tcp = false)
    {
        var args = new List<string> { "@" + server.Address, "-p", server.Port.ToString(), "+noall", "+answer", "+authority", "+additional", "+comments",
            "+tries=1", "+time=3", name, type.ToString() };
        if (tcp)
        {
            args.Insert(0, "+tcp");
        }
        var text = await RunAsync("dig", args);
        return ParseDig(text, name, type);
    }

    public static ProbeReply ParseDig(string text, string name, DnsType type)
    {
        DnsRcode? rcode = null;
        bool? aa = null;
        List<DnsRecord> answer = [], authority = [], additional = [];
        List<DnsRecord>? section = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith(";; ->>HEADER<<-", StringComparison.Ordinal))
            {
                var status = line[(line.IndexOf("status: ", StringComparison.Ordinal) + 8)..].Split(',')[0];
                rcode = Enum.Parse<DnsRcode>(status, ignoreCase: true);
            }
            else if (line.StartsWith(";; flags:", StringComparison.Ordinal))
            {
                var flags = line[9..line.IndexOf(';', 9)].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                aa = flags.Contains("aa");
            }
            else if (line == ";; ANSWER SECTION:")
            {
                section = answer;
            }
            else if (line == ";; AUTHORITY SECTION:")
            {
                section = authority;
            }
            else if (line == ";; ADDITIONAL SECTION:")
            {
                section = additional;
            }
            else if (line.Length == 0 || line.StartsWith(';'))
            {
                if (line.Length == 0)
                {
                    section = null;
                }
            }
            else if (section is not null)
            {
                section.Add(ZoneText.ParseRecord(line));
            }
        }
        Assert.True(rcode is not null && aa is not null, $"dig printed no header for {name} {type}:\n{text}");
        return new ProbeReply(rcode.Value, aa.Value, answer, authority, additional);
    }

    /// <summary>Runs a client tool and returns its standard output (fails the test on a non-zero exit).</summary>
    public static async Task<string> RunAsync(string tool, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}: {await stderr}{await stdout}");
        return await stdout;
    }

    /// <summary>The A record addresses of <paramref name="name"/> as text (empty for NXDOMAIN/NODATA).</summary>
    public static async Task<(DnsRcode Rcode, string[] Addresses)> AddressesAsync(IPEndPoint server, string name, DnsType type = DnsType.A)
    {
        var reply = await UdpAsync(server, name, type);
        var addresses = reply.Answer.Select(r => r switch { ARecord a => a.Address.ToString(), AaaaRecord a => a.Address.ToString(), _ => r.ToString() })
            .Order(StringComparer.Ordinal).ToArray();
        return (reply.Rcode, addresses);
    }
}
