using System.Numerics.Tensors;
using System.Text;
using Agents.Client;
using Agents.Grains.Embeddings;
using Agents.Tests.Infrastructure;
using Agents.Tests.Text;
using Microsoft.Extensions.AI;

namespace Agents.Tests.Embeddings;

/// <summary>Embeddings, embedding jobs and ingest on a real 3-silo cluster, each silo with its own model.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class ClusterEmbeddingTests(ThreeSiloCluster fixture)
{
    private static readonly (string Name, string Text)[] Library =
    [
        ("penguins.txt", "Emperor penguins survive the Antarctic winter by huddling together in large groups. Their dense feathers and a thick layer of fat keep them warm while the males incubate the eggs on their feet."),
        ("sourdough.txt", "To bake sourdough bread, feed the starter the night before, mix flour, water and salt, let the dough rise slowly, shape it, and bake it in a very hot Dutch oven until the crust is dark."),
        ("volcanoes.txt", "A volcano erupts when magma from the mantle rises through cracks in the crust. Pressure from dissolved gases drives the molten rock, ash and steam out of the vent."),
        ("tax.txt", "Quarterly estimated tax payments are due in April, June, September and January. Self-employed workers who skip them may owe a penalty when they file the annual return."),
        ("chess.txt", "In chess, castling moves the king two squares toward a rook and places the rook on the other side of the king. It is allowed only if neither piece has moved and the king is not in check."),
    ];

    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    [Fact]
    public async Task TheClusterGeneratorGivesTheModelsVectorsAndThePublishedCosines()
    {
        using var generator = new ClusterEmbeddingGenerator(Client);
        var sentences = new[] { "The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium." };

        var embeddings = await generator.GenerateAsync(sentences);

        Assert.Equal(3, embeddings.Count);
        Assert.Equal(0.6660, TensorPrimitives.Dot(embeddings[0].Vector.Span, embeddings[1].Vector.Span), 0.001);
        Assert.Equal(0.1046, TensorPrimitives.Dot(embeddings[0].Vector.Span, embeddings[2].Vector.Span), 0.001);
        Assert.Equal(0.1411, TensorPrimitives.Dot(embeddings[1].Vector.Span, embeddings[2].Vector.Span), 0.001);
        Assert.Equal(384, generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 768 }));
    }

    [Fact]
    public async Task EmptyTextIsRejectedByTheSiloWithItsIndex()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Client.EmbedAsync(["fine", ""]));
        Assert.Contains("Text 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);

        // The silo keeps serving.
        Assert.Single(await Client.EmbedAsync(["still fine"]));
    }

    [Fact]
    public async Task EmbeddingJobsSpreadOverEverySilo()
    {
        var tasks = Enumerable.Range(0, 90)
            .Select(i => new JobTask(i, $"doc-{i}", Encoding.UTF8.GetBytes($"Document {i} talks about grains, silos and embeddings. It has a second sentence about {i % 7} clusters.")))
            .ToList();

        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.Embedding, Distribution.RoundRobin), tasks, TimeSpan.FromSeconds(120));

        Assert.Equal(90, result.Status.SucceededTasks);
        Assert.Equal(result.Totals.Chunks, result.Totals.Embeddings);
        Assert.True(result.Totals.Embeddings >= 90);
        Assert.Equal(3, result.PerSilo.Count(s => s.Tasks > 0));
    }

    [Fact]
    public async Task IngestThenAPlainWordsQuestionFindsTheDocumentThatAnswersIt()
    {
        var collection = $"kb-{Guid.NewGuid():N}"[..16];
        var documents = Library.Select((d, i) => new JobTask(i, d.Name, Encoding.UTF8.GetBytes(d.Text))).ToList();

        var result = await Client.IngestAsync(collection, documents);

        Assert.Equal(Library.Length, result.Status.SucceededTasks);
        Assert.Equal(Library.Length, (await Client.DescribeCollectionAsync(collection)).Points);
        foreach (var (question, source) in new[]
                 {
                     ("How do penguins stay warm in winter?", "penguins.txt"),
                     ("when do I have to pay estimated taxes", "tax.txt"),
                     ("what makes a volcano erupt", "volcanoes.txt"),
                     ("rules for castling the king", "chess.txt"),
                 })
        {
            var hits = await Client.SearchTextHitsAsync(collection, question, k: 3);
            Assert.Equal(source, hits[0].Source);
            Assert.Equal(0, hits[0].Chunk);
            Assert.Equal(Library.Single(d => d.Name == source).Text, hits[0].Text);
            Assert.Equal($"{source}#0", hits[0].Id);
        }

        // Each chunk's payload names its document's title: a one-line document is titled by its file name.
        var point = await Client.GetPointAsync(collection, "penguins.txt#0");
        using (var payload = System.Text.Json.JsonDocument.Parse(point!.Payload))
        {
            Assert.Equal("penguins", payload.RootElement.GetProperty("title").GetString());
            Assert.Equal(Library[0].Text, payload.RootElement.GetProperty("text").GetString());
        }

        // Ingesting again overwrites by id instead of duplicating.
        await Client.IngestAsync(collection, documents);
        Assert.Equal(Library.Length, (await Client.DescribeCollectionAsync(collection)).Points);
        await Client.DropCollectionAsync(collection);
    }

    [Fact]
    public async Task IngestNeedsAnExistingCollectionOfTheModelsDimension()
    {
        var name = $"d8-{Guid.NewGuid():N}"[..16];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 8));
        var job = fixture.Client.GetGrain<IJobGrain>(Guid.NewGuid());
        var wrong = await Assert.ThrowsAsync<ArgumentException>(() => job.CreateAsync(new JobSpec(TaskTypes.Ingest, Distribution.RoundRobin, Collection: name)));
        Assert.Contains("dimension 8", wrong.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<KeyNotFoundException>(() => job.CreateAsync(new JobSpec(TaskTypes.Ingest, Distribution.RoundRobin, Collection: "no-such-kb")));
        Assert.Contains("no-such-kb", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => job.CreateAsync(new JobSpec(TaskTypes.Ingest, Distribution.RoundRobin)));
    }
}

