using System.Text;

namespace Agents.Tests.Vectors;

/// <summary>The blocked batch kernel and the shard's batch search, against a scalar reference and the one-query path.</summary>
public sealed class FlatBatchSearchTests
{
    public static TheoryData<DistanceMetric, int> MetricsAndDimensions()
    {
        var data = new TheoryData<DistanceMetric, int>();
        foreach (var metric in new[] { DistanceMetric.Cosine, DistanceMetric.Dot, DistanceMetric.L2 })
        {
            // Below, at and past each SIMD width, and the dataset's 384.
            foreach (var dimension in new[] { 1, 3, 8, 15, 16, 17, 31, 40, 384, 385 })
            {
                data.Add(metric, dimension);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MetricsAndDimensions))]
    public void BatchScanEqualsTheScalarReferenceWithRangesAndFilters(DistanceMetric metric, int dimension)
    {
        var random = new Random(dimension * 31 + (int)metric);
        var arena = new VectorArena(dimension);
        const int count = 1031; // not a whole number of tiles, and past one arena block
        for (var i = 0; i < count; i++)
        {
            arena.Add(RandomVector(random, dimension, metric));
        }

        // 1..9 queries cover whole query tiles, remainders and both.
        foreach (var queries in new[] { 1, 3, 4, 5, 9 })
        {
            var rows = Enumerable.Range(0, queries).Select(_ => RandomVector(random, dimension, metric)).ToArray();
            var flat = rows.SelectMany(r => r).ToArray();
            foreach (var k in new[] { 1, 10 })
            {
                Func<int, bool> accept = slot => slot % 3 != 1;
                var top = new BatchTopK(queries, k);

                // Two ranges merged into one result, the second filtered and starting off a tile boundary.
                FlatBatchSearch.Scan(arena, metric, flat, 0, 413, null, top);
                FlatBatchSearch.Scan(arena, metric, flat, 413, count, accept, top);
                for (var q = 0; q < queries; q++)
                {
                    var expected = Enumerable.Range(0, count).Where(s => s < 413 || accept(s))
                        .Select(s => (Slot: s, Score: Reference(metric, rows[q], arena[s])))
                        .OrderByDescending(x => x.Score).ThenBy(x => x.Slot).Take(k).ToArray();
                    AssertSameTop(expected, top.ToSortedArray(q), metric, rows[q], arena);
                }
            }
        }
    }

    [Fact]
    public void BatchScanSkipsEveryRejectedSlotAndCanReturnNothing()
    {
        var random = new Random(5);
        var arena = new VectorArena(24);
        for (var i = 0; i < 100; i++)
        {
            arena.Add(RandomVector(random, 24, DistanceMetric.Dot));
        }

        var queries = Enumerable.Range(0, 6 * 24).Select(_ => (float)random.NextDouble()).ToArray();
        var none = new BatchTopK(6, 5);
        FlatBatchSearch.Scan(arena, DistanceMetric.Dot, queries, 0, 100, _ => false, none);
        Assert.All(Enumerable.Range(0, 6), q => Assert.Empty(none.ToSortedArray(q)));

        var few = new BatchTopK(6, 5);
        FlatBatchSearch.Scan(arena, DistanceMetric.Dot, queries, 0, 100, slot => slot is 2 or 97, few);
        Assert.All(Enumerable.Range(0, 6), q => Assert.Equal([2, 97], few.ToSortedArray(q).Select(h => h.Slot).Order()));
    }

    [Fact]
    public void BatchTopKKeepsTheBestKOfEveryQuery()
    {
        var random = new Random(8);
        var top = new BatchTopK(3, 7);
        var offered = new List<(int Slot, float Score)>[3];
        for (var q = 0; q < 3; q++)
        {
            offered[q] = [];
        }

        for (var slot = 0; slot < 500; slot++)
        {
            for (var q = 0; q < 3; q++)
            {
                var score = (float)random.NextDouble();
                offered[q].Add((slot, score));
                top.Offer(q, slot, score);
            }
        }

        for (var q = 0; q < 3; q++)
        {
            var expected = offered[q].OrderByDescending(x => x.Score).ThenBy(x => x.Slot).Take(7).ToArray();
            Assert.Equal(expected, top.ToSortedArray(q));
            Assert.Equal(expected[^1].Score, top.Threshold(q));
        }
    }

    [Fact]
    public void BatchScanRejectsQueriesOfTheWrongSize()
    {
        var arena = new VectorArena(4);
        arena.Add([1, 2, 3, 4]);
        Assert.Throws<ArgumentException>(() => FlatBatchSearch.Scan(arena, DistanceMetric.Dot, new float[7], 0, 1, null, new BatchTopK(2, 1)));
    }

