using Agents.Client;
using Agents.Tests.Infrastructure;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Agents.Tests.Failover;

/// <summary>Real silo processes on a real PostgreSQL: SIGKILL the silo hosting a shard after acknowledged upserts; its points and keyword index come back.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class ShardFailoverTests(PostgresServer postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task EveryAcknowledgedPointSurvivesTheDeathOfItsShardsSilo()
    {
        await using var cluster = await ProcessCluster.StartAsync(await postgres.CreateDatabaseAsync(), 3, output);
        var (client, silos) = (cluster.Client, cluster.Silos);

        var random = new Random(17);
        var points = Enumerable.Range(0, 3000)
            .Select(i => new PointInput($"k{i}", Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), $$"""{"i":{{i}},"text":"point tag{{i}}"}"""))
            .ToList();
        await client.CreateCollectionAsync(new CollectionSpec("survivors", 64, Shards: 4, TextFields: ["text"]));
        Assert.Equal(3000, await client.UpsertAsync("survivors", points));

        var info = await client.DescribeCollectionAsync("survivors");
        var hosting = info.Shards.Select(s => int.Parse(s.Silo.Split(':')[1].Split('@')[0], System.Globalization.CultureInfo.InvariantCulture) - 11111).ToHashSet();
        var victim = silos.First(s => hosting.Contains(s.Instance));
        output.WriteLine($"shards on instances {string.Join(",", hosting)}; killing instance {victim.Instance}");
        victim.Kill();

        // The client retries while membership declares the silo dead; the shards reload from PostgreSQL elsewhere.
        var after = await client.DescribeCollectionAsync("survivors");
        Assert.Equal(3000, after.Points);
        Assert.DoesNotContain(after.Shards, s => s.Silo.Contains($":{11111 + victim.Instance}@", StringComparison.Ordinal));
        foreach (var i in Enumerable.Range(0, 3000).Where(i => i % 97 == 0))
        {
            var hit = await client.SearchAsync("survivors", points[i].Vector, 1);
            Assert.Equal(points[i].Id, hit.Single().Id);

            // The keyword index is rebuilt from the stored payloads wherever the shard reloaded.
            var word = await client.HybridSearchAsync("survivors", null, $"tag{i}", 1, SearchMode.Keyword);
            Assert.Equal(points[i].Id, word.Single().Id);
        }

        var hybrid = await client.HybridSearchAsync("survivors", points[5].Vector, "point tag5", 3);
        Assert.Equal(points[5].Id, hybrid[0].Id);
        cluster.Passed();
    }
}
