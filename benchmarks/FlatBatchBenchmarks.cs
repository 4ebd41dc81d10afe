using Agents.Engine.Vectors;
using BenchmarkDotNet.Attributes;

namespace Agents.Benchmarks;

/// <summary>
/// memory_operations: exact top-10 of 64 queries over 20,000 vectors of 384 dimensions (inner product), one query at a
/// time through the existing scan (baseline) and all at once through the blocked batch kernel.
/// </summary>
[BenchmarkCategory(Suites.MemoryOperations)]
[JsonExporterAttribute.Full]
public class FlatBatchBenchmarks
{
    private const int Dimension = 384;
    private const int Points = 20_000;
    private const int K = 10;
    private VectorArena _arena = null!;
    private float[][] _queries = [];
    private float[] _flat = [];

    /// <summary>Queries per batch.</summary>
    [Params(64)]
    public int Queries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        float[] Unit()
        {
            var v = Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            DistanceKernels.Normalize(v);
            return v;
        }

        _arena = new VectorArena(Dimension);
        for (var i = 0; i < Points; i++)
        {
            _arena.Add(Unit());
        }

        _queries = Enumerable.Range(0, Queries).Select(_ => Unit()).ToArray();
        _flat = _queries.SelectMany(q => q).ToArray();
    }

    [Benchmark(Baseline = true)]
    public int OneQueryAtATime()
    {
        var found = 0;
        foreach (var query in _queries)
        {
            var top = new TopK(K);
            ExactSearch.Scan(_arena, DistanceMetric.Dot, query, 0, _arena.Count, null, top);
            found += top.Count;
        }

        return found;
    }

    [Benchmark]
    public int Batched()
    {
        var top = new BatchTopK(Queries, K);
        FlatBatchSearch.Scan(_arena, DistanceMetric.Dot, _flat, 0, _arena.Count, null, top);
        return top.ToSortedArray(0).Length;
    }

    [Benchmark]
    public int BatchedL2()
    {
        var top = new BatchTopK(Queries, K);
        FlatBatchSearch.Scan(_arena, DistanceMetric.L2, _flat, 0, _arena.Count, null, top);
        return top.ToSortedArray(0).Length;
    }
}

/// <summary>
/// memory_operations: 64 HNSW queries (top 10, ef 64) on a 5,000-point 384-d shard, one LocalShard.Search each
/// (baseline) and as one LocalShard.SearchBatch, which runs them back to back on this thread.
/// </summary>
[BenchmarkCategory(Suites.MemoryOperations)]
[JsonExporterAttribute.Full]
public class HnswBatchBenchmarks
{
    private const int Dimension = 384;
    private const int Points = 5_000;
    private const int Queries = 64;
    private LocalShard _shard = null!;
    private float[][] _queries = [];
    private float[] _flat = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(9);
        float[] Unit()
        {
            var v = Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            DistanceKernels.Normalize(v);
            return v;
        }

        _shard = new LocalShard(Dimension, DistanceMetric.Cosine, new HnswParameters(M: 16, EfConstruction: 100));
        for (var i = 0; i < Points; i++)
        {
            _shard.Upsert(new Agents.Engine.Vectors.Storage.StoredPoint($"p{i}", Unit(), []));
        }

        while (_shard.IndexNext())
        {
        }

        _queries = Enumerable.Range(0, Queries).Select(_ => Unit()).ToArray();
        _flat = _queries.SelectMany(q => q).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _shard.Dispose();

    [Benchmark(Baseline = true)]
    public int OneQueryAtATime()
    {
        var found = 0;
        foreach (var query in _queries)
        {
            found += _shard.Search(query, 10, 64).Length;
        }

        return found;
    }

    [Benchmark]
    public int Batched() => _shard.SearchBatch(_flat, 10, 64).Sum(hits => hits.Length);
}
