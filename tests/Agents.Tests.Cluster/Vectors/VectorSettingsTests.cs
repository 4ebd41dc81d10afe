using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Vectors;

namespace Agents.Tests.Vectors;

/// <summary>vector_cache_size and write_buffer_size, on an embedded silo that is given them.</summary>
public sealed class VectorSettingsTests
{
    private static List<PointInput> Points(int from, int count, int dimension)
    {
        var random = new Random(from);
        return Enumerable.Range(from, count)
            .Select(i => new PointInput($"v{i}", Enumerable.Range(0, dimension).Select(_ => (float)random.NextDouble() + 0.01f).ToArray()))
            .ToList();
    }

    private static Task<AgentsClient> Embedded(PerformanceSettings performance)
    {
        var settings = new AgentsSettings { Performance = performance };
        return EmbeddedCluster.ConnectAsync(
            ClusterConnection.Embedded().WithSettings(settings), settings, new HostSettings { DataDirectory = Directory.CreateTempSubdirectory("agents-settings-").FullName });
    }

    [Fact]
    public async Task VectorCacheSizeRefusesAnUpsertPastTheBoundAndWritesNothingOfIt()
    {
        // 128-d points cost 768 bytes each in the budget: 2 MB holds 2,730 of them.
        await using var client = await Embedded(new PerformanceSettings { VectorCacheSize = 2L << 20, WriteBufferSize = 16L << 20 });
        await client.CreateCollectionAsync(new CollectionSpec("bounded", 128, Shards: 1));
        Assert.Equal(2000, await client.UpsertAsync("bounded", Points(0, 2000, 128)));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => client.UpsertAsync("bounded", Points(2000, 1000, 128)));
        Assert.Contains("vector_cache_size", e.Message, StringComparison.Ordinal);
        Assert.Equal(2000, (await client.DescribeCollectionAsync("bounded")).Points);

        // Room remains for a smaller batch, and a dropped collection gives its room back.
        Assert.Equal(500, await client.UpsertAsync("bounded", Points(3000, 500, 128)));
        await client.DropCollectionAsync("bounded");
        await client.CreateCollectionAsync(new CollectionSpec("bounded", 128, Shards: 1));
        Assert.Equal(2500, await client.UpsertAsync("bounded", Points(0, 2500, 128)));
    }

    [Fact]
    public async Task WriteBufferSizeSetsThePointsPerUpsertCall()
    {
        await using var client = await Embedded(new PerformanceSettings { WriteBufferSize = 64L << 10 });
        Assert.Equal(65536 / (128 * 4 + 64), client.UpsertBatchFor(128));
        await client.CreateCollectionAsync(new CollectionSpec("buffered", 128, Shards: 1));
        var calls = 0;
        await client.UpsertAsync("buffered", Points(0, 1000, 128), progress: null, batchAcknowledged: _ => Interlocked.Increment(ref calls));
        Assert.Equal((int)Math.Ceiling(1000 / (double)client.UpsertBatchFor(128)), calls);
    }

    [Fact]
    public void TheBudgetCountsAndRefuses()
    {
        var budget = new VectorMemoryBudget(1000);
        budget.Reserve(600, "a");
        var e = Assert.Throws<InvalidOperationException>(() => budget.Reserve(500, "b"));
        Assert.Contains("b needs", e.Message, StringComparison.Ordinal);
        budget.Release(600);
        budget.Reserve(1000, "c");
        Assert.Equal(1000, budget.UsedBytes);
        new VectorMemoryBudget(0).Reserve(long.MaxValue / 2, "unbounded");
    }
}
