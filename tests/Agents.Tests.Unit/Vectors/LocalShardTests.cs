using System.Text;

namespace Agents.Tests.Vectors;

/// <summary>A shard's points in memory, without a cluster: upserts, overwrites, deletes, filtered search against brute force, restore from a store.</summary>
public sealed class LocalShardTests : IDisposable
{
    private const int Dim = 8;
    private readonly StorageTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<DistanceMetric, bool> MetricsAndIndexes() => new()
    {
        { DistanceMetric.Cosine, false }, { DistanceMetric.Dot, false }, { DistanceMetric.L2, false },
        { DistanceMetric.Cosine, true }, { DistanceMetric.Dot, true }, { DistanceMetric.L2, true },
    };

    [Fact]
    public void UpsertThenGetReturnsThePointAsStored()
    {
        using var shard = new LocalShard(Dim, DistanceMetric.Dot, graph: null);
        var point = Point("a", 1, """{"tag":"x"}""");
        shard.Upsert(point);

        var got = shard.Get("a");
        Assert.NotNull(got);
        Assert.Equal(point.Vector, got.Vector);
        Assert.Equal(point.Payload, got.Payload);
        Assert.Null(shard.Get("b"));
        Assert.True(shard.Contains("a"));
        Assert.Equal(1, shard.LiveCount);
        Assert.Equal(0, shard.DeadSlots);
    }

    [Fact]
    public void OverwriteKillsTheOldSlotAndSearchFindsOnlyTheNewVersion()
    {
        using var shard = new LocalShard(Dim, DistanceMetric.Dot, new HnswParameters());
        var first = Point("a", 1, """{"v":1}""");
        shard.Upsert(first);
        while (shard.IndexNext())
        {
        }

        var second = Point("a", 2, """{"v":2}""");
        shard.Upsert(second);

        Assert.Equal(1, shard.LiveCount);
        Assert.Equal(2, shard.SlotCount);
        Assert.Equal(1, shard.DeadSlots);
        Assert.Equal(second.Vector, shard.Get("a")!.Vector);

        // The old vector is the best match for itself, but its slot is dead: only the new version answers.
        var hits = shard.Search(first.Vector, 5);
        var hit = Assert.Single(hits);
        Assert.Equal("a", hit.Id);
        Assert.Equal(second.Payload, hit.Payload);
    }

    [Fact]
    public void DeleteRemovesThePointFromGetAndSearch()
    {
        using var shard = new LocalShard(Dim, DistanceMetric.L2, new HnswParameters());
        shard.Upsert(Point("a", 1));
        shard.Upsert(Point("b", 2));
        Assert.True(shard.IndexNext());

        Assert.True(shard.Delete("a"));
        Assert.False(shard.Delete("a"));
        Assert.False(shard.Delete("never"));
        Assert.Null(shard.Get("a"));
        Assert.False(shard.Contains("a"));
        Assert.Equal(1, shard.LiveCount);
        Assert.Equal(["b"], shard.Search(Point("a", 1).Vector, 10).Select(h => h.Id));
    }

    [Fact]
    public void ClearKillsEveryPoint()
    {
        using var shard = new LocalShard(Dim, DistanceMetric.Dot, graph: null);
        shard.Upsert(Point("a", 1));
        shard.Upsert(Point("b", 2));
        shard.Clear();

        Assert.Equal(0, shard.LiveCount);
        Assert.Null(shard.Get("a"));
        Assert.Empty(shard.Search(Point("a", 1).Vector, 10));
    }

