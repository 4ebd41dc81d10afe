using System.Runtime.InteropServices;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Vectors;

/// <summary>Batched search on a real 3-silo cluster: a batch answers each query exactly as a search of its own does.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class BatchSearchClusterTests(ThreeSiloCluster fixture)
{
    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    public static TheoryData<VectorMetric, VectorIndexKind> MetricsAndIndexes() => new()
    {
        { VectorMetric.Cosine, VectorIndexKind.Flat }, { VectorMetric.Dot, VectorIndexKind.Flat }, { VectorMetric.L2, VectorIndexKind.Flat },
        { VectorMetric.Cosine, VectorIndexKind.Hnsw }, { VectorMetric.L2, VectorIndexKind.Hnsw },
    };

    [Theory]
    [MemberData(nameof(MetricsAndIndexes))]
    public async Task ABatchAcrossShardsEqualsOneSearchPerQuery(VectorMetric metric, VectorIndexKind index)
    {
        var name = $"batch-{metric}-{index}-{Guid.NewGuid():N}"[..32];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 40, metric, Shards: 3, Index: index));
        var random = new Random(21);
        float[] Vector() => Enumerable.Range(0, 40).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var points = Enumerable.Range(0, 2000).Select(i => new PointInput($"p{i}", Vector(), $$"""{"group":"g{{i % 10}}"}""")).ToList();
        await Client.UpsertAsync(name, points);
        await Client.DeletePointsAsync(name, Enumerable.Range(0, 2000).Where(i => i % 13 == 0).Select(i => $"p{i}"));

        // The graph catches up in the background; once it has, a query takes the same path alone or in a batch.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await Client.DescribeCollectionAsync(name) is var info && info.Indexed < info.Points && index == VectorIndexKind.Hnsw)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the graph indexed {info.Indexed} of {info.Points} points in a minute");
            await Task.Delay(100);
        }

        var queries = Enumerable.Range(0, 23).Select(_ => Vector()).ToList();
        var filter = new PayloadFilter([new FilterCondition("group", FilterOperator.In, ["g3", "g4"])]);

        // Batches of 7 and of all 23: several calls per shard, and one.
        foreach (var (batchSize, withFilter) in new[] { (7, false), (23, false), (7, true) })
        {
            var f = withFilter ? filter : null;
            var batch = await Client.SearchBatchAsync(name, queries, 10, ef: 200, filter: f, batchSize: batchSize);
            Assert.Equal(queries.Count, batch.Length);
            for (var q = 0; q < queries.Count; q++)
            {
                var one = await Client.SearchAsync(name, queries[q], 10, ef: 200, filter: f);
                Assert.Equal(one.Select(h => h.Id), batch[q].Select(h => h.Id));
                Assert.Equal(one.Select(h => h.Score), batch[q].Select(h => h.Score), (a, b) => Math.Abs(a - b) <= 1e-4f * Math.Max(1, Math.Abs(a)));
                Assert.Equal(one.Select(h => h.Payload), batch[q].Select(h => h.Payload));
                Assert.All(batch[q], h => Assert.NotEqual(0, int.Parse(h.Id[1..]) % 13));
            }
        }

        Assert.Empty(await Client.SearchBatchAsync(name, [], 5));
        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public async Task ABadBatchIsRejectedByTheShard()
    {
        var name = $"badbatch-{Guid.NewGuid():N}"[..24];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 4, VectorMetric.Dot, Shards: 1, Index: VectorIndexKind.Flat));
        await Client.UpsertAsync(name, [new PointInput("a", [1, 0, 0, 0])]);
        var shard = fixture.Client.GetGrain<IVectorShardGrain>($"{name}/0");
        static byte[] Floats(params float[] v) => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

        var partial = await Assert.ThrowsAsync<ArgumentException>(() => shard.SearchBatchAsync(new SearchBatchRequest(Floats(1, 2, 3, 4, 5), 1)));
        Assert.Contains("whole number of queries", partial.Message, StringComparison.Ordinal);
        var nan = await Assert.ThrowsAsync<ArgumentException>(() => shard.SearchBatchAsync(new SearchBatchRequest(Floats(1, 2, 3, 4, 1, float.NaN, 3, 4), 1)));
        Assert.Contains("Query 1", nan.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => shard.SearchBatchAsync(new SearchBatchRequest(Floats(1, 2, 3, 4), 0)));
        var tooMany = new byte[(SearchBatchRequest.MaxQueries + 1) * 4 * sizeof(float)];
        var many = await Assert.ThrowsAsync<ArgumentException>(() => shard.SearchBatchAsync(new SearchBatchRequest(tooMany, 1)));
        Assert.Contains("too large", many.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.SearchBatchAsync(name, [[1, 2, 3]], 1));

        var hits = await shard.SearchBatchAsync(new SearchBatchRequest(Floats(1, 0, 0, 0, 0, 1, 0, 0), 1));
        Assert.Equal(["a", "a"], hits.Select(h => h.Single().Id));
        await Client.DropCollectionAsync(name);
    }
}
