using System.Globalization;
using ClusterDns.Fuzz.Engine;
using ClusterDns.Fuzz.Server;
using ClusterDns.Fuzz.Targets;

namespace ClusterDns.Fuzz;

/// <summary>
/// <c>dotnet run -c Release --project bench/ClusterDns.Fuzz -- --target wire|reply|corefile|k8s|server|all
/// [--iterations N] [--seconds S] [--seed X] [--crashes DIR]</c>; <c>--write-corpus</c> rewrites corpus/wire from
/// the generated seed packets; <c>--replay FILE --target T</c> runs one saved input; <c>--afl --target T</c> is the
/// driver AFL++ runs (<see cref="AflDriver"/>, started by <c>afl.sh</c>). Exit code 1 when anything failed.
/// </summary>
public static class FuzzCli
{
    public static readonly string[] InProcessTargets = ["wire", "reply", "corefile", "k8s"];

    public static IFuzzTarget CreateTarget(string name) => name switch
    {
        "wire" => new WireTarget(),
        "reply" => new ReplyTarget(),
        "corefile" => new CorefileTarget(),
        "k8s" => new KubernetesTarget(),
        _ => throw new ArgumentException($"unknown target '{name}'"),
    };

    /// <summary>The seed folder each target mutates (the reply writer works from the same packets as the parser).</summary>
    public static string CorpusOf(string target) => target is "wire" or "reply" or "server" ? "wire" : target;

    /// <summary>Largest input per target: packets stay UDP-sized, text holds the largest example snapshot.</summary>
    public static int MaxInputLength(string target) => target switch
    {
        "k8s" => 64 * 1024,
        "corefile" => 16 * 1024,
        _ => 4096,
    };

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        string target = "all";
        long iterations = 0;
        double seconds = 0;
        var seed = 1;
        string? crashes = "crashes";
        string? replay = null;
        string? writeCorpus = null;
        var afl = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--target":
                    target = Next();
                    break;
                case "--iterations":
                    iterations = long.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--seconds":
                    seconds = double.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--seed":
                    seed = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--crashes":
                    crashes = Next();
                    break;
                case "--afl":
                    afl = true;
                    break;
                case "--afl-dict":
                    // Run from the uninstrumented build: instrumented code needs AFL's coverage map.
                    output.Write(AflDriver.Dictionary(Next(), ClusterDns.Corefile.PluginOrder.Default.Names));
                    return 0;
                case "--replay":
                    replay = Next();
                    break;
                case "--write-corpus":
                    writeCorpus = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? Next() : Corpus.Directory("wire");
                    break;
                case "-h" or "--help":
                    output.WriteLine("usage: --target wire|reply|corefile|k8s|server|all [--iterations N] [--seconds S] [--seed X] [--crashes DIR] [--replay FILE] [--write-corpus [DIR]] [--afl] [--afl-dict TARGET]");
                    return 0;
                default:
                    output.WriteLine($"unknown argument '{args[i]}' (--help)");
                    return 2;
            }
        }
        if (writeCorpus is not null)
        {
            output.WriteLine($"wrote {Corpus.WriteWire(writeCorpus)} seed packets to {writeCorpus}");
            return 0;
        }
        if (afl)
        {
            return RunAfl(target, output);
        }
        if (replay is not null)
        {
            return Replay(target, replay, output);
        }
        if (iterations == 0 && seconds == 0)
        {
            iterations = 100_000;
        }
        var failed = false;
        var names = target == "all" ? [.. InProcessTargets, "server"] : new[] { target };
        foreach (var name in names)
        {
            if (name == "server")
            {
                var result = await new ServerFuzzer(Corpus.Load("wire"), new ServerFuzzOptions
                {
                    Seed = seed,
                    Packets = iterations,
                    Seconds = seconds,
                    CrashDirectory = crashes,
                    Log = output,
                }).RunAsync();
                output.WriteLine(result);
                failed |= !result.Clean;
                continue;
            }
            var fuzz = FuzzRunner.Run(CreateTarget(name), Corpus.Load(CorpusOf(name)), new FuzzOptions
            {
                Seed = seed,
                Iterations = iterations,
                Seconds = seconds,
                CrashDirectory = crashes,
                MaxInputLength = MaxInputLength(name),
                Log = output,
            });
            output.WriteLine(fuzz);
            failed |= !fuzz.Clean;
        }
        output.WriteLine(failed ? "FAILED (inputs saved under " + crashes + ")" : "OK: 0 crashes, 0 hangs");
        return failed ? 1 : 0;
    }

    private static int RunAfl(string target, TextWriter output)
    {
        if (Array.IndexOf(InProcessTargets, target) < 0)
        {
            output.WriteLine($"--afl needs one in-process target ({string.Join('|', InProcessTargets)}), not '{target}'");
            return 2;
        }
        try
        {
            AflDriver.Run(target, () => CreateTarget(target), MaxInputLength(target), new FuzzOptions().AllocationBound);
            return 0;
        }
        catch (Exception exception)
        {
            // Only without AFL (one input from standard input): under AFL the fork server reports it as a crash.
            output.WriteLine(exception);
            return 1;
        }
    }

    private static int Replay(string target, string path, TextWriter output)
    {
        var input = File.ReadAllBytes(path);
        var code = 0;
        // On a thread with the thread pool's stack size (1.5 MiB), where the server runs this code: deep recursion
        // that a main thread survives can still overflow there.
        var thread = new Thread(() =>
        {
            try
            {
                CreateTarget(target).Run(input);
                output.WriteLine($"{path}: ok");
            }
            catch (Exception exception)
            {
                output.WriteLine($"{path}: {exception}");
                code = 1;
            }
        }, 1536 * 1024);
        thread.Start();
        thread.Join();
        return code;
    }
}
