using ClusterDns.Fuzz;

return await FuzzCli.RunAsync(args, Console.Out);
