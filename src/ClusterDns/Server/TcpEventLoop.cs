using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>
/// Linux: readiness of DNS-over-TCP connections from our own epoll threads (one per CPU the process may use, started
/// with the first connection). Each connection is registered once, edge-triggered; when data arrives for a reader
/// that waits, the loop thread resumes the reader itself — receive, answer, send, wait again — with no hop to the
/// thread pool and no system call to re-arm. That hop (socket event thread → pool worker → context switch, per query) is what made one query
/// at a time per connection (CoreDNS <c>forward</c>'s <c>force_tcp</c> pool) cost twice Knot's CPU; .NET's own switch
/// for it, <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c>, is process-wide and would also run the Kubernetes
/// client's HTTP reads and JSON parsing on the socket threads. Only these connections run here; answers that wait on
/// I/O (forward) finish on the pool as before. The UDP side has its own receive threads the same way.
/// </summary>
internal sealed partial class TcpEventLoop
{
    private const int EpollIn = 0x001;
    private const int EpollRdHup = 0x2000;
    private const int EpollEdgeTriggered = 1 << 31;
    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int Eintr = 4;
    private const int MaxEvents = 64;

    private static readonly Lock Gate = new();
    private static TcpEventLoop[]? s_loops;
    private static int s_next;

    private readonly int _epoll;
    private readonly ConcurrentDictionary<long, ReadyWaiter> _waiters = new();
    private readonly ILogger _logger;
    private long _nextId;

    private TcpEventLoop(int index, ILogger logger)
    {
        _logger = logger;
        _epoll = epoll_create1(0x80000 /* EPOLL_CLOEXEC */);
        if (_epoll < 0)
        {
            throw new InvalidOperationException($"epoll_create1 failed with errno {Marshal.GetLastPInvokeError()}");
        }
        new Thread(Run) { IsBackground = true, Name = $"dns-tcp-loop-{index}" }.Start();
    }

    /// <summary>64-bit Linux on x64 or arm64 (the two epoll_event layouts below); <c>CLUSTERDNS_TCP_EVENT_LOOP=0</c>
    /// keeps every connection on .NET's socket engine instead.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64
        && Environment.GetEnvironmentVariable("CLUSTERDNS_TCP_EVENT_LOOP") != "0";

    // struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86-64 (12 octets), aligned elsewhere (16).
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    /// <summary>A waiter for one connection's socket on one of the loops (round robin).</summary>
    public static ReadyWaiter Register(nint fd, ILogger logger)
    {
        var loops = s_loops;
        if (loops is null)
        {
            lock (Gate)
            {
                if (s_loops is null)
                {
                    var count = Math.Max(1, Environment.ProcessorCount);
                    var created = new TcpEventLoop[count];
                    for (var i = 0; i < count; i++)
                    {
                        created[i] = new TcpEventLoop(i, logger);
                    }
                    s_loops = created;
                }
                loops = s_loops;
            }
        }
        var loop = loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)loops.Length)];
        var waiter = new ReadyWaiter(loop, (int)fd, Interlocked.Increment(ref loop._nextId));
        loop._waiters[waiter.Id] = waiter;
        waiter.Add();
        return waiter;
    }

    private unsafe bool Control(int op, int fd, long id)
    {
        var ev = stackalloc byte[16];
        Unsafe.WriteUnaligned(ev, EpollIn | EpollRdHup | EpollEdgeTriggered);
        Unsafe.WriteUnaligned(ev + DataOffset, id);
        return epoll_ctl(_epoll, op, fd, ev) == 0;
    }

    private unsafe void Run()
    {
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventSize));
        while (true)
        {
            var count = epoll_wait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                var error = Marshal.GetLastPInvokeError();
                if (error != Eintr)
                {
                    LogWaitFailed(_logger, error);
                    Thread.Sleep(10);
                }
                continue;
            }
            for (var i = 0; i < count; i++)
            {
                var id = Unsafe.ReadUnaligned<long>(events + i * EventSize + DataOffset);
                if (_waiters.TryGetValue(id, out var waiter))
                {
                    try
                    {
                        waiter.Signal(); // runs the connection's reader here, up to its next wait
                    }
                    catch (Exception exception) when (exception is not OutOfMemoryException)
                    {
                        LogUnexpected(_logger, exception);
                    }
                }
            }
        }
    }

    /// <summary>
    /// One connection's readiness: <see cref="WaitReadableAsync"/> completes (on the loop thread, continuation inline)
    /// at the next edge — data arrived, hang-up, error — or at once when one came while the reader was busy (the reader
    /// then finds data or EAGAIN and waits again); false once aborted. The reader reads until a short read, so no
    /// data is left behind an edge.
    /// </summary>
    internal sealed class ReadyWaiter : IValueTaskSource<bool>, IDisposable
    {
        private readonly TcpEventLoop _loop;
        private readonly int _fd;
        private ManualResetValueTaskSourceCore<bool> _core; // continuations run synchronously, on the completing thread
        private bool _added;
        private int _armed;
        private int _ready;
        private int _aborted;

        public ReadyWaiter(TcpEventLoop loop, int fd, long id)
        {
            _loop = loop;
            _fd = fd;
            Id = id;
        }

        public long Id { get; }

        /// <summary>Completes true when the socket is readable (or at its end), false after <see cref="Abort"/>.</summary>
        public ValueTask<bool> WaitReadableAsync()
        {
            _core.Reset();
            Interlocked.Exchange(ref _armed, 1);
            if (Volatile.Read(ref _aborted) != 0 || !_added)
            {
                Complete(false); // closing, or the descriptor could not be registered: the end of the connection
            }
            else if (Volatile.Read(ref _ready) != 0)
            {
                Complete(true);
            }
            return new ValueTask<bool>(this, _core.Version);
        }

        internal void Add() => _added = _loop.Control(CtlAdd, _fd, Id);

        /// <summary>An edge from the loop: wakes the waiting reader, or is remembered for its next wait.</summary>
        internal void Signal()
        {
            Volatile.Write(ref _ready, 1);
            Complete(true);
        }

        private void Complete(bool ready)
        {
            if (Interlocked.Exchange(ref _armed, 0) == 1)
            {
                Volatile.Write(ref _ready, 0);
                _core.SetResult(ready);
            }
        }

        /// <summary>Ends the pending wait (and every later one) with false: the connection is being closed.</summary>
        public void Abort()
        {
            Interlocked.Exchange(ref _aborted, 1);
            Complete(false);
        }

        /// <summary>Unregisters (before the socket is closed, so a reused descriptor number is never touched).</summary>
        public void Dispose()
        {
            _loop._waiters.TryRemove(Id, out _);
            if (_added)
            {
                _loop.Control(CtlDel, _fd, Id);
                _added = false;
            }
        }

        public bool GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "epoll_wait failed with errno {Errno}")]
    private static partial void LogWaitFailed(ILogger logger, int errno);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected error resuming a TCP connection")]
    private static partial void LogUnexpected(ILogger logger, Exception exception);
}
