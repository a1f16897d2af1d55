using System.Diagnostics;
using System.Text;

namespace ClusterDns.NodeLocal;

/// <summary>What a host tool (<c>ip</c>, <c>iptables</c>) printed and how it exited.</summary>
internal readonly record struct HostCommandResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"exit {ExitCode}: {(Stderr.Length > 0 ? Stderr : Stdout).Trim()}";
}

/// <summary>Runs the host's own <c>ip</c> and <c>iptables</c> binaries, as node-cache's iptables wrapper does.</summary>
internal static class HostCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task<HostCommandResult> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken = default)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            return new HostCommandResult(127, string.Empty, $"{fileName}: {exception.Message}");
        }
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            // Stopping (the caller's token): the periodic check ends here rather than trying the next rule.
            cancellationToken.ThrowIfCancellationRequested();
            return new HostCommandResult(124, string.Empty, $"{Describe(fileName, arguments)}: timed out");
        }
        return new HostCommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    public static string Describe(string fileName, IReadOnlyList<string> arguments)
    {
        var text = new StringBuilder(fileName);
        foreach (var argument in arguments)
        {
            text.Append(' ').Append(argument);
        }
        return text.ToString();
    }
}