    public static TheoryData<DistanceMetric, bool> MetricsAndIndexes() => new()
    {
        { DistanceMetric.Cosine, false }, { DistanceMetric.Dot, false }, { DistanceMetric.L2, false },
        { DistanceMetric.Cosine, true }, { DistanceMetric.Dot, true }, { DistanceMetric.L2, true },
    };

    [Theory]
    [MemberData(nameof(MetricsAndIndexes))]
    public void ShardBatchEqualsOneSearchPerQueryWithDeletesAndFilters(DistanceMetric metric, bool graph)
    {
        const int dimension = 20;
        const int count = 600;
        var random = new Random(17);
        using var shard = new LocalShard(dimension, metric, graph ? new HnswParameters(M: 8, EfConstruction: 64) : null);
        for (var i = 0; i < count; i++)
        {
            shard.Upsert(new StoredPoint($"p{i}", RandomVector(random, dimension, metric), Encoding.UTF8.GetBytes($$"""{"group":{{i % 10}},"n":{{i}}}""")));
        }

        // Half in the graph; overwrites and deletes on both sides of the indexed boundary.
        for (var i = 0; i < count / 2; i++)
        {
            shard.IndexNext();
        }

        for (var i = 0; i < count; i += 7)
        {
            shard.Upsert(new StoredPoint($"p{i}", RandomVector(random, dimension, metric), Encoding.UTF8.GetBytes($$"""{"group":{{(i + 1) % 10}},"n":{{i}}}""")));
        }

        for (var i = 3; i < count; i += 11)
        {
            Assert.True(shard.Delete($"p{i}"));
        }

        Func<PayloadFields, bool>?[] filters =
        [
            null,
            f => f.HasAny("group", ["3", "4"]), // a fifth of the points: through the graph or the blocked scan
            f => f.HasInRange("n", 0, 15), // a few points: scored exactly
            f => f.HasAny("group", ["none"]),
        ];
        var queries = Enumerable.Range(0, 11).Select(_ => RandomVector(random, dimension, metric)).ToArray();
        var flat = queries.SelectMany(q => q).ToArray();
        foreach (var filter in filters)
        {
            foreach (var k in new[] { 1, 10 })
            {
                var batch = shard.SearchBatch(flat, k, ef: 64, filter);
                Assert.Equal(queries.Length, batch.Length);
                for (var q = 0; q < queries.Length; q++)
                {
                    var one = shard.Search(queries[q], k, ef: 64, filter);
                    Assert.Equal(one.Select(h => h.Id), batch[q].Select(h => h.Id));
                    for (var i = 0; i < one.Length; i++)
                    {
                        Assert.Equal(one[i].Score, batch[q][i].Score, 1e-4f);
                        Assert.Equal(one[i].Payload, batch[q][i].Payload);
                    }
                }
            }
        }

        Assert.Empty(shard.SearchBatch([], 5));
        Assert.Throws<ArgumentException>(() => shard.SearchBatch(new float[dimension + 1], 5));
    }

    /// <summary>The kernel's slots must be a true top k: their reference scores are the reference's top scores, and the scores it reports are theirs.</summary>
    private static void AssertSameTop((int Slot, float Score)[] expected, (int Slot, float Score)[] actual, DistanceMetric metric, float[] query, VectorArena arena)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var tolerance = 1e-4f * Math.Max(1, Math.Abs(expected[i].Score));
            var actualReference = Reference(metric, query, arena[actual[i].Slot]);
            Assert.True(Math.Abs(actual[i].Score - actualReference) <= tolerance, $"rank {i}: slot {actual[i].Slot} scored {actual[i].Score}, reference {actualReference}");
            Assert.True(Math.Abs(actualReference - expected[i].Score) <= tolerance, $"rank {i}: slot {actual[i].Slot} ({actualReference}) where the reference has slot {expected[i].Slot} ({expected[i].Score})");
        }

        Assert.Equal(expected.Length, actual.Select(a => a.Slot).Distinct().Count());
    }

    /// <summary>The scalar reference, summed in double.</summary>
    private static float Reference(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += metric == DistanceMetric.L2 ? (a[i] - (double)b[i]) * (a[i] - (double)b[i]) : a[i] * (double)b[i];
        }

        return (float)(metric == DistanceMetric.L2 ? -sum : sum);
    }

    private static float[] RandomVector(Random random, int dimension, DistanceMetric metric)
    {
        var vector = Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        if (metric == DistanceMetric.Cosine)
        {
            DistanceKernels.Normalize(vector);
        }

        return vector;
    }
}
