using System.Collections.Concurrent;
using System.Diagnostics;
using Agents.Client;
using Agents.Hosting;
using Agents.Grains.Jobs;
using Agents.Grains.Vectors;
using Agents.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Agents.Tests.Vectors;

/// <summary>Shards spread over the silos at creation and move to a silo that joins, on real in-process clusters.</summary>
public sealed class ShardRebalancingTests(ITestOutputHelper output)
{
    private static async Task<InProcessTestCluster> StartAsync(int silos, VectorStorage storage)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgents(ThreeSiloCluster.Settings);
            silo.AddMemoryGrainStorage(JobStorage.Name);
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.Services.AddSingleton(storage);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static VectorStorage TempStorage() => VectorStorage.Files(Directory.CreateTempSubdirectory("agents-rebalance-").FullName);

    private static float[] RandomVector(Random random, int dimension) =>
        Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    private static Dictionary<string, int> ShardsPerSilo(CollectionInfo info) =>
        info.Shards.GroupBy(s => s.Silo).ToDictionary(g => g.Key, g => g.Count());

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (AgentsClient.IsTransient(e) && attempt < 20)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task ShardsMoveToASiloThatJoinsAndEveryAcknowledgedPointStaysFound()
    {
        await using var cluster = await StartAsync(1, TempStorage());
        var client = AgentsClient.FromCluster(cluster.Client);
        const int dimension = 32;
        var name = $"join-{Guid.NewGuid():N}"[..20];
        await client.CreateCollectionAsync(new CollectionSpec(name, dimension, VectorMetric.Cosine, Shards: 4, Ef: 128));
        var random = new Random(3);
        var acknowledged = new ConcurrentDictionary<string, float[]>();
        var first = Enumerable.Range(0, 2000).Select(i => new PointInput($"p{i}", RandomVector(random, dimension))).ToList();
        await client.UpsertAsync(name, first);
        first.ForEach(p => acknowledged[p.Id] = p.Vector);
        Assert.Single(ShardsPerSilo(await client.DescribeCollectionAsync(name)));

        // Searches and upserts keep running while the shards move; none may fail.
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<Exception>();
        var searches = 0;
        var slowest = TimeSpan.Zero;
        var searcher = Task.Run(async () =>
        {
            var queries = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var started = Stopwatch.GetTimestamp();
                    await client.SearchAsync(name, RandomVector(queries, dimension), 5);
                    var took = Stopwatch.GetElapsedTime(started);
                    slowest = took > slowest ? took : slowest;
                    Interlocked.Increment(ref searches);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            }
        });
        var writer = Task.Run(async () =>
        {
            var vectors = new Random(11);
            for (var batch = 0; !stop.IsCancellationRequested; batch++)
            {
                var points = Enumerable.Range(0, 50).Select(i => new PointInput($"w{batch}-{i}", RandomVector(vectors, dimension))).ToList();
                try
                {
                    await client.UpsertAsync(name, points);
                    points.ForEach(p => acknowledged[p.Id] = p.Vector);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }

                await Task.Delay(20);
            }
        });

