using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks -- --filter '*'     (add --job dry for a smoke run)
BenchmarkSwitcher.FromAssembly(typeof(Agents.Benchmarks.TextProcessingBenchmarks).Assembly).Run(args);
