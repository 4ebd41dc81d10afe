using Agents.GrainInterfaces;
using Agents.Engine.Vectors;
using Xunit;
using Xunit.Abstractions;

namespace Agents.Tests.Vectors;

/// <summary>
/// int8 scalar quantization: the integer kernels, the quantizer's error, the memory-mapped arena, and HNSW built and
/// searched on codes with rescoring on the full vectors (clustered 10,000 × 128, M = 16, efConstruction = 100).
/// </summary>
public sealed class QuantizationTests(ITestOutputHelper output)
{
    [Fact]
    public void Int8SimdEqualsTheScalarReferenceAtEveryLength()
    {
        var random = new Random(7);
        foreach (var length in Enumerable.Range(1, 80).Concat([127, 128, 129, 383, 384, 385, 448, 511, 512, 513, 1000, 4096]))
        {
            var a = new sbyte[length];
            var b = new sbyte[length];
            for (var i = 0; i < length; i++)
            {
                a[i] = (sbyte)random.Next(-127, 128);
                b[i] = (sbyte)random.Next(-127, 128);
            }

            long dot = 0, squared = 0;
            for (var i = 0; i < length; i++)
            {
                dot += a[i] * b[i];
                squared += (a[i] - b[i]) * (a[i] - b[i]);
            }

            Assert.Equal(dot, Int8Kernels.DotSimd(a, b));
            Assert.Equal(dot, Int8Kernels.DotScalar(a, b));
            Assert.Equal(squared, Int8Kernels.SquaredDistanceSimd(a, b));
            Assert.Equal(squared, Int8Kernels.SquaredDistanceScalar(a, b));
        }

        // The extremes at the largest dimension do not overflow.
        var high = Enumerable.Repeat((sbyte)127, 4096).ToArray();
        var low = Enumerable.Repeat((sbyte)-127, 4096).ToArray();
        Assert.Equal(4096 * 127 * 127, Int8Kernels.DotSimd(high, high));
        Assert.Equal(4096 * 254 * 254, Int8Kernels.SquaredDistanceSimd(high, low));
        Assert.Throws<ArgumentException>(() => Int8Kernels.DotSimd(high, low.AsSpan(1)));
    }

