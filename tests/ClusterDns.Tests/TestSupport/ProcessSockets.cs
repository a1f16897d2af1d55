using System.Globalization;

namespace ClusterDns.Tests.TestSupport;

/// <summary>One TCP socket as <c>/proc/net/tcp{,6}</c> lists it.</summary>
internal readonly record struct TcpSocket(int LocalPort, int RemotePort, string State, long Inode);

/// <summary>
/// A process's TCP sockets and file descriptors from <c>/proc</c>: its sockets are the <c>socket:[inode]</c> links in
/// <c>/proc/PID/fd</c>, matched against the namespace's <c>/proc/net/tcp</c> and <c>tcp6</c>.
/// </summary>
internal static class ProcessSockets
{
    private static readonly Dictionary<string, string> States = new(StringComparer.Ordinal)
    {
        ["01"] = "ESTABLISHED", ["02"] = "SYN_SENT", ["03"] = "SYN_RECV", ["04"] = "FIN_WAIT1", ["05"] = "FIN_WAIT2",
        ["06"] = "TIME_WAIT", ["07"] = "CLOSE", ["08"] = "CLOSE_WAIT", ["09"] = "LAST_ACK", ["0A"] = "LISTEN", ["0B"] = "CLOSING",
    };

    /// <summary>Open file descriptors of <paramref name="pid"/>.</summary>
    public static int FileDescriptors(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>Open file descriptors of <paramref name="pid"/> other than assemblies and symbol files the runtime opens
    /// on first use (sockets, pipes, epoll and other files: what a leak would grow).</summary>
    public static int NonAssemblyFileDescriptors(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Count(fd =>
    {
        try
        {
            var target = new FileInfo(fd).LinkTarget ?? "";
            return !target.EndsWith(".dll", StringComparison.Ordinal) && !target.EndsWith(".pdb", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    });

    /// <summary>Open file descriptors of <paramref name="pid"/> by kind (socket, anon_inode:[eventpoll], pipe, a path), as text.</summary>
    public static string DescribeFileDescriptors(int pid)
    {
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            string kind;
            try
            {
                var target = new FileInfo(fd).LinkTarget ?? "?";
                var bracket = target.IndexOf(":[", StringComparison.Ordinal);
                kind = target.StartsWith("anon_inode:", StringComparison.Ordinal) || bracket < 0 ? target : target[..bracket];
            }
            catch (IOException)
            {
                continue;
            }
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        return string.Join(", ", kinds.Select(k => $"{k.Key}×{k.Value}"));
    }

    /// <summary>The TCP sockets <paramref name="pid"/> holds.</summary>
    public static List<TcpSocket> Of(int pid)
    {
        var inodes = new HashSet<long>();
        foreach (var fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue;   // closed meanwhile
            }
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(long.Parse(target.AsSpan(8, target.Length - 9), CultureInfo.InvariantCulture));
            }
        }
        var sockets = new List<TcpSocket>();
        foreach (var table in new[] { $"/proc/{pid}/net/tcp", $"/proc/{pid}/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10 || !long.TryParse(f[9], CultureInfo.InvariantCulture, out var inode) || !inodes.Contains(inode))
                {
                    continue;
                }
                sockets.Add(new TcpSocket(Port(f[1]), Port(f[2]), States.GetValueOrDefault(f[3], f[3]), inode));
            }
        }
        return sockets;

        static int Port(string address) => int.Parse(address.AsSpan(address.LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    /// <summary>Sockets of <paramref name="pid"/> connected to <paramref name="remotePort"/>, as "STATE×count" text for messages.</summary>
    public static string Describe(int pid, int remotePort) =>
        string.Join(", ", Of(pid).Where(s => s.RemotePort == remotePort).GroupBy(s => s.State).Select(g => $"{g.Key}×{g.Count()}"));
}
