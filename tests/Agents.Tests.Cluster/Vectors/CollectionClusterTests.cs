using System.Runtime.InteropServices;
using Agents.Client;
using Agents.Engine.Vectors;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Vectors;

/// <summary>Collections on a real 3-silo cluster, through the client library's fan-out.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class CollectionClusterTests(ThreeSiloCluster fixture)
{
    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    private static List<PointInput> RandomPoints(int n, int dimension, int seed, Func<int, string?>? payload = null)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n)
            .Select(i => new PointInput($"p{i}", Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), payload?.Invoke(i)))
            .ToList();
    }

    private static string[] BruteForce(List<PointInput> points, float[] query, VectorMetric metric, int k, Func<int, bool>? accept = null)
    {
        float[] Prepare(float[] v)
        {
            var copy = (float[])v.Clone();
            if (metric == VectorMetric.Cosine)
            {
                DistanceKernels.Normalize(copy);
            }

            return copy;
        }

        var q = Prepare(query);
        return points.Select((p, i) => (p.Id, i, Score: DistanceKernels.ScoreScalar(Agents.Grains.Vectors.EngineMapping.ToEngine(metric), q, Prepare(p.Vector))))
            .Where(x => accept?.Invoke(x.i) ?? true)
            .OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Take(k).Select(x => x.Id).ToArray();
    }

    [Theory]
    [InlineData(VectorMetric.L2)]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.Dot)]
    public async Task FlatSearchAcrossShardsIsExact(VectorMetric metric)
    {
        var name = $"flat-{metric}-{Guid.NewGuid():N}"[..30];
        var info = await Client.CreateCollectionAsync(new CollectionSpec(name, 24, metric, Shards: 3, Index: VectorIndexKind.Flat));
        Assert.Equal(3, info.Shards.Count);
        var points = RandomPoints(1500, 24, 5);
        Assert.Equal(1500, await Client.UpsertAsync(name, points));
        Assert.Equal(1500, (await Client.DescribeCollectionAsync(name)).Points);

        var random = new Random(9);
        for (var q = 0; q < 10; q++)
        {
            var query = Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var hits = await Client.SearchAsync(name, query, 10);
            Assert.Equal(BruteForce(points, query, metric, 10), hits.Select(h => h.Id).ToArray());
        }
    }

    [Fact]
    public async Task HnswFindsAPointTheMomentItsUpsertReturnsAndHasHighRecall()
    {
        var name = $"hnsw-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 32, VectorMetric.Cosine, Shards: 2));
        var points = RandomPoints(3000, 32, 8);
        await Client.UpsertAsync(name, points);

        // Right after the acknowledgement, before the graph can have caught up.
        var fresh = new PointInput("fresh", points[17].Vector.Select(x => -x).ToArray());
        await Client.UpsertAsync(name, [fresh]);
        var hit = await Client.SearchAsync(name, fresh.Vector, 1);
        Assert.Equal("fresh", hit.Single().Id);

        var random = new Random(4);
        double found = 0;
        for (var q = 0; q < 20; q++)
        {
            var query = Enumerable.Range(0, 32).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var expected = BruteForce([.. points, fresh], query, VectorMetric.Cosine, 10);
            var hits = await Client.SearchAsync(name, query, 10, ef: 100);
            found += hits.Select(h => h.Id).Intersect(expected).Count();
        }

        Assert.True(found / 200 >= 0.9, $"recall@10 {found / 200:F3}");
    }

    [Fact]
    public async Task QuantizedCollectionSearchesOnCodesAndReturnsExactScores()
    {
        var name = $"q8-{Guid.NewGuid():N}"[..20];
        var info = await Client.CreateCollectionAsync(new CollectionSpec(name, 32, VectorMetric.Cosine, Shards: 2, Quantize: true));
        Assert.True(info.Spec.Quantize);
        var points = RandomPoints(3000, 32, 12);
        await Client.UpsertAsync(name, points);

        var random = new Random(6);
        double found = 0;
        for (var q = 0; q < 20; q++)
        {
            var query = Enumerable.Range(0, 32).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var expected = BruteForce(points, query, VectorMetric.Cosine, 10);
            var hits = await Client.SearchAsync(name, query, 10, ef: 100);
            found += hits.Select(h => h.Id).Intersect(expected).Count();
            Assert.True(hits.Zip(hits.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        }

        Assert.True(found / 200 >= 0.9, $"recall@10 {found / 200:F3}");
        var described = await Client.DescribeCollectionAsync(name);
        Assert.All(described.Shards, s => Assert.Equal(0, s.VectorBytes));
        Assert.Equal(3000, described.Shards.Sum(s => s.Points));

        var point = await Client.GetPointAsync(name, "p5");
        var unit = (float[])points[5].Vector.Clone();
        DistanceKernels.Normalize(unit);
        Assert.Equal(unit, MemoryMarshal.Cast<byte, float>(point!.Vector).ToArray());

        var flat = await Assert.ThrowsAsync<ArgumentException>(() => Client.CreateCollectionAsync(new CollectionSpec($"{name}f", 8, Index: VectorIndexKind.Flat, Quantize: true)));
        Assert.Contains("quantize applies to the hnsw index", flat.Message, StringComparison.Ordinal);
        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public async Task FiltersDeletesAndGetsWork()
    {
        var name = $"filt-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 8, VectorMetric.L2, Shards: 2));
        var points = RandomPoints(800, 8, 2, i => $$"""{"group":"g{{i % 10}}","rank":{{i}}}""");
        await Client.UpsertAsync(name, points);
        var query = points[3].Vector;

        var filter = new PayloadFilter([new FilterCondition("group", FilterOperator.In, ["g3"])]);
        var hits = await Client.SearchAsync(name, query, 5, filter: filter);
        Assert.Equal(BruteForce(points, query, VectorMetric.L2, 5, i => i % 10 == 3), hits.Select(h => h.Id).ToArray());
        Assert.Equal("p3", hits[0].Id);

        var range = new PayloadFilter([new FilterCondition("rank", FilterOperator.Range, Min: 100, Max: 199)]);
        Assert.All(await Client.SearchAsync(name, query, 20, filter: range), h => Assert.InRange(int.Parse(h.Id[1..]), 100, 199));

        Assert.Equal(1, await Client.DeletePointsAsync(name, ["p3", "nope"]));
        Assert.DoesNotContain(await Client.SearchAsync(name, query, 10), h => h.Id == "p3");
        Assert.Null(await Client.GetPointAsync(name, "p3"));
        var p4 = await Client.GetPointAsync(name, "p4");
        Assert.Equal(points[4].Vector, MemoryMarshal.Cast<byte, float>(p4!.Vector).ToArray());

        // Overwrite keeps one point per id.
        await Client.UpsertAsync(name, [points[5] with { Payload = """{"group":"moved"}""" }]);
        Assert.Equal(799, (await Client.DescribeCollectionAsync(name)).Points);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task SearchWithoutPayloadsFindsTheSameHits(int shards)
    {
        var name = $"lean-{shards}-{Guid.NewGuid():N}"[..22];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 12, VectorMetric.Dot, Shards: shards, Index: VectorIndexKind.Flat));
        var points = RandomPoints(600, 12, 4, i => $$"""{"n":{{i}}}""");
        await Client.UpsertAsync(name, points);
        var random = new Random(3);
        for (var q = 0; q < 5; q++)
        {
            var query = Enumerable.Range(0, 12).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var full = await Client.SearchAsync(name, query, 7);
            var lean = await Client.SearchAsync(name, query, 7, ef: null, filter: null, withPayloads: false);
            Assert.Equal(BruteForce(points, query, VectorMetric.Dot, 7), full.Select(h => h.Id).ToArray());
            Assert.Equal(full.Select(h => (h.Id, h.Score)), lean.Select(h => (h.Id, h.Score)));
            Assert.All(full, h => Assert.Equal($$"""{"n":{{h.Id[1..]}}}""", System.Text.Encoding.UTF8.GetString(h.Payload)));
            Assert.All(lean, h => Assert.Empty(h.Payload));
        }

        await Client.DropCollectionAsync(name);
    }

    [Theory]
    [InlineData(VectorMetric.L2)]
    [InlineData(VectorMetric.Cosine)]
    public async Task SearchWorkerAnswersAsTheClientFanOutDoes(VectorMetric metric)
    {
        var name = $"route-{metric}-{Guid.NewGuid():N}"[..26];
        var info = await Client.CreateCollectionAsync(new CollectionSpec(name, 16, metric, Shards: 3, Index: VectorIndexKind.Flat));
        var points = RandomPoints(900, 16, 8, i => $$"""{"n":{{i}}}""");
        await Client.UpsertAsync(name, points);
        var random = new Random(5);
        for (var q = 0; q < 6; q++)
        {
            var query = Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var request = new SearchRequest(MemoryMarshal.AsBytes(query.AsSpan()).ToArray(), 8);
            var routed = (await fixture.Client.GetGrain<IVectorSearchGrain>(q).SearchAsync(info.Spec, request)).ToHits();
            var fannedOut = await Client.SearchAsync(name, query, 8);
            Assert.Equal(BruteForce(points, query, metric, 8), routed.Select(h => h.Id).ToArray());
            Assert.Equal(fannedOut.Select(h => (h.Id, h.Score)), routed.Select(h => (h.Id, h.Score)));
            Assert.All(routed, h => Assert.Equal($$"""{"n":{{h.Id[1..]}}}""", System.Text.Encoding.UTF8.GetString(h.Payload)));
        }

        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public void MergeKeepsTheBestKByScoreThenId()
    {
        var a = new ShardHits(["b", "d", "e"], [0.9f, 0.5f, 0.1f], [[1], [2], [3]]);
        var b = new ShardHits(["c", "a"], [0.5f, 0.4f], null);
        var best = ShardHits.Merge([a, b, ShardHits.None], 4, descending: true).ToHits();
        Assert.Equal(["b", "c", "d", "a"], best.Select(h => h.Id));
        Assert.Equal([0.9f, 0.5f, 0.5f, 0.4f], best.Select(h => h.Score));
        Assert.Equal(new byte[] { 1 }, best[0].Payload);
        Assert.Empty(best[1].Payload);

        // Distances: smallest first, and k larger than the hits returns them all.
        var nearest = ShardHits.Merge([a, b], 10, descending: false).ToHits();
        Assert.Equal(["e", "a", "c", "d", "b"], nearest.Select(h => h.Id));

        // One answer in order comes back as it is; one with a tie out of id order is sorted.
        Assert.Same(a, ShardHits.Merge([a], 3, descending: true));
        var tied = new ShardHits(["y", "x"], [0.5f, 0.5f], null);
        Assert.Equal(["x", "y"], ShardHits.Merge([tied], 2, descending: true).Ids);
    }

    [Fact]
    public async Task BadInputIsRejectedAndNothingIsWritten()
    {
        var name = $"bad-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 4, VectorMetric.Cosine, Shards: 1));
        var shard = fixture.Client.GetGrain<IVectorShardGrain>($"{name}/0");

        async Task Rejected(PointBatch batch, string says)
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => shard.UpsertAsync(batch));
            Assert.Contains(says, e.Message, StringComparison.Ordinal);
        }

        static byte[] Floats(params float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
        await Rejected(new PointBatch(["a"], Floats(1, 2, 3), [[]]), "dimension 4");
        await Rejected(new PointBatch(["a", "b"], Floats(1, 2, 3, 4, 1, float.NaN, 3, 4), [[], []]), "NaN");
        await Rejected(new PointBatch(["a", "b"], Floats(1, 2, 3, 4, 1, float.PositiveInfinity, 3, 4), [[], []]), "dimension 1");
        await Rejected(new PointBatch(["a", "a"], Floats(1, 2, 3, 4, 1, 2, 3, 4), [[], []]), "twice");
        await Rejected(new PointBatch(["z"], Floats(0, 0, 0, 0), [[]]), "zero vector");
        await Rejected(new PointBatch(["a"], Floats(1, 2, 3, 4), ["[1]"u8.ToArray()]), "payload");
        Assert.Equal(0, (await Client.DescribeCollectionAsync(name)).Points);

        var search = await Assert.ThrowsAsync<ArgumentException>(() => Client.SearchAsync(name, [1, 2, 3, 4], 0));
        Assert.Contains("k 0", search.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.SearchAsync(name, [1, 2, 3, 4], 1_000_000));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.SearchAsync(name, [1, 2, 3], 5));
        var unknown = await Assert.ThrowsAsync<KeyNotFoundException>(() => Client.SearchAsync("no-such-collection", [1, 2, 3, 4], 5));
        Assert.Contains("no-such-collection", unknown.Message, StringComparison.Ordinal);
        var clash = await Assert.ThrowsAsync<InvalidOperationException>(() => Client.CreateCollectionAsync(new CollectionSpec(name, 8)));
        Assert.Contains("another schema", clash.Message, StringComparison.Ordinal);

        // The shard still serves after all that.
        await Client.UpsertAsync(name, [new PointInput("ok", [1, 0, 0, 0])]);
        Assert.Equal("ok", (await Client.SearchAsync(name, [1, 0, 0, 0], 1)).Single().Id);
    }

    [Fact]
    public async Task ListAndDropCollections()
    {
        var name = $"drop-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 4, Shards: 2));
        await Client.UpsertAsync(name, RandomPoints(50, 4, 1));
        Assert.Contains(await Client.ListCollectionsAsync(), s => s.Name == name);
        await Client.DropCollectionAsync(name);
        Assert.DoesNotContain(await Client.ListCollectionsAsync(), s => s.Name == name);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Client.DescribeCollectionAsync(name));
    }
}
