namespace ClusterDns.Corefile;

/// <summary>Parses a Corefile into server blocks, behaviour-compatible with CoreDNS (coredns/caddy).</summary>
public static class CorefileParser
{
    public static CorefileDocument Parse(string text, string fileName, CorefileParserOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(options);
        var run = new ParseRun(fileName, options);
        return run.Run(text);
    }

    public static CorefileDocument ParseFile(string path, CorefileParserOptions options) =>
        Parse(ReadFile(path), path, options);

    /// <summary>
    /// Reads the main Corefile. A file that cannot be read fails with the words CoreDNS users see for a bad
    /// <c>-conf</c>: <c>loading Caddyfile via flag: open PATH: REASON</c>, naming <paramref name="shownPath"/> (the path
    /// as the user gave it; <paramref name="path"/> by default).
    /// </summary>
    public static string ReadFile(string path, string? shownPath = null)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorefileException($"loading Caddyfile via flag: {OpenError(shownPath ?? path, e)}", path);
        }
    }

    /// <summary>Go's <c>*os.PathError</c> text for a file that could not be opened: <c>open PATH: REASON</c>.</summary>
    internal static string OpenError(string path, Exception e) => $"open {path}: {DescribeIoError(e)}";

    private static string DescribeIoError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