        var joinedAt = Stopwatch.GetTimestamp();
        await cluster.StartAdditionalSiloAsync();
        await cluster.WaitForLivenessToStabilizeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        Dictionary<string, int> perSilo;
        while (true)
        {
            perSilo = ShardsPerSilo(await client.DescribeCollectionAsync(name));
            if (perSilo.Count == 2 && perSilo.Values.All(n => n == 2))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"shards per silo after the join: {string.Join(", ", perSilo.Select(p => $"{p.Key} {p.Value}"))}");
            await Task.Delay(100);
        }

        var balancedAfter = Stopwatch.GetElapsedTime(joinedAt);
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(searcher, writer);
        output.WriteLine($"balanced 2/2 {balancedAfter.TotalSeconds:F1} s after the join began; {searches} searches during it, slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.Empty(failures);
        Assert.True(searches > 0);

        var info = await client.DescribeCollectionAsync(name);
        Assert.Equal(acknowledged.Count, info.Points);
        foreach (var (id, vector) in acknowledged)
        {
            var hits = await client.SearchAsync(name, vector, 3, ef: 200);
            Assert.Contains(id, hits.Select(h => h.Id));
        }
    }

    [Fact]
    public async Task TheKeywordIndexMovesWithItsShards()
    {
        await using var cluster = await StartAsync(1, TempStorage());
        var client = AgentsClient.FromCluster(cluster.Client);
        var name = $"kwmove-{Guid.NewGuid():N}"[..20];
        await client.CreateCollectionAsync(new CollectionSpec(name, 8, Shards: 4, TextFields: ["text"]));
        var random = new Random(4);
        string[] words = ["amber", "basalt", "cobalt", "dolomite", "emerald", "feldspar", "garnet", "hematite"];
        await client.UpsertAsync(name, Enumerable.Range(0, 400).Select(i => new PointInput(
            $"m{i}", RandomVector(random, 8), $$"""{"text":"{{words[i % 8]}} {{words[(i / 8) % 8]}} stone{{i}}"}""")));
        string[] queries = ["amber garnet", "cobalt", "stone17 basalt", "feldspar hematite emerald"];
        var before = new List<SearchHit[]>();
        foreach (var query in queries)
        {
            before.Add(await client.HybridSearchAsync(name, null, query, 10, SearchMode.Keyword));
        }

        await cluster.StartAdditionalSiloAsync();
        await cluster.WaitForLivenessToStabilizeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ShardsPerSilo(await RetryAsync(() => client.DescribeCollectionAsync(name))).Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "no shard moved to the silo that joined");
            await Task.Delay(100);
        }

        // The moved shards rebuilt their keyword index from the stored payloads: the same hits, the same scores.
        for (var q = 0; q < queries.Length; q++)
        {
            var after = await RetryAsync(() => client.HybridSearchAsync(name, null, queries[q], 10, SearchMode.Keyword));
            Assert.Equal(before[q].Select(h => (h.Id, h.Score)), after.Select(h => (h.Id, h.Score)));
        }

        Assert.Equal("m17", (await client.HybridSearchAsync(name, null, "stone17", 1, SearchMode.Keyword)).Single().Id);
    }

    [Fact]
    public async Task ShardsSpreadEvenlyAtCreationAndTheDefaultCountIsTwoPerSilo()
    {
        await using var cluster = await StartAsync(3, TempStorage());
        var client = AgentsClient.FromCluster(cluster.Client);

        var byDefault = await client.CreateCollectionAsync(new CollectionSpec($"dflt-{Guid.NewGuid():N}"[..20], 8));
        Assert.Equal(6, byDefault.Spec.Shards);
        Assert.Equal(3, ShardsPerSilo(byDefault).Count);
        Assert.All(ShardsPerSilo(byDefault).Values, n => Assert.Equal(2, n));

        // Creating it again without a count is the same collection, not a conflict.
        Assert.Equal(6, (await client.CreateCollectionAsync(new CollectionSpec(byDefault.Spec.Name, 8))).Spec.Shards);

        for (var c = 0; c < 5; c++)
        {
            var info = await client.CreateCollectionAsync(new CollectionSpec($"even{c}-{Guid.NewGuid():N}"[..20], 8, Shards: 4));
            var counts = ShardsPerSilo(info).Values.ToList();
            Assert.Equal(3, counts.Count);
            Assert.True(counts.Max() - counts.Min() <= 1, string.Join('/', counts));
        }
    }

    [Fact]
    public async Task WhenASiloDiesItsShardsArePlacedOnTheSurvivorsAndTheirOwnStayPut()
    {
        await using var cluster = await StartAsync(3, TempStorage());
        var client = AgentsClient.FromCluster(cluster.Client);
        var name = $"death-{Guid.NewGuid():N}"[..20];
        await client.CreateCollectionAsync(new CollectionSpec(name, 16, VectorMetric.L2, Shards: 6, Index: VectorIndexKind.Flat));
        var random = new Random(2);
        await client.UpsertAsync(name, Enumerable.Range(0, 1200).Select(i => new PointInput($"d{i}", RandomVector(random, 16))));
        var before = (await client.DescribeCollectionAsync(name)).Shards.ToDictionary(s => s.Shard, s => s.Silo);

        var victim = cluster.Silos.Skip(1).First(s => before.ContainsValue(s.SiloAddress.ToParsableString()));
        await cluster.KillSiloAsync(victim);
        await cluster.WaitForLivenessToStabilizeAsync();
        var dead = victim.SiloAddress.ToParsableString();

        // Survivors keep their shards, now and after the rebalancing has had time to act; the dead silo's shards are dealt out evenly.
        var watchUntil = DateTime.UtcNow + VectorShardGrain.RebalanceQuiet + TimeSpan.FromSeconds(4);
        while (DateTime.UtcNow < watchUntil)
        {
            var info = await client.DescribeCollectionAsync(name);
            Assert.Equal(1200, info.Points);
            foreach (var shard in info.Shards)
            {
                Assert.NotEqual(dead, shard.Silo);
                if (before[shard.Shard] != dead)
                {
                    Assert.Equal(before[shard.Shard], shard.Silo);
                }
            }

            Assert.All(ShardsPerSilo(info).Values, n => Assert.Equal(3, n));
            await Task.Delay(250);
        }
    }

    [Fact]
    [Trait("Category", "Measurement")]
    public async Task MeasureOneMoveOfALargeShard()
    {
        var points = int.TryParse(Environment.GetEnvironmentVariable("SHARD_MOVE_POINTS"), out var n) ? n : 2_000;
        const int dimension = 384;
        await using var cluster = await StartAsync(1, TempStorage());
        var client = AgentsClient.FromCluster(cluster.Client);
        var name = $"move-{Guid.NewGuid():N}"[..20];

        // Two shards of `points` each: the joiner takes one of them.
        await client.CreateCollectionAsync(new CollectionSpec(name, dimension, VectorMetric.Cosine, Shards: 2));
        var random = new Random(5);
        await client.UpsertAsync(name, Enumerable.Range(0, 2 * points).Select(i => new PointInput($"m{i}", RandomVector(random, dimension))));
        var indexing = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while ((await client.DescribeCollectionAsync(name)) is var info && info.Indexed < info.Points)
        {
            Assert.True(DateTime.UtcNow < deadline, "indexing did not finish");
            await Task.Delay(500);
        }

        output.WriteLine($"indexed {2 * points} x {dimension} in {indexing.Elapsed.TotalSeconds:F1} s");

        // Each call to the shard that moves is timed; the one the move holds up shows what a caller waits.
        var shards = Enumerable.Range(0, 2).Select(i => cluster.Client.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(name, i))).ToArray();
        var homes = await Task.WhenAll(shards.Select(s => s.DescribeAsync()));
        var query = new SearchRequest(System.Runtime.InteropServices.MemoryMarshal.AsBytes(RandomVector(random, dimension).AsSpan()).ToArray(), 10, null, null);
        await cluster.StartAdditionalSiloAsync();
        var joined = Stopwatch.StartNew();
        var slowest = new TimeSpan[2];
        var movedAt = new TimeSpan?[2];
        while (movedAt.All(m => m is null) && joined.Elapsed < TimeSpan.FromSeconds(90))
        {
            for (var i = 0; i < 2; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await RetryAsync(() => shards[i].SearchAsync(query).AsTask());
                var described = await shards[i].DescribeAsync();
                var took = Stopwatch.GetElapsedTime(started);
                slowest[i] = took > slowest[i] ? took : slowest[i];
                if (movedAt[i] is null && described.Silo != homes[i].Silo)
                {
                    movedAt[i] = joined.Elapsed;
                    Assert.Equal(homes[i].Points, described.Points);
                }
            }
        }

        var moved = Array.FindIndex(movedAt, m => m is not null);
        Assert.True(moved >= 0, "no shard moved to the new silo");
        var after = await shards[moved].DescribeAsync();
        output.WriteLine(
            $"shard {moved} ({after.Points} x {dimension}) answered from the new silo {movedAt[moved]!.Value.TotalSeconds:F1} s after the join began; " +
            $"the longest call to it during the move took {slowest[moved].TotalSeconds:F2} s; {after.Indexed} of {after.Points} indexed on arrival");
    }
}
