using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks -- --filter '*'     (add --job dry for a smoke run)
if (args.Length > 0 && args[0] == "phases") { await Agents.Benchmarks.Phases.RunAsync(); return; }
BenchmarkSwitcher.FromAssembly(typeof(Agents.Benchmarks.TextProcessingBenchmarks).Assembly).Run(args);
