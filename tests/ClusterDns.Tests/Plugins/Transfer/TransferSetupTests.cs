using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Transfer;

/// <summary>CoreDNS's <c>transfer</c> syntax: accepted forms and errors, through the real configuration loader.</summary>
public sealed class TransferSetupTests
{
    [Theory]
    [InlineData("transfer {\n        to *\n    }", null)]
    [InlineData("transfer cluster.local example.org {\n        to 10.0.0.1 10.0.0.2:53 [fd00::1]:53\n    }", null)]
    [InlineData("transfer {\n        to 10.0.0.1\n    }\n    transfer example.org {\n        to *\n    }", null)]
    [InlineData("transfer", "'to' is required")]
    [InlineData("transfer {\n        to\n    }", "Wrong argument count")]
    [InlineData("transfer {\n        from 10.0.0.1\n    }", "unknown property \"from\"")]
    [InlineData("transfer {\n        to example.com\n    }", "not an IP address: example.com")]
    [InlineData("transfer {\n        to 10.1\n    }", "not an IP address: 10.1")]
    [InlineData("transfer {\n        to 10.0.0.1:dns\n    }", "not an IP address: 10.0.0.1:dns")]
    public async Task Stanza_builds_or_gives_CoreDNS_error(string stanza, string? error)
    {
        var corefile = ".:0 {\n    " + stanza + "\n    whoami\n}\n";
        if (error is null)
        {
            await using var server = await TestDnsServer.StartAsync(corefile);
            Assert.True(server.Port > 0);
            return;
        }
        var exception = await Assert.ThrowsAnyAsync<Exception>(async () => await (await TestDnsServer.StartAsync(corefile)).DisposeAsync());
        Assert.Contains("plugin/transfer", exception.Message, StringComparison.Ordinal);
        Assert.Contains(error, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kdig_reads_the_same_stream()
    {
        await using var api = await TestApiServer.StartAsync();
        F1Api.Load(api);
        await using var server = await TestDnsServer.StartAsync(F1Api.Corefile("P0", api.Url, "", "    transfer {\n        to *\n    }\n"), plugins: F1Api.Plugins);
        var port = server.Endpoints.Values.First().Port.ToString();
        var kdig = await DnsProbe.RunAsync("kdig", ["@" + F1Api.ServerAddress, "-p", port, "+noall", "+answer", "AXFR", "cluster.local."]);
        var dig = await DnsProbe.RunAsync("dig", ["@" + F1Api.ServerAddress, "-p", port, "+noall", "+answer", "AXFR", "cluster.local."]);
        static List<string> Records(string text) => text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith(';'))
            .Select(l => Protocol.ZoneText.ParseRecord(l).ToString()).ToList();
        var fromKdig = Records(kdig);
        Assert.True(fromKdig.Count > 20, kdig);
        Assert.Equal(Records(dig), fromKdig);
    }
}
