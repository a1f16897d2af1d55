namespace ClusterDns;

internal static class Program
{
    // Placeholder entry point; the real CLI lands with the server core.
    private static int Main() => 0;
}
