using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Agents.Engine.Vectors;
using Agents.Inputs;

namespace Agents.Benchmarks;

/// <summary>
/// <c>flat --data DIR [--queries 1000] [--batch 1000] [--single 50] [--metric dot|l2]</c>: exact top-10 throughput on one
/// thread of the one-query-at-a-time scan (<see cref="ExactSearch"/>, the baseline) and of the blocked batch kernel
/// (<see cref="FlatBatchSearch"/>), with the batch's recall@10 against DIR/groundtruth.ivecs, printed as one JSON line
/// last. benchmarks/compare_flat.py runs it beside FAISS IndexFlatIP on the same files.
/// </summary>
public static class FlatBatchComparison
{
    private const int K = 10;

    /// <summary>Runs the comparison; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        string? data = null;
        int queriesWanted = 1000, batch = 1000, single = 50;
        var metric = DistanceMetric.Dot;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--data": data = value; i++; break;
                case "--queries": queriesWanted = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--batch": batch = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--single": single = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--metric": metric = value == "l2" ? DistanceMetric.L2 : DistanceMetric.Dot; i++; break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    Console.Error.WriteLine("usage: flat --data DIR [--queries 1000] [--batch 1000] [--single 50] [--metric dot|l2]");
                    return 2;
            }
        }

        if (data is null || !File.Exists(Path.Combine(data, "base.fvecs")) || !File.Exists(Path.Combine(data, "query.fvecs")))
        {
            Console.Error.WriteLine("flat needs --data DIR holding base.fvecs and query.fvecs (groundtruth.ivecs for recall).");
            return 2;
        }

        VectorArena? arena = null;
        foreach (var vector in VectorFiles.ReadFvecs(Path.Combine(data, "base.fvecs")))
        {
            arena ??= new VectorArena(vector.Length);
            arena.Add(vector);
        }

        var queries = VectorFiles.ReadFvecs(Path.Combine(data, "query.fvecs")).Take(queriesWanted).ToArray();
        var dim = arena!.Dimension;
        var truthPath = Path.Combine(data, "groundtruth.ivecs");
        var truth = File.Exists(truthPath) ? VectorFiles.ReadIvecs(truthPath).Take(queries.Length).ToArray() : null;

        // Baseline: one query at a time, as LocalShard.Search scans a flat index.
        var singleCount = Math.Min(single, queries.Length);
        var clock = Stopwatch.StartNew();
        for (var q = 0; q < singleCount; q++)
        {
            ExactSearch.Scan(arena, metric, queries[q], 0, arena.Count, null, new TopK(K));
        }

        var singleQps = singleCount / clock.Elapsed.TotalSeconds;

        // The blocked kernel, the queries in batches of --batch.
        var results = new int[queries.Length][];
        clock.Restart();
        for (var first = 0; first < queries.Length; first += batch)
        {
            var count = Math.Min(batch, queries.Length - first);
            var flat = new float[count * dim];
            for (var q = 0; q < count; q++)
            {
                queries[first + q].CopyTo(flat, q * dim);
            }

            var top = new BatchTopK(count, K);
            FlatBatchSearch.Scan(arena, metric, flat, 0, arena.Count, null, top);
            for (var q = 0; q < count; q++)
            {
                results[first + q] = top.ToSortedArray(q).Select(h => h.Slot).ToArray();
            }
        }

        var batchQps = queries.Length / clock.Elapsed.TotalSeconds;
        double? recall = null;
        if (truth is not null)
        {
            recall = Enumerable.Range(0, queries.Length).Sum(q => results[q].Count(truth[q].Take(K).Contains)) / (double)(queries.Length * K);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{arena.Count} x {dim}, {metric}: one at a time {singleQps:F1} q/s ({singleCount} queries); batched {batchQps:F1} q/s ({queries.Length} queries, batches of {batch}), recall@{K} {recall:F4}; x{batchQps / singleQps:F2}"));
        Console.WriteLine(JsonSerializer.Serialize(new { single_qps = singleQps, batch_qps = batchQps, recall, batch, queries = queries.Length }));
        return 0;
    }
}
