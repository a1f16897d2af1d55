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

    public static CorefileDocument ParseFile(string path, CorefileParserOptions options)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The wording CoreDNS users see for a missing -conf file.
            throw new CorefileException($"loading Caddyfile via flag: open {path}: {DescribeIoError(e)}", path);
        }
        return Parse(text, path, options);
    }

    internal static string DescribeIoError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
