using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks -- ann --data DIR   (HNSW vs hnswlib/FAISS numbers; see compare_ann.py)
if (args is ["ann", .. var annArgs])
{
    Environment.ExitCode = Agents.Benchmarks.AnnComparison.Run(annArgs);
    return;
}

// dotnet run -c Release --project benchmarks -- flat --data DIR [--batch 1000]   (exact batched search; see compare_flat.py)
if (args is ["flat", .. var flatArgs])
{
    Environment.ExitCode = Agents.Benchmarks.FlatBatchComparison.Run(flatArgs);
    return;
}

// dotnet run -c Release --project benchmarks -- embed [--seconds 8]   (raw ONNX Runtime embeddings/s, the e2e baseline)
if (args is ["embed", .. var embedArgs])
{
    Environment.ExitCode = Agents.Benchmarks.EmbeddingThroughput.Run(embedArgs);
    return;
}

// dotnet run -c Release --project benchmarks -- coordinator [--batches 20000] [--silos 100]   (one job grain's batches/s)
if (args is ["coordinator", .. var coordinatorArgs])
{
    Environment.ExitCode = Agents.Benchmarks.CoordinatorThroughput.Run(coordinatorArgs);
    return;
}

// dotnet run -c Release --project benchmarks -- --filter '*'     (add --job dry for a smoke run)
BenchmarkSwitcher.FromAssembly(typeof(Agents.Benchmarks.TextProcessingBenchmarks).Assembly).Run(args);