/// <summary>The micro-batcher: concurrent requests share model calls, and the batch size bounds them.</summary>
public sealed class EmbeddingServiceTests
{
    [Fact]
    public async Task ConcurrentRequestsShareBatchesBoundedByTheBatchSize()
    {
        using var service = new EmbeddingService(new EmbeddingOptions(1, 1, MaxBatchSize: 4, TimeSpan.FromMilliseconds(50)), TextTestData.Tokenizer);
        var texts = Enumerable.Range(0, 10).Select(i => $"sentence number {i} about actors").ToArray();

        var results = await Task.WhenAll(texts.Select(t => service.EmbedAsync([t])));

        Assert.Equal(10, service.TextsEmbedded);
        Assert.InRange(service.Batches, 3, 9);
        using var embedder = new SentenceEmbedder(TextTestData.Tokenizer, SentenceEmbedder.ReadMiniLmModel(), 1);
        var direct = embedder.Embed(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(1f, TensorPrimitives.CosineSimilarity(direct[i], results[i][0]), 4);
        }
    }

    [Fact]
    public void DefaultsGiveOneSingleThreadedSessionPerCoreUpToTheWorkers()
    {
        Assert.Equal(new EmbeddingOptions(2, 1, 8, TimeSpan.FromMilliseconds(2)), EmbeddingOptions.For(workerThreads: 2, cores: 2));
        Assert.Equal(new EmbeddingOptions(1, 4, 16, TimeSpan.FromMilliseconds(5)), EmbeddingOptions.For(1, 4, 16, TimeSpan.FromMilliseconds(5)));
        Assert.Equal(8, EmbeddingOptions.For(64, 8).Sessions);
    }
}