    [Theory]
    [MemberData(nameof(MetricsAndIndexes))]
    public void FilteredSearchMatchesABruteForceScalarReference(DistanceMetric metric, bool graph)
    {
        const int count = 400;
        using var shard = new LocalShard(Dim, metric, graph ? new HnswParameters(M: 8, EfConstruction: 64) : null);
        var model = new Dictionary<string, StoredPoint>(StringComparer.Ordinal);
        void Upsert(StoredPoint point)
        {
            shard.Upsert(point);
            model[point.Id] = point;
        }

        void Delete(string id)
        {
            Assert.True(shard.Delete(id));
            model.Remove(id);
        }

        for (var i = 0; i < count; i++)
        {
            Upsert(Point($"p{i}", i, $$"""{"group":{{i % 10}},"n":{{i}}}""", metric));
        }

        // Half in the graph, then overwrites and deletes on both sides of the indexed boundary.
        for (var i = 0; i < count / 2; i++)
        {
            shard.IndexNext();
        }

        for (var i = 0; i < count; i += 7)
        {
            Upsert(Point($"p{i}", 10_000 + i, $$"""{"group":{{(i + 1) % 10}},"n":{{i}}}""", metric));
        }

        for (var i = 3; i < count; i += 11)
        {
            Delete($"p{i}");
        }

        Func<PayloadFields, bool>?[] filters =
        [
            null,
            f => f.HasAny("group", ["3", "4"]), // a fifth of the points: searched through the graph
            f => f.HasInRange("n", 0, 15), // a few points: scored exactly
            f => f.HasAny("group", ["none"]),
        ];
        for (var q = 0; q < 20; q++)
        {
            var query = Vector(50_000 + q, metric);
            foreach (var filter in filters)
            {
                AssertMatchesReference(shard, model, metric, query, k: 10, filter);
            }
        }

        // Once the graph covers every slot, results are the same.
        while (shard.IndexNext())
        {
        }

        Assert.Equal(graph ? shard.SlotCount : 0, shard.IndexedCount);
        foreach (var filter in filters)
        {
            AssertMatchesReference(shard, model, metric, Vector(60_000, metric), k: 10, filter);
        }
    }

    [Fact]
    public async Task RestoreFromAStoreAndASnapshotGivesTheSameShard()
    {
        var parameters = new HnswParameters(M: 8, EfConstruction: 64);
        var model = new Dictionary<string, StoredPoint>(StringComparer.Ordinal);
        using var original = new LocalShard(Dim, DistanceMetric.Cosine, parameters);
        await using (var store = FileShardStore.Open(_dir.Path, "docs", 0, Dim))
        {
            // As the grain does it: durable first, then in memory.
            async Task UpsertAsync(params StoredPoint[] points)
            {
                await store.AppendUpsertsAsync(points);
                foreach (var point in points)
                {
                    original.Upsert(point);
                    model[point.Id] = point;
                }
            }

            async Task DeleteAsync(params string[] ids)
            {
                await store.AppendDeletesAsync(ids);
                foreach (var id in ids)
                {
                    original.Delete(id);
                    model.Remove(id);
                }
            }

            await UpsertAsync([.. Enumerable.Range(0, 200).Select(i => Point($"p{i}", i, $$"""{"n":{{i}}}""", DistanceMetric.Cosine))]);
            await DeleteAsync("p5", "p6");
            for (var i = 0; i < 150; i++)
            {
                original.IndexNext();
            }

            var (snapshot, covered) = original.WriteSnapshot()!.Value;
            Assert.Equal(150, covered);
            await store.SaveSnapshotAsync(snapshot, covered);

            // After the snapshot: a delete inside the saved graph, an overwrite, new points.
            await DeleteAsync("p10");
            await UpsertAsync(Point("p20", 777, """{"n":-1}""", DistanceMetric.Cosine), Point("q", 778, "", DistanceMetric.Cosine));
        }

        await using var reopened = FileShardStore.Open(_dir.Path, "docs", 0, Dim);
        var saved = await reopened.LoadSnapshotAsync();
        Assert.NotNull(saved);
        using var restored = new LocalShard(Dim, DistanceMetric.Cosine, parameters);
        Assert.Null(restored.Restore(await StorageTestData.DrainAsync(reopened.LoadAsync()), saved.Value.Snapshot));

        Assert.Equal(150, restored.IndexedCount);
        Assert.Equal(model.Count, restored.LiveCount);
        Assert.Null(restored.Get("p10"));
        Assert.Equal(model["p20"].Payload, restored.Get("p20")!.Payload);
        StorageTestData.AssertSamePoints(model.Values, model.Keys.Select(id => restored.Get(id)!));
        for (var q = 0; q < 10; q++)
        {
            var query = Vector(90_000 + q, DistanceMetric.Cosine);
            AssertMatchesReference(restored, model, DistanceMetric.Cosine, query, k: 10, filter: null);
            Assert.Equal(original.Search(query, 10, ef: 400).Select(h => h.Id), restored.Search(query, 10, ef: 400).Select(h => h.Id));
        }
    }

