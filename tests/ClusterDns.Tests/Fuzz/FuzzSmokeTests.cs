using ClusterDns.Fuzz;
using ClusterDns.Fuzz.Engine;
using ClusterDns.Fuzz.Server;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Fuzz;

/// <summary>
/// A short run of every fuzz target on each change (bench/ClusterDns.Fuzz; docs/RELIABILITY.md has the long runs):
/// fixed seeds, bounded iterations, and 0 crashes, 0 hangs, 0 unbounded allocations expected. A failure prints the
/// exception and the input in hex; replay it with <c>dotnet run -c Release --project bench/ClusterDns.Fuzz -- --replay FILE</c>.
/// </summary>
public sealed class FuzzSmokeTests(ITestOutputHelper output)
{
    public static TheoryData<string, int> InProcess => new()
    {
        { "wire", 60_000 },
        { "reply", 60_000 },
        { "corefile", 20_000 },
        { "k8s", 1_500 },
    };

    [Theory]
    [MemberData(nameof(InProcess))]
    public void In_process_target_survives_mutated_inputs(string target, int iterations)
    {
        var result = FuzzRunner.Run(FuzzCli.CreateTarget(target), Corpus.Load(FuzzCli.CorpusOf(target)), new FuzzOptions
        {
            Seed = 20261204,
            Iterations = iterations,
            MaxInputLength = FuzzCli.MaxInputLength(target),
            // The machine is shared with parallel test classes: a generous bound still catches a real hang.
            HangBound = TimeSpan.FromSeconds(10),
        });
        output.WriteLine(result.ToString());
        Assert.True(result.Clean, $"{result}\n{Describe(result.Failures)}");
        Assert.Equal(iterations, result.Iterations);
    }

    [Fact]
    public async Task Server_survives_mutated_udp_and_tcp_traffic()
    {
        var result = await new ServerFuzzer(Corpus.Load("wire"), new ServerFuzzOptions { Seed = 20261204, Packets = 3_000 }).RunAsync();
        output.WriteLine(result.ToString());
        Assert.True(result.Clean, $"{result}\n{string.Join('\n', result.Violations)}");
        Assert.True(result.UdpPackets + result.TcpFrames >= 3_000, result.ToString());
        Assert.True(result.Replies > 0 && result.Probes > 0, result.ToString());
        Assert.True(result.RepliesByRcode.ContainsKey("FORMERR") && result.RepliesByRcode.ContainsKey("NOTIMP"), result.ToString());
    }

    private static string Describe(IReadOnlyList<FuzzFailure> failures) =>
        string.Join("\n", failures.Select(f => $"{f.Kind}: {f.Message}\ninput: {Convert.ToHexStringLower(f.Input.AsSpan(0, Math.Min(f.Input.Length, 512)))}"));
}
