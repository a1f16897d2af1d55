using System.Diagnostics;
using System.Security.Cryptography;

namespace ClusterDns.Fuzz.Engine;

public sealed record FuzzOptions
{
    public int Seed { get; init; } = 1;

    /// <summary>Stop after this many inputs (0: no limit).</summary>
    public long Iterations { get; init; }

    /// <summary>Stop after this long (0: no limit).</summary>
    public double Seconds { get; init; }

    /// <summary>Where crashing and hanging inputs are written (null: not written).</summary>
    public string? CrashDirectory { get; init; }

    /// <summary>An input that takes longer than this is a hang.</summary>
    public TimeSpan HangBound { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>An input that allocates more than this (on the fuzzing thread) is unbounded allocation.</summary>
    public long AllocationBound { get; init; } = 64L << 20;

    public int MaxInputLength { get; init; } = 4096;

    /// <summary>Live-corpus cap: inputs reaching a new behaviour signature are kept up to this many.</summary>
    public int CorpusCap { get; init; } = 2048;

    public TextWriter? Log { get; init; }
}

public sealed record FuzzFailure(string Kind, string Message, string? SavedAs, byte[] Input);

public sealed record FuzzResult(string Target, long Iterations, TimeSpan Elapsed, int Crashes, int Hangs, int Allocations,
    int CorpusSize, int Signatures, long RssBefore, long RssAfter, IReadOnlyList<FuzzFailure> Failures)
{
    public bool Clean => Crashes == 0 && Hangs == 0 && Allocations == 0;

    public override string ToString() =>
        $"{Target}: {Iterations:N0} inputs in {Elapsed.TotalSeconds:F1} s ({Iterations / Math.Max(Elapsed.TotalSeconds, 0.001):N0}/s), " +
        $"crashes {Crashes}, hangs {Hangs}, over-allocations {Allocations}, corpus {CorpusSize}, signatures {Signatures}, " +
        $"RSS {Rss.Format(RssBefore)} -> {Rss.Format(RssAfter)}";
}

/// <summary>
/// The mutation loop: pick a corpus entry, mutate it, run the target, classify the outcome. Runs on its own thread so
/// a watchdog can report an input that never returns (it saves it and abandons the thread).
/// </summary>
public static class FuzzRunner
{
    public static FuzzResult Run(IFuzzTarget target, IReadOnlyList<byte[]> seeds, FuzzOptions options)
    {
        var state = new RunState(target, seeds, options);
        var rssBefore = Rss.Current();
        var thread = new Thread(state.Loop, 16 << 20) { IsBackground = true, Name = "fuzz-" + target.Name };
        var clock = Stopwatch.StartNew();
        thread.Start();
        while (!thread.Join(100))
        {
            var started = Volatile.Read(ref state.IterationStartTicks);
            if (started != 0 && Stopwatch.GetElapsedTime(started) > options.HangBound * 5)
            {
                // Stuck for good: record it and leave the thread behind (it cannot be aborted).
                Interlocked.Increment(ref state.Hangs);
                state.Record("hang", $"no return after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s", state.CurrentInput());
                state.Abandoned = true;
                break;
            }
        }
        clock.Stop();
        var rssAfter = Rss.Current();
        return new FuzzResult(target.Name, state.Iterations, clock.Elapsed, state.Crashes, state.Hangs, state.OverAllocations,
            state.CorpusSize, state.SignatureCount, rssBefore, rssAfter, state.Failures);
    }

    private sealed class RunState(IFuzzTarget target, IReadOnlyList<byte[]> seeds, FuzzOptions options)
    {
        private readonly List<byte[]> _corpus = [.. seeds];
        private readonly HashSet<int> _signatures = [];
        private readonly HashSet<string> _seenFailures = [];
        private readonly List<FuzzFailure> _failures = [];
        private readonly object _gate = new();
        private byte[] _buffer = [];
        private int _length;

        public long IterationStartTicks;
        public volatile bool Abandoned;
        public long Iterations;
        public int Crashes;
        public int Hangs;
        public int OverAllocations;