    [Theory]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.Dot)]
    [InlineData(DistanceMetric.L2)]
    public void QuantizedScoresTrackTheExactScores(DistanceMetric metric)
    {
        var arena = HnswTestData.Clustered(2_000, 96, clusters: 20, seed: 3, normalise: metric == DistanceMetric.Cosine);
        var quantizer = ScalarQuantizer.Train(arena, metric, arena.Count);
        Assert.True(quantizer.Low < quantizer.High);

        var codes = new QuantizedCodes(quantizer);
        for (var slot = 0; slot < arena.Count; slot++)
        {
            codes.Add(arena[slot]);
        }

        // Decoded values are within half a step of the originals inside the range.
        var slotCodes = codes[10];
        for (var i = 0; i < 96; i++)
        {
            var x = Math.Clamp(arena[10][i], quantizer.Low, quantizer.High);
            Assert.InRange(quantizer.Centre + (quantizer.Step * slotCodes[i]) - x, -quantizer.Step * 0.51f, quantizer.Step * 0.51f);
        }

        // Approximate scores stay close to the exact ones (relative to the spread of scores), so rescoring has little to fix.
        var exact = new List<float>();
        var approximate = new List<float>();
        for (var pair = 0; pair < 500; pair++)
        {
            var (a, b) = (pair * 3 % arena.Count, ((pair * 7) + 1) % arena.Count);
            exact.Add(DistanceKernels.ScoreScalar(metric, arena[a], arena[b]));
            approximate.Add(codes.Score(codes[a], codes.Bias(a), b));
        }

        var spread = exact.Max() - exact.Min();
        var errors = exact.Zip(approximate, (e, q) => Math.Abs(e - q)).ToList();
        output.WriteLine($"{metric}: mean score error {errors.Average():F4}, worst {errors.Max():F4}, of a spread of {spread:F4}");
        Assert.True(errors.Average() < 0.01 * spread, $"mean error {errors.Average()} against spread {spread}");
        Assert.True(errors.Max() < 0.05 * spread, $"worst error {errors.Max()} against spread {spread}");
        Assert.Equal(2L * 1024 * (96 + 4), codes.MemoryBytes);
    }

    [Fact]
    public void ValuesBeyondTheRangeClipToTheEndCodes()
    {
        var quantizer = new ScalarQuantizer(DistanceMetric.L2, 3, -1, 1);
        var codes = new sbyte[3];
        quantizer.Encode([-5, 0, 5], codes);
        Assert.Equal(new sbyte[] { -127, 0, 127 }, codes);
        Assert.Throws<ArgumentException>(() => new ScalarQuantizer(DistanceMetric.L2, 3, 1, -1));
        Assert.Throws<ArgumentException>(() => new ScalarQuantizer(DistanceMetric.L2, 3, float.NaN, 1));

        // A constant sample still gives a usable quantizer.
        var flat = new ScalarQuantizer(DistanceMetric.Dot, 3, 0.5f, 0.5f);
        Assert.True(flat.Step > 0);
    }

    [Fact]
    public void MemoryMappedArenaHoldsWhatAHeapArenaHolds()
    {
        var directory = Directory.CreateTempSubdirectory("agents-mapped-").FullName;
        try
        {
            var heap = new VectorArena(33);
            using var mapped = VectorArena.MemoryMapped(33, directory);
            var random = new Random(1);
            for (var i = 0; i < 2_500; i++)
            {
                var v = Enumerable.Range(0, 33).Select(_ => (float)random.NextDouble()).ToArray();
                Assert.Equal(heap.Add(v), mapped.Add(v));
            }

            Assert.True(mapped.IsMemoryMapped);
            Assert.Equal(0, mapped.AllocatedBytes);
            Assert.Equal(3L * 1024 * 33 * sizeof(float), mapped.MappedBytes);
            for (var slot = 0; slot < heap.Count; slot += 97)
            {
                Assert.True(heap[slot].SequenceEqual(mapped[slot]));
            }

            Assert.Throws<ArgumentOutOfRangeException>(() => mapped[2_500].Length);

            // The scratch file is unlinked as soon as it is open: nothing to clean up after a crash.
            Assert.Empty(Directory.GetFiles(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.L2)]
    public void QuantizedHnswKeepsRecallAtEf64AndHoldsAQuarterOfTheFloats(DistanceMetric metric)
    {
        var (arena, index) = Build(metric, 10_000, 128, seed: 17, addFirst: true);
        var queries = HnswTestData.ClusteredQueries(150, 128, clusters: 50, seed: 17, normalise: metric == DistanceMetric.Cosine);

        var recall = HnswTestData.Recall(index, arena, metric, queries, k: 10, ef: 64);

        output.WriteLine($"quantized recall@10 {metric}: {recall:F4}; codes {index.CodeBytes / (double)index.Count:F0} B/vector, graph {index.MemoryBytes / (double)index.Count:F0} B/vector");
        Assert.True(recall >= 0.95, $"quantized recall@10 {recall:F4}");

        // Results carry exact scores (rescored on the full vectors), best first.
        var hits = index.Search(queries[0], 10, 64);
        for (var i = 0; i < hits.Count; i++)
        {
            Assert.Equal(DistanceKernels.Score(metric, Prepared(queries[0], metric), arena[hits[i].Slot]), hits[i].Score, 4);
            Assert.True(i == 0 || hits[i - 1].Score >= hits[i].Score);
        }

        Assert.InRange(index.CodeBytes, 10_000L * 132, 10_240L * 132);
    }

    [Fact]
    public void QuantizedHnswGrownOnePointAtATimeRetrainsAndKeepsRecall()
    {
        // Training on the first vector alone would give a useless range; it is learnt again as the arena grows.
        var (arena, index) = Build(DistanceMetric.L2, 6_000, 64, seed: 23, addFirst: false);
        var queries = HnswTestData.ClusteredQueries(100, 64, clusters: 50, seed: 23, normalise: false);

        var recall = HnswTestData.Recall(index, arena, DistanceMetric.L2, queries, k: 10, ef: 64);

        output.WriteLine($"quantized recall@10 after incremental growth: {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 {recall:F4}");
    }

    [Fact]
    public void QuantizedFilteredSearchAndDeletes()
    {
        var (arena, index) = Build(DistanceMetric.L2, 5_000, 48, seed: 29, addFirst: true);
        var queries = HnswTestData.ClusteredQueries(80, 48, clusters: 50, seed: 29, normalise: false);
        static bool Filter(int slot) => slot % 10 == 4;

        var filtered = HnswTestData.Recall(index, arena, DistanceMetric.L2, queries, k: 10, ef: 64, Filter);
        output.WriteLine($"quantized filtered recall@10: {filtered:F4}");
        Assert.True(filtered >= 0.9, $"filtered recall@10 {filtered:F4}");

        var nearest = index.Search(queries[0], 1, 64)[0].Slot;
        index.Delete(nearest);
        Assert.DoesNotContain(index.Search(queries[0], 10, 64), r => r.Slot == nearest);
    }

    [Fact]
    public void QuantizedSaveThenLoadGivesIdenticalResults()
    {
        var (arena, index) = Build(DistanceMetric.Dot, 3_000, 40, seed: 37, addFirst: true);
        var queries = HnswTestData.ClusteredQueries(40, 40, clusters: 50, seed: 37, normalise: false);
        using var stream = new MemoryStream();
        index.Save(stream);
        stream.Position = 0;

        var loaded = HnswIndex.Load(stream, arena);

        Assert.True(loaded.Parameters.Quantize);
        Assert.Equal(index.CodeBytes, loaded.CodeBytes);
        foreach (var query in queries)
        {
            Assert.Equal(index.Search(query, 10, 64), loaded.Search(query, 10, 64));
        }

        // An empty quantized index saves and loads too (nothing trained yet).
        var empty = new HnswIndex(new VectorArena(4), DistanceMetric.L2, new HnswParameters(Quantize: true));
        using var emptyStream = new MemoryStream();
        empty.Save(emptyStream);
        emptyStream.Position = 0;
        Assert.Equal(0, HnswIndex.Load(emptyStream, new VectorArena(4)).Count);
    }

    private static float[] Prepared(float[] query, DistanceMetric metric)
    {
        var copy = (float[])query.Clone();
        if (metric == DistanceMetric.Cosine)
        {
            DistanceKernels.Normalize(copy);
        }

        return copy;
    }

    private static (VectorArena Arena, HnswIndex Index) Build(DistanceMetric metric, int count, int dimension, int seed, bool addFirst)
    {
        var source = HnswTestData.Clustered(count, dimension, clusters: 50, seed, normalise: metric == DistanceMetric.Cosine);
        var arena = source;
        var parameters = new HnswParameters(M: 16, EfConstruction: 100, Quantize: true);
        if (addFirst)
        {
            var index = new HnswIndex(arena, metric, parameters);
            for (var slot = 0; slot < arena.Count; slot++)
            {
                index.Add(slot);
            }

            return (arena, index);
        }

        arena = new VectorArena(dimension);
        var grown = new HnswIndex(arena, metric, parameters);
        for (var slot = 0; slot < source.Count; slot++)
        {
            grown.Add(arena.Add(source[slot]));
        }

        return (arena, grown);
    }
}
