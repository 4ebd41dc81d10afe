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