        public int CorpusSize => _corpus.Count;

        public int SignatureCount => _signatures.Count;

        public IReadOnlyList<FuzzFailure> Failures
        {
            get
            {
                lock (_gate)
                {
                    return [.. _failures];
                }
            }
        }

        public byte[] CurrentInput()
        {
            lock (_gate)
            {
                return _buffer.AsSpan(0, _length).ToArray();
            }
        }

        public void Loop()
        {
            var random = new Random(options.Seed);
            var mutator = new Mutator(random, seeds, options.MaxInputLength);
            var buffer = new byte[options.MaxInputLength + 64];
            lock (_gate)
            {
                _buffer = buffer;
            }
            var clock = Stopwatch.StartNew();
            var dnsAware = !target.IsText;
            // Every seed runs once unmutated first.
            var seedIndex = 0;
            while (!Abandoned)
            {
                if (options.Iterations > 0 && Iterations >= options.Iterations)
                {
                    break;
                }
                if (options.Seconds > 0 && (Iterations & 63) == 0 && clock.Elapsed.TotalSeconds >= options.Seconds)
                {
                    break;
                }
                int length;
                if (seedIndex < seeds.Count)
                {
                    var seed = seeds[seedIndex++];
                    length = Math.Min(seed.Length, options.MaxInputLength);
                    seed.AsSpan(0, length).CopyTo(buffer);
                }
                else
                {
                    var parent = _corpus[random.Next(_corpus.Count)];
                    length = mutator.Mutate(parent, buffer, dnsAware, target.IsText);
                }
                Volatile.Write(ref _length, length);
                var input = buffer.AsSpan(0, length);
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var started = Stopwatch.GetTimestamp();
                Volatile.Write(ref IterationStartTicks, started);
                Exception? failure = null;
                try
                {
                    target.Run(input);
                }
                catch (Exception exception)
                {
                    failure = exception;
                }
                Volatile.Write(ref IterationStartTicks, 0);
                if (Abandoned)
                {
                    return;
                }
                var elapsed = Stopwatch.GetElapsedTime(started);
                var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                Iterations++;
                if (failure is not null)
                {
                    Crashes++;
                    Record("crash", failure.ToString(), input.ToArray());
                }
                else if (elapsed > options.HangBound)
                {
                    Hangs++;
                    Record("hang", $"took {elapsed.TotalMilliseconds:F0} ms", input.ToArray());
                }
                else if (allocated > options.AllocationBound)
                {
                    OverAllocations++;
                    Record("alloc", $"allocated {allocated:N0} bytes", input.ToArray());
                }
                else if (_signatures.Add(target.LastSignature) && _corpus.Count < options.CorpusCap)
                {
                    _corpus.Add(input.ToArray());
                }
            }
        }

        public void Record(string kind, string message, byte[] input)
        {
            // One report per distinct failure (exception type and first stack frame), every input saved.
            var key = kind + ":" + FirstLines(message, 2);
            string? savedAs = null;
            if (options.CrashDirectory is { } directory)
            {
                Directory.CreateDirectory(directory);
                var hash = Convert.ToHexStringLower(SHA256.HashData(input))[..16];
                savedAs = Path.Combine(directory, $"{target.Name}-{kind}-{hash}.bin");
                File.WriteAllBytes(savedAs, input);
                File.WriteAllText(Path.ChangeExtension(savedAs, ".txt"), message + Environment.NewLine);
            }
            lock (_gate)
            {
                if (_seenFailures.Add(key))
                {
                    _failures.Add(new FuzzFailure(kind, message, savedAs, input));
                    options.Log?.WriteLine($"[{target.Name}] {kind}: {FirstLines(message, 3)}{(savedAs is null ? "" : " -> " + savedAs)}");
                }
            }
        }

        private static string FirstLines(string text, int count)
        {
            var end = 0;
            for (var i = 0; i < count && end >= 0; i++)
            {
                end = text.IndexOf('\n', end + (i == 0 ? 0 : 1));
            }
            return end < 0 ? text : text[..end].TrimEnd();
        }
    }
}
