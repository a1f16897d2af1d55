using BenchmarkDotNet.Running;

namespace ClusterDns.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        // Console measurements that are not BenchmarkDotNet runs (big-cluster sync, programming latency).
        if (args.Length > 0 && args[0] is "k8s-scale" or "k8s-scale-run" or "k8s-apiserver")
        {
            return Kubernetes.ScaleRunner.MainAsync(args).GetAwaiter().GetResult();
        }
        if (args.Length > 0 && args[0] == "cache-mix")
        {
            return Pipeline.CacheMixBenchmarks.RunCpuTimed(args);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
