using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
using SharpFuzz;

namespace ClusterDns.Fuzz.Engine;

/// <summary>
/// Coverage-guided fuzzing of one in-process target under AFL++ (<c>afl.sh</c> beside the project): SharpFuzz's
/// out-of-process fork server (<see cref="Fuzzer.OutOfProcess.Run(Action{Stream})"/>) runs the target in a child
/// process that it restarts when the child dies, so a stack overflow or a hang is reported rather than ending the
/// campaign. Edge coverage comes from the ClusterDns assemblies instrumented with the <c>sharpfuzz</c> tool.
/// <para>
/// The target's own checks are the oracle: whatever escapes <see cref="IFuzzTarget.Run"/> — an unexpected exception
/// or a <see cref="FuzzInvariantException"/> (round trip, size limit, TC bit...) — is reported to AFL as a crash.
/// Allocation beyond the bound is a crash too; AFL's <c>-t</c> is the hang bound. Each input runs on one long-lived
/// worker thread with the thread pool's stack size (1.5 MiB), where the server runs this code, so recursion that a
/// main thread survives still overflows here. Without AFL (no <c>__AFL_SHM_ID</c>) the input is read once from
/// standard input, which replays a saved AFL crash: <c>dotnet ClusterDns.Fuzz.dll --afl --target k8s &lt; crash</c>.
/// </para>
/// </summary>
public static class AflDriver
{
    public const int WorkerStackSize = 1536 * 1024;

    /// <param name="createTarget">Called on the worker thread before the first input. Nothing of the instrumented
    /// assemblies may run before SharpFuzz has attached AFL's coverage map (instrumented code writes to it), and the
    /// fork server's parent process never attaches one: so the target (which may construct ClusterDns objects) is made
    /// only inside the first run.</param>
    public static void Run(string name, Func<IFuzzTarget> createTarget, int maxInputLength, long allocationBound)
    {
        var worker = new Worker(name, createTarget, maxInputLength, allocationBound);
        Fuzzer.OutOfProcess.Run(worker.RunOne);
    }

    /// <summary>The AFL dictionary (<c>-x</c>) of a target: the text mutator's tokens, plus the plugin directive names for
    /// Corefiles. Packets get none: binary, and the seeds carry their magic values.</summary>
    public static string Dictionary(string target, IEnumerable<string> directives)
    {
        var tokens = new List<string>(Mutator.TextTokens);
        if (target == "corefile")
        {
            tokens.AddRange(directives);
        }
        var text = new StringBuilder();
        var index = 0;
        foreach (var token in tokens)
        {
            text.Append("t").Append(index++).Append("=\"");
            foreach (var octet in Encoding.UTF8.GetBytes(token))
            {
                if (octet is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\')
                {
                    text.Append((char)octet);
                }
                else
                {
                    text.Append("\\x").Append(octet.ToString("X2", CultureInfo.InvariantCulture));
                }
            }
            text.Append("\"\n");
        }
        return text.ToString();
    }

    /// <summary>Reads up to <paramref name="buffer"/>'s length from the stream; the rest of a longer input is ignored
    /// (AFL then learns that those bytes change nothing).</summary>
    public static int ReadInput(Stream stream, byte[] buffer)
    {
        var length = 0;
        while (length < buffer.Length)
        {
            var read = stream.Read(buffer, length, buffer.Length - length);
            if (read == 0)
            {
                break;
            }
            length += read;
        }
        return length;
    }

    /// <summary>Runs inputs one at a time on a thread of its own and hands back what escaped.</summary>
    private sealed class Worker
    {
        private readonly Func<IFuzzTarget> _createTarget;
        private IFuzzTarget? _target;
        private readonly long _allocationBound;
        private readonly byte[] _buffer;
        private readonly SemaphoreSlim _start = new(0, 1);
        private readonly SemaphoreSlim _done = new(0, 1);
        private int _length;
        private ExceptionDispatchInfo? _failure;

        public Worker(string name, Func<IFuzzTarget> createTarget, int maxInputLength, long allocationBound)
        {
            _createTarget = createTarget;
            _allocationBound = allocationBound;
            _buffer = new byte[maxInputLength];
            new Thread(Loop, WorkerStackSize) { IsBackground = true, Name = "afl-" + name }.Start();
        }

        public void RunOne(Stream input)
        {
            _length = ReadInput(input, _buffer);
            _failure = null;
            _start.Release();
            _done.Wait();
            _failure?.Throw();
        }

        private void Loop()
        {
            while (true)
            {
                _start.Wait();
                try
                {
                    _target ??= _createTarget();
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    _target.Run(_buffer.AsSpan(0, _length));
                    var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                    if (allocated > _allocationBound)
                    {
                        throw new FuzzInvariantException($"allocated {allocated:N0} bytes for a {_length}-octet input");
                    }
                }
                catch (Exception exception)
                {
                    _failure = ExceptionDispatchInfo.Capture(exception);
                }
                _done.Release();
            }
        }
    }
}
