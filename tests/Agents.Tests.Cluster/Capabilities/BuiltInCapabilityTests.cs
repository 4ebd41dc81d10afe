using System.Numerics.Tensors;
using System.Text;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Capabilities;

/// <summary>The built-in capabilities on a real 3-silo cluster: the worker agents that hold them, each capability, and bad input to each.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class BuiltInCapabilityTests(ThreeSiloCluster fixture)
{
    private static readonly (string Name, string Text)[] Library =
    [
        ("penguins.txt", "Emperor penguins survive the Antarctic winter by huddling together in large groups. Their dense feathers keep them warm."),
        ("sourdough.txt", "To bake sourdough bread, feed the starter the night before, mix flour, water and salt, and bake it in a hot oven."),
        ("volcanoes.txt", "A volcano erupts when magma from the mantle rises through cracks in the crust, driven by dissolved gases."),
        ("chess.txt", "In chess, castling moves the king two squares toward a rook and places the rook on the other side of the king."),
    ];

    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    private static async Task<TReply> AskAsync<TReply>(AgentsClient client, string capability, object request)
    {
        var reply = await client.AskAnyAsync(capability, capability, BuiltInCapabilities.Encode(request));
        return BuiltInCapabilities.Decode<TReply>(reply, capability);
    }

    private async Task<AgentRequestFailedException> FailsAsync(string capability, string body)
    {
        var holder = (await HoldersAsync(capability))[0];
        return await Assert.ThrowsAsync<AgentRequestFailedException>(() => Client.AskAsync(holder.AgentId, capability, Encoding.UTF8.GetBytes(body)));
    }

    /// <summary>The holders of <paramref name="capability"/> once every silo's workers registered (they do so as their silo starts).</summary>
    private async Task<IReadOnlyList<AgentHolder>> HoldersAsync(string capability)
    {
        var expected = fixture.Cluster.Silos.Count * ThreeSiloCluster.Settings.Performance.AgentWorkers;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var holders = await Client.FindAgentsAsync(capability);
            if (holders.Count >= expected || DateTime.UtcNow > deadline)
            {
                return holders;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task EverySiloStartsItsWorkersHoldingEveryBuiltIn()
    {
        var workers = ThreeSiloCluster.Settings.Performance.AgentWorkers;
        Assert.True(workers > 0);
        foreach (var capability in BuiltInCapabilities.All)
        {
            var holders = await HoldersAsync(capability);
            Assert.Equal(fixture.Cluster.Silos.Count * workers, holders.Select(h => h.AgentId).Distinct().Count());
            Assert.All(holders, h => Assert.StartsWith("worker-", h.AgentId, StringComparison.Ordinal));
        }

        var profile = await Client.Agent((await HoldersAsync(BuiltInCapabilities.Embed))[0].AgentId).GetProfileAsync();
        Assert.Equal(BuiltInCapabilities.All, profile.Capabilities);
    }

    [Fact]
    public async Task ProcessTextGivesChunksKeywordsAndStatistics()
    {
        await HoldersAsync(BuiltInCapabilities.ProcessText);
        var text = string.Join(' ', Library.Select(d => d.Text));
        var reply = await AskAsync<ProcessTextReply>(Client, BuiltInCapabilities.ProcessText, new ProcessTextRequest(text, MaxKeywords: 5));

        Assert.Equal(64, reply.ContentHash.Length);
        Assert.True(reply.Statistics.Words > 50);
        Assert.True(reply.Statistics.Sentences >= 5);
        Assert.True(reply.Statistics.Tokens > reply.Statistics.Words);
        Assert.Equal(reply.Statistics.Chunks, reply.Chunks.Length);
        Assert.Contains("penguins", reply.Chunks[0].Text, StringComparison.OrdinalIgnoreCase);
        Assert.InRange(reply.Keywords.Length, 1, 5);
    }

    [Fact]
    public async Task EmbedGivesTheModelsUnitVectorsInOrder()
    {
        await HoldersAsync(BuiltInCapabilities.Embed);
        var reply = await AskAsync<EmbedReply>(Client, BuiltInCapabilities.Embed,
            new EmbedRequest(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]));

        Assert.Equal(384, reply.Dimension);
        Assert.Equal(3, reply.Vectors.Length);
        Assert.All(reply.Vectors, v => Assert.Equal(1.0, Math.Sqrt(TensorPrimitives.Dot(v, v)), 0.001));
        // The model's published cosines (as the embedding grain gives them).
        Assert.Equal(0.6660, TensorPrimitives.Dot(reply.Vectors[0], reply.Vectors[1]), 0.001);
        Assert.Equal(0.1046, TensorPrimitives.Dot(reply.Vectors[0], reply.Vectors[2]), 0.001);
    }

    [Fact]
    public async Task SearchFindsByTextInEveryModeAndByVectorWithAFilter()
    {
        await HoldersAsync(BuiltInCapabilities.Search);
        var name = $"cap-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 384, VectorMetric.Cosine, Shards: 3, TextFields: ["text"]));
        var vectors = await Client.EmbedAsync(Library.Select(d => d.Text).ToList());
        await Client.UpsertAsync(name, Library.Select((d, i) => new PointInput(d.Name, vectors[i], System.Text.Json.JsonSerializer.Serialize(new { text = d.Text, n = i }))));

        foreach (var mode in new[] { "hybrid", "dense", "keyword" })
        {
            var reply = await AskAsync<CapabilitySearchReply>(Client, BuiltInCapabilities.Search, new CapabilitySearchRequest(name, "how do volcanoes erupt magma", K: 2, Mode: mode));
            Assert.Equal(mode, reply.Mode);
            Assert.Equal("volcanoes.txt", reply.Hits[0].Id);
            Assert.Contains("magma", reply.Hits[0].Payload!.Value.GetProperty("text").GetString(), StringComparison.Ordinal);
        }

        var filter = new PayloadFilter([new FilterCondition("n", FilterOperator.Range, Min: 2, Max: 3)]);
        var byVector = await AskAsync<CapabilitySearchReply>(Client, BuiltInCapabilities.Search, new CapabilitySearchRequest(name, Vector: vectors[0], K: 4, Filter: filter));
        Assert.Equal("dense", byVector.Mode);
        Assert.Equal(["chess.txt", "volcanoes.txt"], byVector.Hits.Select(h => h.Id).Order(StringComparer.Ordinal));
        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public async Task SubmitJobRunsTheJobAndReturnsItsId()
    {
        await HoldersAsync(BuiltInCapabilities.SubmitJob);
        var reply = await AskAsync<SubmitJobReply>(Client, BuiltInCapabilities.SubmitJob,
            new SubmitJobRequest(TaskTypes.TextProcessing, Library.Select(d => new JobDocument(d.Name, d.Text)).ToArray(), "round-robin", BatchSize: 1, Label: "from an agent"));

        Assert.Equal(Library.Length, reply.Tasks);
        var result = await Client.WaitAsync(reply.JobId);
        Assert.Equal(Library.Length, result.Status.SucceededTasks);
        Assert.Equal("from an agent", result.Status.Label);
    }

    [Theory]
    [InlineData("process-text", "{\"text\": \"  \"}", "no text")]
    [InlineData("process-text", "{\"text\": \"words\", \"maxKeywords\": -1}", "maxKeywords -1")]
    [InlineData("embed", "{\"texts\": []}", "no texts")]
    [InlineData("embed", "{\"texts\": [\"fine\", \"\"]}", "Text 1")]
    [InlineData("search", "{\"collection\": \"no-such-collection\", \"text\": \"anything\"}", "'no-such-collection' does not exist")]
    [InlineData("search", "{\"collection\": \"no-such-collection\"}", "neither text nor a vector")]
    [InlineData("search", "{\"collection\": \"x\", \"text\": \"a\", \"mode\": \"fuzzy\"}", "'fuzzy' is unknown")]
    [InlineData("submit-job", "{\"taskType\": \"summarise\", \"documents\": [{\"name\": \"a\", \"text\": \"b\"}]}", "'summarise' is unknown")]
    [InlineData("submit-job", "{\"taskType\": \"text-processing\", \"documents\": []}", "no documents")]
    [InlineData("submit-job", "{\"taskType\": \"e2e\", \"documents\": [{\"name\": \"a\", \"text\": \"b\"}]}", "needs the collection")]
    public async Task BadInputFailsTheRequestNamingWhatIsWrong(string capability, string body, string expected)
    {
        var e = await FailsAsync(capability, body);
        Assert.Equal(AgentRequestFailure.HandlerFailed, e.Failure);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("process-text")]
    [InlineData("embed")]
    [InlineData("search")]
    [InlineData("submit-job")]
    public async Task ABodyOfTheWrongShapeIsABadRequest(string capability)
    {
        var e = await FailsAsync(capability, "[1, 2");
        Assert.Equal(AgentRequestFailure.BadRequest, e.Failure);
        Assert.Contains(capability, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVectorOfTheWrongDimensionIsRefused()
    {
        var name = $"dim-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 8));
        var e = await FailsAsync(BuiltInCapabilities.Search, $"{{\"collection\": \"{name}\", \"vector\": [1, 2, 3]}}");
        Assert.Contains("3 dimensions", e.Message, StringComparison.Ordinal);
        Assert.Contains("has 8", e.Message, StringComparison.Ordinal);

        // Text on a collection not of the model's dimension cannot be embedded for it.
        e = await FailsAsync(BuiltInCapabilities.Search, $"{{\"collection\": \"{name}\", \"text\": \"words\", \"mode\": \"dense\"}}");
        Assert.Contains("not the model's 384", e.Message, StringComparison.Ordinal);
        await Client.DropCollectionAsync(name);
    }
}
