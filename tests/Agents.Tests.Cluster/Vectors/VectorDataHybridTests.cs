using Agents.Client;
using Agents.Client.VectorData;
using Agents.Hosting;
using Microsoft.Extensions.VectorData;

namespace Agents.Tests.Vectors;

/// <summary>The VectorData collection's hybrid search (<see cref="IKeywordHybridSearchable{TRecord}"/>) on the embedded default.</summary>
public sealed class VectorDataHybridTests : IAsyncLifetime
{
    private static readonly float[] East = [1, 0, 0, 0];
    private readonly string _dataDir = Directory.CreateTempSubdirectory("agents-vd-hybrid-").FullName;
    private AgentsClient _client = null!;

    public async Task InitializeAsync() =>
        _client = await EmbeddedCluster.ConnectAsync(ClusterConnection.Embedded(), new AgentsSettings(), new HostSettings { DataDirectory = _dataDir });

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    // Cosine to east: n1 1, n2 0.95, n6 0.8, n3 0.71, n4 and n5 0; only n6 speaks of a nibble.
    private static List<Note> Notes() =>
    [
        new() { Id = "n1", Title = "Bytes", Body = "A byte is eight bits of storage.", Kind = "unit", Embedding = new float[] { 1, 0, 0, 0 } },
        new() { Id = "n2", Title = "Words", Body = "A word is the natural unit of data for a processor.", Kind = "unit", Embedding = new float[] { 0.9f, 0.3f, 0, 0 } },
        new() { Id = "n3", Title = "Pages", Body = "Memory is mapped in pages of four kilobytes.", Kind = "memory", Embedding = new float[] { 0.7f, 0.7f, 0, 0 } },
        new() { Id = "n4", Title = "Caches", Body = "A cache line holds sixty-four bytes.", Kind = "memory", Embedding = new float[] { 0, 1, 0, 0 } },
        new() { Id = "n5", Title = "Registers", Body = "Registers are the fastest storage a processor has.", Kind = "cpu", Embedding = new float[] { 0, 0, 1, 0 } },
        new() { Id = "n6", Title = "Nibbles", Body = "Four bits: one hex digit, half of a byte.", Kind = "unit", Embedding = new float[] { 0.8f, 0.6f, 0, 0 } },
    ];

    private async Task<VectorStoreCollection<string, Note>> SeededAsync()
    {
        var notes = new AgentsVectorStore(_client).GetCollection<string, Note>($"notes-{Guid.NewGuid():N}"[..16]);
        await notes.EnsureCollectionExistsAsync();
        await notes.UpsertAsync(Notes());
        return notes;
    }

    private static async Task<string[]> HybridIdsAsync(VectorStoreCollection<string, Note> notes, string[] keywords, int top, HybridSearchOptions<Note>? options = null) =>
        (await ((IKeywordHybridSearchable<Note>)notes).HybridSearchAsync(East, keywords, top, options).ToListAsync()).Select(r => r.Record.Id).ToArray();

    [Fact]
    public async Task TheCollectionIsCreatedWithItsFullTextPropertiesAsTextFields()
    {
        var notes = await SeededAsync();
        var spec = (await _client.DescribeCollectionAsync(notes.Name)).Spec;
        Assert.Equal(["title", "body"], spec.TextFields ?? []);
    }

    [Fact]
    public async Task KeywordsLiftARecordThatTheVectorAloneRanksThird()
    {
        var notes = await SeededAsync();
        var dense = (await notes.SearchAsync(East, 6).ToListAsync()).Select(r => r.Record.Id).ToArray();
        Assert.Equal(["n1", "n2", "n6"], dense[..3]);

        // Relative score fusion, dense weighted 0.7: cosines 1 .. 0 scale to 1 .. 0, so n6 = 0.7 × 0.8 + 0.3 × 1 = 0.86
        // (the only keyword hit) passes n1 = 0.7 (first by vector, no keyword).
        var hybrid = await HybridIdsAsync(notes, ["nibble", "hex"], 2);
        Assert.Equal(["n6", "n1"], hybrid);

        var results = await ((IKeywordHybridSearchable<Note>)notes).HybridSearchAsync(East, ["nibble"], 6).ToListAsync();
        Assert.Equal("Four bits: one hex digit, half of a byte.", results[0].Record.Body);
        Assert.True(results.Zip(results.Skip(1)).All(p => p.First.Score >= p.Second.Score), "fused scores are in descending order");
    }

    [Fact]
    public async Task FiltersSkipAndThresholdApplyToTheFusedList()
    {
        var notes = await SeededAsync();
        var memoryOnly = await HybridIdsAsync(notes, ["nibble", "bytes"], 6, new() { Filter = n => n.Kind == "memory" });
        Assert.Equal(["n3", "n4"], memoryOnly.Order().ToArray());

        var all = await HybridIdsAsync(notes, ["nibble"], 6);
        var skipped = await HybridIdsAsync(notes, ["nibble"], 6, new() { Skip = 2 });
        Assert.Equal(all.Skip(2), skipped);

        var scores = await ((IKeywordHybridSearchable<Note>)notes).HybridSearchAsync(East, ["nibble"], 6).Select(r => r.Score!.Value).ToListAsync();
        var threshold = scores[1];
        var kept = await HybridIdsAsync(notes, ["nibble"], 6, new() { ScoreThreshold = threshold });
        Assert.Equal(all.Take(scores.Count(s => s >= threshold)), kept);
    }

    [Fact]
    public async Task BadHybridSearchesAreRejectedWithAReason()
    {
        var notes = await SeededAsync();
        var hybrid = (IKeywordHybridSearchable<Note>)notes;
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => hybrid.HybridSearchAsync(East, [" "], 3).ToListAsync().AsTask());
        Assert.Contains("keyword", empty.Message);

        var notText = await Assert.ThrowsAsync<NotSupportedException>(
            () => hybrid.HybridSearchAsync(East, ["nibble"], 3, new() { AdditionalProperty = n => n.Kind }).ToListAsync().AsTask());
        Assert.Contains("full-text", notText.Message);

        var plain = new AgentsVectorStore(_client).GetCollection<string, PlainNote>($"plain-{Guid.NewGuid():N}"[..16]);
        await plain.EnsureCollectionExistsAsync();
        var none = await Assert.ThrowsAsync<NotSupportedException>(
            () => ((IKeywordHybridSearchable<PlainNote>)plain).HybridSearchAsync(East, ["nibble"], 3).ToListAsync().AsTask());
        Assert.Contains("IsFullTextIndexed", none.Message);
    }

    public sealed class Note
    {
        [VectorStoreKey]
        public string Id { get; set; } = "";

        [VectorStoreData(IsFullTextIndexed = true, StorageName = "title")]
        public string Title { get; set; } = "";

        [VectorStoreData(IsFullTextIndexed = true, StorageName = "body")]
        public string Body { get; set; } = "";

        [VectorStoreData(IsIndexed = true)]
        public string Kind { get; set; } = "";

        [VectorStoreVector(4, DistanceFunction = DistanceFunction.CosineSimilarity)]
        public ReadOnlyMemory<float> Embedding { get; set; }
    }

    public sealed class PlainNote
    {
        [VectorStoreKey]
        public string Id { get; set; } = "";

        [VectorStoreData]
        public string Body { get; set; } = "";

        [VectorStoreVector(4)]
        public ReadOnlyMemory<float> Embedding { get; set; }
    }
}
