using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Agents.Inputs;
using Agents.GrainInterfaces;
using Agents.Engine.Vectors;

namespace Agents.Benchmarks;

/// <summary>
/// <c>ann --data DIR [--ef 64,128,...] [--threads 1] [--exact-queries 200] [--quantized]</c>: build time, query
/// throughput and recall@10 of the HNSW index (and, with --quantized, of the int8 index rescored on the full
/// vectors), and exact flat-scan throughput, on a TEXMEX data set (DIR/base.fvecs, DIR/query.fvecs,
/// DIR/groundtruth.ivecs). A plain stopwatch console rather than BenchmarkDotNet because one build takes minutes and
/// the numbers have to line up with hnswlib/FAISS runs on the same files (benchmarks/compare_ann.py reads
/// DIR/agents-ann.json).
/// </summary>
public static class AnnComparison
{
    // Same graph shape as the hnswlib side of compare_ann.py, so inserts/s and q/s compare like for like.
    private const int M = 16;
    private const int EfConstruction = 200;
    private const int Seed = 42;
    private const int K = 10;
    private const int SearchPasses = 3;

    // TEXMEX ground truth files conventionally hold 100 neighbours; recall only reads the first K.
    private const int TruthDepth = 100;

    /// <summary>Runs the comparison; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("usage: ann --data DIR [--ef 64,128,256,512,1200] [--threads 1] [--exact-queries 200] [--quantized]");
            return 2;
        }

        var basePath = Path.Combine(options.Data, "base.fvecs");
        var queryPath = Path.Combine(options.Data, "query.fvecs");
        var truthPath = Path.Combine(options.Data, "groundtruth.ivecs");
        if (!File.Exists(basePath) || !File.Exists(queryPath))
        {
            Console.Error.WriteLine($"'{options.Data}' needs base.fvecs and query.fvecs (compare_ann.py generates them).");
            return 2;
        }

        var load = Stopwatch.StartNew();
        var arena = LoadArena(basePath);
        var queries = VectorFiles.ReadFvecs(queryPath).ToArray();
        var n = arena.Count;
        var dim = arena.Dimension;
        if (queries.Any(q => q.Length != dim))
        {
            Console.Error.WriteLine($"query.fvecs has a dimension other than base.fvecs ({dim}).");
            return 2;
        }

        Console.WriteLine($"loaded {n} x {dim} base, {queries.Length} queries in {load.Elapsed.TotalSeconds:F1} s");

        var truthSource = "file";
        int[][] truth;
        if (File.Exists(truthPath))
        {
            truth = VectorFiles.ReadIvecs(truthPath).Take(queries.Length).ToArray();
            if (truth.Length < queries.Length || truth.Any(t => t.Length < K || t.Any(s => (uint)s >= (uint)n)))
            {
                Console.Error.WriteLine($"'{truthPath}' does not match the data (too few rows, rows shorter than {K}, or ids beyond {n}); delete it to recompute.");
                return 2;
            }
        }
        else
        {
            var gt = Stopwatch.StartNew();
            truth = ComputeTruth(arena, queries);
            WriteIvecs(truthPath, truth);
            truthSource = "computed";
            Console.WriteLine($"exact L2 ground truth (top {TruthDepth}, {Environment.ProcessorCount} threads) in {gt.Elapsed.TotalSeconds:F1} s -> {truthPath}");
        }

        // Build on one thread: HnswIndex.Add serialises writers anyway, and hnswlib is run with num_threads=1.
        var parameters = new HnswParameters(M: M, EfConstruction: EfConstruction, Seed: Seed);

        var (index, buildSeconds) = Build(arena, parameters);
        var graphBytes = index.MemoryBytes;
        var searches = options.Ef.Select(ef => TimeSearch(index, queries, truth, ef, options.Threads)).ToList();

        QuantizedReport? quantized = null;
        if (options.Quantized)
        {
            Console.WriteLine("int8 quantized index:");
            var (q8, q8Seconds) = Build(arena, parameters with { Quantize = true });
            quantized = new QuantizedReport(
                q8Seconds, n / q8Seconds, q8.CodeBytes / (double)n, q8.MemoryBytes / (double)n,
                options.Ef.Select(ef => TimeSearch(q8, queries, truth, ef, options.Threads)).ToList());
        }

        var exactCount = Math.Min(options.ExactQueries, queries.Length);
        var exactDot = TimeExact(arena, DistanceMetric.Dot, queries, exactCount, options.Threads);
        var exactL2 = TimeExact(arena, DistanceMetric.L2, queries, exactCount, options.Threads);

        var report = new Report(
            N: n,
            Dim: dim,
            Queries: queries.Length,
            Threads: options.Threads,
            M: M,
            EfConstruction: EfConstruction,
            GroundTruth: truthSource,
            BuildSeconds: buildSeconds,
            InsertsPerSecond: n / buildSeconds,
            GraphBytes: graphBytes,
            GraphBytesPerVector: graphBytes / (double)n,
            RawBytesPerVector: dim * sizeof(float),
            Search: searches,
            ExactQueries: exactCount,
            ExactDotQps: exactDot,
            ExactL2Qps: exactL2,
            Quantized: quantized);

        Print(report);
        var jsonPath = Path.Combine(options.Data, "agents-ann.json");
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(report, JsonOptions));
        Console.WriteLine($"wrote {jsonPath}");
        return 0;
    }

    private static (HnswIndex Index, double Seconds) Build(VectorArena arena, HnswParameters parameters)
    {
        // A throwaway build over the first few thousand vectors gets the insert path to optimised code first; hnswlib
        // is ahead-of-time compiled C++, so timing our JIT warm-up would only measure the runtime, not the index.
        var warm = new HnswIndex(arena, DistanceMetric.L2, parameters);
        for (var slot = 0; slot < Math.Min(arena.Count, 3000); slot++)
        {
            warm.Add(slot);
        }

        var index = new HnswIndex(arena, DistanceMetric.L2, parameters);
        var build = Stopwatch.StartNew();
        for (var slot = 0; slot < arena.Count; slot++)
        {
            index.Add(slot);
            if (slot % 25_000 == 24_999)
            {
                Console.WriteLine($"  inserted {slot + 1} in {build.Elapsed.TotalSeconds:F1} s");
            }
        }

        return (index, build.Elapsed.TotalSeconds);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static VectorArena LoadArena(string path)
    {
        VectorArena? arena = null;
        foreach (var vector in VectorFiles.ReadFvecs(path))
        {
            arena ??= new VectorArena(vector.Length);
            arena.Add(vector);
        }

        return arena ?? throw new InvalidDataException($"'{path}' holds no vectors.");
    }

    // Exact L2 top-TruthDepth per query on every core: ground truth is a one-off cost, not part of the measurement.
    private static int[][] ComputeTruth(VectorArena arena, float[][] queries)
    {
        var truth = new int[queries.Length][];
        Parallel.For(0, queries.Length, q =>
        {
            var top = new TopK(Math.Min(TruthDepth, arena.Count));
            ExactSearch.Scan(arena, DistanceMetric.L2, queries[q], 0, arena.Count, null, top);
            truth[q] = top.ToSortedArray().Select(r => r.Slot).ToArray();
        });
        return truth;
    }

    // Written to a temporary name and moved, so a run killed midway never leaves a truncated file that a later run trusts.
    private static void WriteIvecs(string path, int[][] rows)
    {
        var temporary = path + ".tmp";
        using (var writer = new BinaryWriter(File.Create(temporary)))
        {
            foreach (var row in rows)
            {
                writer.Write(row.Length);
                foreach (var value in row)
                {
                    writer.Write(value);
                }
            }
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static SearchResult TimeSearch(HnswIndex index, float[][] queries, int[][] truth, int ef, int threads)
    {
        WarmUp(queries.Length, q => index.Search(queries[q], K, ef));

        // Best of three passes: on a shared machine the slowest passes measure the neighbours, not the index
        // (the hnswlib anchor times its passes the same way).
        var results = new IReadOnlyList<ScoredSlot>[queries.Length];
        var best = double.MaxValue;
        for (var pass = 0; pass < SearchPasses; pass++)
        {
            var clock = Stopwatch.StartNew();
            if (threads == 1)
            {
                for (var q = 0; q < queries.Length; q++)
                {
                    results[q] = index.Search(queries[q], K, ef);
                }
            }
            else
            {
                Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, q => results[q] = index.Search(queries[q], K, ef));
            }

            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        var hits = 0;
        for (var q = 0; q < queries.Length; q++)
        {
            var expected = truth[q].AsSpan(0, K);
            foreach (var found in results[q])
            {
                if (expected.Contains(found.Slot))
                {
                    hits++;
                }
            }
        }

        return new SearchResult(ef, queries.Length / best, hits / (double)(K * queries.Length));
    }

    // Tiered compilation promotes a method to optimised code only after it has been hot for a while (with a
    // background delay), so a fixed handful of warm-up calls leaves the timed loop partly in tier-0 code; warming by
    // time instead makes the first and the last ef (and dot vs L2) compare fairly.
    private static void WarmUp(int count, Action<int> query)
    {
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 50 || clock.ElapsedMilliseconds < 1000; i++)
        {
            query(i % count);
        }
    }

    // Flat scan throughput only (no recall): a full scan costs n·dim per query, so a subset of the queries gives a
    // stable rate without spending minutes; the FAISS side of compare_ann.py times the same subset.
    private static double TimeExact(VectorArena arena, DistanceMetric metric, float[][] queries, int count, int threads)
    {
        void One(int q)
        {
            var top = new TopK(K);
            ExactSearch.Scan(arena, metric, queries[q], 0, arena.Count, null, top);
            top.ToSortedArray();
        }

        WarmUp(count, One);

        var clock = Stopwatch.StartNew();
        if (threads == 1)
        {
            for (var q = 0; q < count; q++)
            {
                One(q);
            }
        }
        else
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, One);
        }

        return count / clock.Elapsed.TotalSeconds;
    }

    private static void Print(Report r)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine(string.Create(c, $"Agents HNSW  n={r.N} dim={r.Dim} queries={r.Queries} M={r.M} efC={r.EfConstruction} threads={r.Threads} truth={r.GroundTruth}"));
        Console.WriteLine(string.Create(c, $"  build (1 thread)     {r.BuildSeconds,10:F1} s   {r.InsertsPerSecond,10:F0} inserts/s"));
        Console.WriteLine(string.Create(c, $"  graph                {r.GraphBytesPerVector,10:F1} B/vector   raw floats {r.RawBytesPerVector} B/vector"));
        Console.WriteLine("  ef        q/s   recall@10");
        foreach (var s in r.Search)
        {
            Console.WriteLine(string.Create(c, $"  {s.Ef,-6} {s.Qps,8:F0}   {s.RecallAt10,9:F4}"));
        }

        Console.WriteLine(string.Create(c, $"  exact dot (IP)   {r.ExactDotQps,8:F1} q/s   ({r.ExactQueries} queries)"));
        Console.WriteLine(string.Create(c, $"  exact L2         {r.ExactL2Qps,8:F1} q/s"));
        if (r.Quantized is { } q)
        {
            Console.WriteLine(string.Create(c, $"  int8 build (1 thread) {q.BuildSeconds,9:F1} s   {q.InsertsPerSecond,10:F0} inserts/s"));
            Console.WriteLine(string.Create(c, $"  int8 codes {q.CodeBytesPerVector:F1} + graph {q.GraphBytesPerVector:F1} B/vector = {(q.CodeBytesPerVector + q.GraphBytesPerVector) / r.RawBytesPerVector:F3} x raw"));
            foreach (var s in q.Search)
            {
                Console.WriteLine(string.Create(c, $"  int8 {s.Ef,-6} {s.Qps,8:F0}   {s.RecallAt10,9:F4}"));
            }
        }
    }

    /// <summary>The int8 index: build, memory held (codes and graph; the full vectors are paged in for rescoring), searches.</summary>
    public sealed record QuantizedReport(double BuildSeconds, double InsertsPerSecond, double CodeBytesPerVector, double GraphBytesPerVector, IReadOnlyList<SearchResult> Search);

    /// <summary>One ef setting: throughput and recall@10 against the exact L2 neighbours.</summary>
    public sealed record SearchResult(int Ef, double Qps, double RecallAt10);

    /// <summary>Everything measured, as written to DIR/agents-ann.json.</summary>
    public sealed record Report(
        int N,
        int Dim,
        int Queries,
        int Threads,
        int M,
        int EfConstruction,
        string GroundTruth,
        double BuildSeconds,
        double InsertsPerSecond,
        long GraphBytes,
        double GraphBytesPerVector,
        int RawBytesPerVector,
        IReadOnlyList<SearchResult> Search,
        int ExactQueries,
        double ExactDotQps,
        double ExactL2Qps,
        QuantizedReport? Quantized);

    private sealed record Options(string Data, int[] Ef, int Threads, int ExactQueries, bool Quantized)
    {
        public static Options Parse(string[] args)
        {
            string? data = null;
            int[] ef = [64, 128, 256, 512, 1200];
            var threads = 1;
            var exactQueries = 200;
            var quantized = false;
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--data":
                        data = Value();
                        break;
                    case "--ef":
                        ef = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => Positive("--ef", v)).ToArray();
                        break;
                    case "--threads":
                        threads = Positive("--threads", Value());
                        break;
                    case "--exact-queries":
                        exactQueries = Positive("--exact-queries", Value());
                        break;
                    case "--quantized":
                        quantized = true;
                        break;
                    default:
                        throw new ArgumentException($"unknown option '{args[i]}'.");
                }
            }

            return data is null ? throw new ArgumentException("--data DIR is required.")
                : ef.Length == 0 ? throw new ArgumentException("--ef needs at least one value.")
                : new Options(data, ef, threads, exactQueries, quantized);
        }

        private static int Positive(string name, string text) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v : throw new ArgumentException($"{name} '{text}' is not a positive integer.");
    }
}