    [Fact]
    public void RestoreWithADamagedGraphKeepsEveryPointAndSaysWhy()
    {
        using var original = new LocalShard(Dim, DistanceMetric.L2, new HnswParameters());
        var points = Enumerable.Range(0, 50).Select(i => Point($"p{i}", i)).ToList();
        points.ForEach(p => original.Upsert(p));
        while (original.IndexNext())
        {
        }

        var snapshot = original.WriteSnapshot()!.Value.Snapshot;
        snapshot[^3] ^= 0xFF;

        using var restored = new LocalShard(Dim, DistanceMetric.L2, new HnswParameters());
        var reason = restored.Restore(points, snapshot);

        Assert.NotNull(reason);
        Assert.Equal(0, restored.IndexedCount);
        Assert.Equal(50, restored.LiveCount);
        Assert.True(restored.HasUnindexed);
        Assert.Equal("p7", restored.Search(points[7].Vector, 1, ef: 100).Single().Id);
    }

    [Fact]
    public void RestoreWithoutAGraphIgnoresTheSnapshot()
    {
        using var shard = new LocalShard(Dim, DistanceMetric.Dot, graph: null);
        Assert.Null(shard.Restore([Point("a", 1), Point("b", 2)], [1, 2, 3]));
        Assert.Equal(2, shard.LiveCount);
        Assert.Null(shard.WriteSnapshot());
        Assert.False(shard.HasUnindexed);
        Assert.Throws<InvalidOperationException>(() => shard.Restore([], null));
    }

    [Fact]
    public void NeedsCompactionOnceDeadSlotsAreManyAndTwiceTheLivePoints()
    {
        using var shard = new LocalShard(1, DistanceMetric.Dot, graph: null);
        for (var i = 0; i < 10; i++)
        {
            shard.Upsert(new StoredPoint($"live{i}", [i], []));
        }

        // Overwrites of one id: each leaves a dead slot.
        for (var i = 0; i < LocalShard.CompactAfterDeadSlots; i++)
        {
            shard.Upsert(new StoredPoint("churn", [i], []));
        }

        Assert.Equal(LocalShard.CompactAfterDeadSlots - 1, shard.DeadSlots);
        Assert.False(shard.NeedsCompaction);
        shard.Upsert(new StoredPoint("churn", [-1], []));
        Assert.True(shard.NeedsCompaction);
        Assert.Equal(11, shard.LiveCount);
    }

    private static void AssertMatchesReference(
        LocalShard shard, Dictionary<string, StoredPoint> model, DistanceMetric metric, float[] query, int k, Func<PayloadFields, bool>? filter)
    {
        var expected = model.Values
            .Where(p => filter is null || filter(PayloadFields.Parse(p.Payload)))
            .Select(p => (p.Id, Score: DistanceKernels.ToUserScore(metric, DistanceKernels.ScoreScalar(metric, query, p.Vector))))
            .OrderBy(p => metric == DistanceMetric.L2 ? p.Score : -p.Score)
            .Take(k)
            .ToList();

        // A breadth of every slot makes the graph search exhaustive, so graph and brute force must agree exactly.
        var actual = shard.Search(query, k, ef: shard.SlotCount, filter);
        Assert.Equal(expected.Select(e => e.Id), actual.Select(a => a.Id));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Score, actual[i].Score, 1e-4f);
            Assert.Equal(model[actual[i].Id].Payload, actual[i].Payload);
        }
    }

    private static StoredPoint Point(string id, int seed, string json = "", DistanceMetric metric = DistanceMetric.Dot) =>
        new(id, Vector(seed, metric), Encoding.UTF8.GetBytes(json));

    private static float[] Vector(int seed, DistanceMetric metric)
    {
        var random = new Random(seed);
        var vector = new float[Dim];
        for (var i = 0; i < Dim; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        if (metric == DistanceMetric.Cosine)
        {
            // Stored and queried normalised, as the shard expects.
            DistanceKernels.Normalize(vector);
        }

        return vector;
    }
}
