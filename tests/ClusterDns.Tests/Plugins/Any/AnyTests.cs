using ClusterDns.Tests.Server;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Any;

public sealed class AnyTests
{
    public static TheoryData<string, string, string[], bool> Cases() => new()
    {
        // question, type, answer lines (dig, tab-separated fields), whoami's additional section expected
        { "example.org.", "ANY", ["example.org.\t8482\tIN\tHINFO\t\"ANY obsoleted\" \"See RFC 8482\""], false },
        { "Example.ORG.", "ANY", ["Example.ORG.\t8482\tIN\tHINFO\t\"ANY obsoleted\" \"See RFC 8482\""], false },
        { "example.org.", "A", [], true },
        { "example.org.", "TXT", [], true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Answers_ANY_with_the_RFC_8482_HINFO(string name, string type, string[] answers, bool passed)
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    any\n    whoami\n}\n");
        foreach (var transport in new[] { "+notcp", "+tcp" })
        {
            var dig = await ServerTestKit.DigAsync(server.Port, transport, name, type);
            var label = $"{name} {type} {transport}";
            Assert.True(dig.Status == "NOERROR", $"{label}: {dig.Text}");
            Assert.True(answers.SequenceEqual(dig.Answers.Select(Normalize)), $"{label}: {dig.Text}");
            Assert.True(passed == (dig.Additionals.Count == 2), $"{label}: {dig.Text}");
            Assert.False(dig.Flags.Contains("aa") && !passed, $"{label}: AA set");
        }
    }

    private static string Normalize(string line) => string.Join('\t', line.Split('\t', StringSplitOptions.RemoveEmptyEntries));

    [Theory]
    [InlineData("any foo", "plugin/any: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'foo'")]
    // As in CoreDNS, the "{" counts as an argument, so a block is an argument error.
    [InlineData("any {\n        foo\n    }", "plugin/any: Corefile:2 - Error during parsing: Unexpected token '{', expecting argument")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }
}
