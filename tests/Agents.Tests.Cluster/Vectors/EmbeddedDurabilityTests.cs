using System.Runtime.InteropServices;
using Agents.Client;
using Agents.Hosting;

namespace Agents.Tests.Vectors;

/// <summary>Embedded mode keeps collections under the data directory: stop the silo, start another, everything is there.</summary>
public sealed class EmbeddedDurabilityTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PointsSurviveARestartOfTheEmbeddedSilo(bool quantize)
    {
        var dataDir = Directory.CreateTempSubdirectory("agents-embedded-").FullName;
        var host = new HostSettings { DataDirectory = dataDir };
        var random = new Random(21);
        var points = Enumerable.Range(0, 2500)
            .Select(i => new PointInput($"doc-{i}", Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray(), $$"""{"n":{{i}}}"""))
            .ToList();

        await using (var first = await EmbeddedCluster.ConnectAsync(ClusterConnection.Embedded(), new AgentsSettings(), host))
        {
            await first.CreateCollectionAsync(new CollectionSpec("durable", 16, VectorMetric.L2, Shards: 2, Quantize: quantize));
            await first.UpsertAsync("durable", points);
            await first.DeletePointsAsync("durable", ["doc-7"]);
        }

        await using var second = await EmbeddedCluster.ConnectAsync(ClusterConnection.Embedded(), new AgentsSettings(), host);
        var info = await second.DescribeCollectionAsync("durable");
        Assert.Equal(2499, info.Points);
        Assert.Equal(quantize, info.Spec.Quantize);
        if (quantize)
        {
            // Full vectors are memory-mapped, not on the heap, and the scratch files leave no names behind.
            Assert.All(info.Shards, s => Assert.Equal(0, s.VectorBytes));
            Assert.All(info.Shards, s => Assert.True(s.MappedBytes > 0));
            Assert.Empty(Directory.GetFiles(Path.Combine(dataDir, "mapped")));
        }

        foreach (var i in new[] { 0, 1, 500, 2499 })
        {
            var point = await second.GetPointAsync("durable", $"doc-{i}");
            Assert.Equal(points[i].Vector, MemoryMarshal.Cast<byte, float>(point!.Vector).ToArray());
        }

        Assert.Null(await second.GetPointAsync("durable", "doc-7"));
        Assert.Equal("doc-42", (await second.SearchAsync("durable", points[42].Vector, 1)).Single().Id);
        Directory.Delete(dataDir, recursive: true);
    }
}
