using ClusterDns.Fuzz.Seeds;

namespace ClusterDns.Fuzz.Engine;

/// <summary>Finds the committed seed corpus (bench/ClusterDns.Fuzz/corpus/&lt;name&gt;/) from the checkout.</summary>
public static class Corpus
{
    /// <summary>The repository root: the first directory above the working directory or the binaries holding ClusterDns.slnx.</summary>
    public static string? RepositoryRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "ClusterDns.slnx")))
                {
                    return directory.FullName;
                }
            }
        }
        return null;
    }

    public static string Directory(string name) =>
        Path.Combine(RepositoryRoot() ?? throw new InvalidOperationException("ClusterDns.slnx not found above the working directory"),
            "bench", "ClusterDns.Fuzz", "corpus", name);

    /// <summary>Seeds of a corpus folder in name order. The binary corpus falls back to the generated packets when the
    /// folder is missing (it is those packets written out).</summary>
    public static IReadOnlyList<byte[]> Load(string name)
    {
        var directory = Directory(name);
        if (!System.IO.Directory.Exists(directory))
        {
            if (name == "wire")
            {
                var packets = new List<byte[]>();
                foreach (var (_, packet) in SeedPackets.All())
                {
                    packets.Add(packet);
                }
                return packets;
            }
            throw new DirectoryNotFoundException(directory);
        }
        var files = System.IO.Directory.GetFiles(directory);
        Array.Sort(files, StringComparer.Ordinal);
        var seeds = new List<byte[]>(files.Length);
        foreach (var file in files)
        {
            seeds.Add(File.ReadAllBytes(file));
        }
        return seeds;
    }

    /// <summary>Writes the generated binary seeds to corpus/wire/NAME.bin.</summary>
    public static int WriteWire(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var count = 0;
        foreach (var (name, packet) in SeedPackets.All())
        {
            File.WriteAllBytes(Path.Combine(directory, name + ".bin"), packet);
            count++;
        }
        return count;
    }
}
