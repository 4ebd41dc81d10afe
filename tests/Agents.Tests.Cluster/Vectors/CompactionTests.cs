using Agents.Client;
using Agents.Engine.Vectors;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Vectors;

/// <summary>Overwrites leave tombstones; a shard with too many reloads without them, keeping every live point.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class CompactionTests(ThreeSiloCluster fixture)
{
    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    [Fact]
    public async Task ASteadyStreamOfOverwritesKeepsAShardsMemoryBounded()
    {
        const int ids = 1000;
        var name = $"churn-{Guid.NewGuid():N}"[..14];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 8, Shards: 1));
        static PointInput Version(int id, int round) =>
            new($"p{id}", [id, round + 1, 1, 1, 1, 1, 1, 1], $$"""{"round":{{round}}}""");

        // Enough rounds that the tombstones pass the compaction threshold (and twice the live points) once.
        var rounds = LocalShard.CompactAfterDeadSlots / ids + 2;
        long largest = 0;
        for (var round = 0; round < rounds; round++)
        {
            await Client.UpsertAsync(name, Enumerable.Range(0, ids).Select(i => Version(i, round)));
            if (round % 20 == 0)
            {
                largest = Math.Max(largest, (await Client.DescribeCollectionAsync(name)).Shards.Single().VectorBytes);
            }
        }

        var info = await Client.DescribeCollectionAsync(name);
        Assert.Equal(ids, info.Points);
        var shard = info.Shards.Single();
        // Without compaction the arena would hold every version: rounds × ids vectors of 8 floats.
        Assert.True(shard.VectorBytes < (long)rounds * ids * 8 * 4 / 4, $"{shard.VectorBytes} bytes of vectors after {rounds * ids} writes of {ids} ids (largest seen {largest})");
        foreach (var id in new[] { 0, 1, 499, 999 })
        {
            var point = await Client.GetPointAsync(name, $"p{id}");
            Assert.NotNull(point);
            Assert.Contains($"\"round\":{rounds - 1}", System.Text.Encoding.UTF8.GetString(point.Payload), StringComparison.Ordinal);
        }

        var hits = await Client.SearchAsync(name, Version(7, rounds - 1).Vector, 1);
        Assert.Equal("p7", hits.Single().Id);
    }
}
