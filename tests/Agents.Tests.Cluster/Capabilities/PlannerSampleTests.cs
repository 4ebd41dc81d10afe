using Agents.Client;
using Agents.Samples.Planner;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Capabilities;

/// <summary>The planner sample's core on the 3-silo cluster: it learns its documents through embed agents on several silos and answers from them.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class PlannerSampleTests(ThreeSiloCluster fixture)
{
    [Fact]
    public async Task ThePlannerLearnsTheFolderThroughTheEmbedAgentsAndAnswersFromIt()
    {
        var client = AgentsClient.FromCluster(fixture.Client);
        var expected = fixture.Cluster.Silos.Count * ThreeSiloCluster.Settings.Performance.AgentWorkers;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await client.FindAgentsAsync(BuiltInCapabilities.Embed)).Count < expected)
        {
            Assert.True(DateTime.UtcNow < deadline, "the workers did not register in time");
            await Task.Delay(50);
        }

        var log = new StringWriter();
        var collection = $"planner-{Guid.NewGuid():N}"[..20];
        var planner = new PlannerAgent(client, collection, log, chunksPerEmbed: 1);
        var folder = Path.Combine(AppContext.BaseDirectory, "documents");

        var learned = await planner.LearnAsync(folder);

        Assert.Equal(4, learned.Documents);
        Assert.True(learned.Chunks >= 4);
        Assert.Equal(learned.Chunks, learned.EmbedsByAgent.Values.Sum());
        Assert.Equal(learned.Chunks, (await client.DescribeCollectionAsync(collection)).Points);
        Assert.Contains("embed request(s) answered by worker-", log.ToString(), StringComparison.Ordinal);

        var hits = await planner.AnswerAsync("What happens to a job when the silo that hosts it dies?");
        Assert.Equal("jobs.md", hits[0].Payload!.Value.GetProperty("source").GetString());
        hits = await planner.AnswerAsync("How is a collection split into shards?");
        Assert.Equal("vectors.md", hits[0].Payload!.Value.GetProperty("source").GetString());

        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => planner.LearnAsync(Path.Combine(folder, "missing")));
        await client.DropCollectionAsync(collection);
    }
}
