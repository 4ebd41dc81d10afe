using System.Text;
using Agents.Client;
using Agents.Client.VectorData;
using Agents.Tests.Infrastructure;
using Microsoft.Extensions.VectorData;

namespace Agents.Tests.Vectors;

/// <summary>The Microsoft.Extensions.VectorData store on a real 3-silo cluster.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class VectorDataTests(ThreeSiloCluster fixture)
{
    private static readonly ReadOnlyMemory<float> East = new float[] { 1, 0, 0, 0 };

    private AgentsVectorStore Store => new(AgentsClient.FromCluster(fixture.Client));

    private static float[] Unit(params float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-5f);
        }
    }

    private static string NewName() => $"vd-{Guid.NewGuid():N}"[..20];

    private static List<Hotel> Hotels() =>
    [
        new() { Id = "h1", Name = "Harbour", Category = "budget", Stars = 2, Rating = 3.5, Tags = ["wifi"], Embedding = new float[] { 1, 0, 0, 0 } },
        new() { Id = "h2", Name = "Palace", Category = "luxury", Stars = 5, Rating = 4.8, Tags = ["pool", "spa"], Embedding = new float[] { 0.9f, 0.1f, 0, 0 } },
        new() { Id = "h3", Name = "Hostel", Category = "budget", Stars = 3, Rating = 4.0, Tags = ["pool"], Embedding = new float[] { 0, 1, 0, 0 } },
        new() { Id = "h4", Name = "Inn", Category = "midrange", Stars = 4, Rating = 4.2, Tags = ["wifi", "pool"], Embedding = new float[] { 0, 0, 1, 0 } },
        new() { Id = "h5", Name = "Resort", Category = "luxury", Stars = 4, Rating = 3.9, Tags = [], Embedding = new float[] { 0, 0, 0, 1 } },
        new() { Id = "h6", Name = "Lodge", Category = "midrange", Stars = 3, Rating = 2.5, Tags = ["spa"], Embedding = new float[] { 0.7f, 0.7f, 0, 0 } },
    ];

    private static async Task<string[]> SearchIdsAsync(VectorStoreCollection<string, Hotel> hotels, VectorSearchOptions<Hotel>? options, int top = 10) =>
        (await hotels.SearchAsync(East, top, options).ToListAsync()).Select(r => r.Record.Id).ToArray();

    private async Task<VectorStoreCollection<string, Hotel>> SeededHotelsAsync()
    {
        var hotels = Store.GetCollection<string, Hotel>(NewName());
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync(Hotels());
        return hotels;
    }

    [Fact]
    public async Task RecordsRoundTripThroughUpsertGetSearchDeleteAndDrop()
    {
        var store = Store;
        var name = NewName();
        var hotels = store.GetCollection<string, Hotel>(name);
        Assert.False(await hotels.CollectionExistsAsync());
        await hotels.EnsureCollectionExistsAsync();
        Assert.True(await hotels.CollectionExistsAsync());
        Assert.Contains(name, await store.ListCollectionNamesAsync().ToListAsync());

        var client = (AgentsClient)store.GetService(typeof(AgentsClient))!;
        var spec = (await client.DescribeCollectionAsync(name)).Spec;
        // No shard count given: two per active silo of the 3-silo cluster.
        Assert.Equal((4, VectorMetric.Cosine, 6, VectorIndexKind.Hnsw), (spec.Dimension, spec.Metric, spec.Shards, spec.Index));

        await hotels.UpsertAsync(Hotels());
        Assert.Equal(6, (await client.DescribeCollectionAsync(name)).Points);

        // Data properties travel in the payload under their storage names.
        var raw = await client.GetPointAsync(name, "h2");
        Assert.Contains("\"hotel_name\":\"Palace\"", Encoding.UTF8.GetString(raw!.Payload));

        var palace = await hotels.GetAsync("h2", new RecordRetrievalOptions { IncludeVectors = true });
        Assert.NotNull(palace);
        Assert.Equal(("Palace", "luxury", 5, 4.8), (palace.Name, palace.Category, palace.Stars, palace.Rating));
        Assert.Equal(["pool", "spa"], palace.Tags);
        AssertClose(Unit(0.9f, 0.1f, 0, 0), palace.Embedding.ToArray()); // a cosine collection stores unit vectors
        Assert.True((await hotels.GetAsync("h2"))!.Embedding.IsEmpty, "vectors are only read when asked for");

        var batch = await hotels.GetAsync(["h3", "missing", "h1"]).ToListAsync();
        Assert.Equal(["h3", "h1"], batch.Select(h => h.Id));

        var results = await hotels.SearchAsync(East, 3).ToListAsync();
        Assert.Equal(["h1", "h2", "h6"], results.Select(r => r.Record.Id));
        Assert.Equal("Harbour", results[0].Record.Name);
        Assert.Equal(1.0, results[0].Score!.Value, 3);
        Assert.True(results[1].Score > results[2].Score);

        var skipped = await hotels.SearchAsync(East, 2, new() { Skip = 1, IncludeVectors = true }).ToListAsync();
        Assert.Equal(["h2", "h6"], skipped.Select(r => r.Record.Id));
        AssertClose(Unit(0.7f, 0.7f, 0, 0), skipped[1].Record.Embedding.ToArray());

        var thresholded = await hotels.SearchAsync(East, 10, new() { ScoreThreshold = 0.9 }).ToListAsync();
        Assert.Equal(["h1", "h2"], thresholded.Select(r => r.Record.Id));

        await hotels.DeleteAsync("h1");
        Assert.Null(await hotels.GetAsync("h1"));
        await hotels.DeleteAsync(["h2", "h3"]);
        Assert.Empty(await hotels.GetAsync(["h1", "h2", "h3"]).ToListAsync());
        Assert.Equal(["h6", "h4", "h5"], (await hotels.SearchAsync(East, 10).ToListAsync()).Select(r => r.Record.Id));

        await hotels.EnsureCollectionDeletedAsync();
        Assert.False(await hotels.CollectionExistsAsync());
        Assert.False(await store.CollectionExistsAsync(name));
        Assert.DoesNotContain(name, await store.ListCollectionNamesAsync().ToListAsync());
        await store.EnsureCollectionDeletedAsync(name); // already gone: a no-op, not an error
    }

    [Fact]
    public async Task ABatchOfSearchesAnswersEachAsItsOwnSearchDoes()
    {
        var hotels = (AgentsVectorStoreCollection<string, Hotel>)await SeededHotelsAsync();
        ReadOnlyMemory<float>[] queries = [East, new float[] { 0, 1, 0, 0 }, new float[] { 0.2f, 0.1f, 0.9f, 0.3f }];
        var options = new VectorSearchOptions<Hotel> { Skip = 1, Filter = h => h.Stars >= 3 };

        var batch = await hotels.SearchBatchAsync(queries, 2, options);

        Assert.Equal(queries.Length, batch.Count);
        for (var q = 0; q < queries.Length; q++)
        {
            var one = await hotels.SearchAsync(queries[q], 2, options).ToListAsync();
            Assert.Equal(one.Select(r => (r.Record.Id, r.Record.Name)), batch[q].Select(r => (r.Record.Id, r.Record.Name)));
            Assert.Equal(one.Select(r => r.Score!.Value), batch[q].Select(r => r.Score!.Value), (a, b) => Math.Abs(a - b) < 1e-5);
        }

        Assert.Empty(await hotels.SearchBatchAsync([], 3));
        await hotels.EnsureCollectionDeletedAsync();
    }

    [Fact]
    public async Task FiltersTranslateToPayloadConditions()
    {
        var hotels = await SeededHotelsAsync();

        Assert.Equal(["h1", "h3"], await SearchIdsAsync(hotels, new() { Filter = h => h.Category == "budget" }));

        var wanted = "luxury";
        Assert.Equal(["h2", "h5"], await SearchIdsAsync(hotels, new() { Filter = h => wanted == h.Category }));

        // Integer strict comparisons become inclusive ones: > 3 is >= 4, < 5 is <= 4.
        Assert.Equal(["h6", "h3", "h4", "h5"], await SearchIdsAsync(hotels, new() { Filter = h => h.Stars >= 3 && h.Stars < 5 }));
        Assert.Equal(["h2", "h4", "h5"], await SearchIdsAsync(hotels, new() { Filter = h => h.Stars > 3 }));
        Assert.Equal(["h3", "h4"], await SearchIdsAsync(hotels, new() { Filter = h => h.Rating >= 4.0 && h.Rating <= 4.5 }));

        var categories = new[] { "luxury", "midrange" };
        Assert.Equal(["h2", "h6", "h4", "h5"], await SearchIdsAsync(hotels, new() { Filter = h => categories.Contains(h.Category) }));
        var list = new List<string> { "budget" };
        Assert.Equal(["h3"], await SearchIdsAsync(hotels, new() { Filter = h => list.Contains(h.Category) && h.Stars >= 3 }));
        Assert.Equal(["h2", "h3", "h4"], await SearchIdsAsync(hotels, new() { Filter = h => h.Tags.Contains("pool") }));
        Assert.Empty(await SearchIdsAsync(hotels, new() { Filter = h => Array.Empty<string>().Contains(h.Category) }));

        var filtered = await hotels.SearchAsync(East, 1, new() { Filter = h => h.Category == "midrange" }).ToListAsync();
        Assert.Equal("Lodge", Assert.Single(filtered).Record.Name);
    }

    [Fact]
    public async Task UnsupportedFiltersThrowNotSupported()
    {
        var hotels = await SeededHotelsAsync();

        async Task<string> RejectedAsync(System.Linq.Expressions.Expression<Func<Hotel, bool>> filter) =>
            (await Assert.ThrowsAsync<NotSupportedException>(async () =>
                await hotels.SearchAsync(East, 3, new() { Filter = filter }).ToListAsync())).Message;

        Assert.Contains("NotEqual", await RejectedAsync(h => h.Stars != 3));
        Assert.Contains("OrElse", await RejectedAsync(h => h.Stars == 2 || h.Stars == 5));
        Assert.Contains("StartsWith", await RejectedAsync(h => h.Name.StartsWith("H")));
        Assert.Contains("substring", await RejectedAsync(h => h.Name.Contains("arb")));
        Assert.Contains("strict comparison", await RejectedAsync(h => h.Rating > 4.0));
        Assert.Contains("key property 'Id'", await RejectedAsync(h => h.Id == "h1"));

        var byFilter = Assert.Throws<NotSupportedException>(() => hotels.GetAsync(h => h.Category == "budget", 5));
        Assert.Contains("SearchAsync", byFilter.Message);
        var text = await Assert.ThrowsAsync<NotSupportedException>(async () => await hotels.SearchAsync("a hotel by the sea", 3).ToListAsync());
        Assert.Contains("generates no embeddings", text.Message);
    }

    [Fact]
    public void UnsupportedSchemasThrowNotSupported()
    {
        var store = Store;
        var manhattan = Assert.Throws<NotSupportedException>(() => store.GetCollection<string, ManhattanRecord>(NewName()));
        Assert.Contains("ManhattanDistance", manhattan.Message);

        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Id", typeof(string)),
                new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 4) { DistanceFunction = DistanceFunction.CosineDistance },
            ],
        };
        Assert.Contains("CosineDistance", Assert.Throws<NotSupportedException>(() => store.GetDynamicCollection(NewName(), definition)).Message);

        Assert.Contains("DateTime", Assert.Throws<NotSupportedException>(() => store.GetCollection<DateTime, Hotel>(NewName())).Message);
    }

    [Fact]
    public async Task EuclideanScoresAreDistancesAndNumericKeysRoundTrip()
    {
        var store = Store;
        var points = store.GetCollection<int, Point3>(NewName());
        await points.EnsureCollectionExistsAsync();
        Assert.Equal((VectorMetric.L2, VectorIndexKind.Flat), (points is AgentsVectorStoreCollection<int, Point3> typed ? (typed.Spec.Metric, typed.Spec.Index) : default));
        await points.UpsertAsync([
            new Point3 { Id = 1, Label = "far", Vector = [3, 4, 0] },
            new Point3 { Id = 2, Label = "near", Vector = [0, 1, 0] },
            new Point3 { Id = 3, Label = "mid", Vector = [0, 0, 2] },
        ]);

        var results = await points.SearchAsync(new float[] { 0, 0, 0 }, 3, new() { IncludeVectors = true }).ToListAsync();
        Assert.Equal([2, 3, 1], results.Select(r => r.Record.Id));
        Assert.Equal([1.0, 2.0, 5.0], results.Select(r => Math.Round(r.Score!.Value, 4)));
        Assert.Equal(new float[] { 3, 4, 0 }, results[2].Record.Vector);

        // For a distance the threshold is an upper bound.
        Assert.Equal([2, 3], (await points.SearchAsync(new float[] { 0, 0, 0 }, 3, new() { ScoreThreshold = 2.5 }).ToListAsync()).Select(r => r.Record.Id));
        Assert.Equal("mid", (await points.GetAsync(3))!.Label);

        var guids = store.GetCollection<Guid, Note>(NewName());
        await guids.EnsureCollectionExistsAsync();
        var note = new Note { Text = "generated", Embedding = new float[] { 1, 2 } };
        await guids.UpsertAsync(note);
        Assert.NotEqual(Guid.Empty, note.Id);
        Assert.Equal("generated", (await guids.GetAsync(note.Id))!.Text);
        await guids.DeleteAsync(note.Id);
        Assert.Null(await guids.GetAsync(note.Id));
    }

    [Fact]
    public async Task DynamicCollectionsMapDictionaries()
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Key", typeof(long)),
                new VectorStoreDataProperty("Category", typeof(string)) { StorageName = "cat" },
                new VectorStoreDataProperty("Stars", typeof(int)),
                new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 2) { DistanceFunction = DistanceFunction.DotProductSimilarity },
            ],
        };
        var collection = Store.GetDynamicCollection(NewName(), definition);
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync([
            new Dictionary<string, object?> { ["Key"] = 10L, ["Category"] = "a", ["Stars"] = 1, ["Embedding"] = new ReadOnlyMemory<float>([1, 0]) },
            new Dictionary<string, object?> { ["Key"] = 20L, ["Category"] = "b", ["Stars"] = 2, ["Embedding"] = new ReadOnlyMemory<float>([2, 0]) },
            new Dictionary<string, object?> { ["Key"] = 30L, ["Category"] = "a", ["Stars"] = 3, ["Embedding"] = new ReadOnlyMemory<float>([0, 1]) },
        ]);

        var record = await collection.GetAsync(30L);
        Assert.NotNull(record);
        Assert.Equal((30L, "a", 3), ((long)record["Key"]!, (string)record["Category"]!, (int)record["Stars"]!));

        var hits = await collection.SearchAsync(new float[] { 1, 0 }, 5, new() { Filter = r => (string)r["Category"]! == "a" && (int)r["Stars"]! > 1 }).ToListAsync();
        Assert.Equal(30L, Assert.Single(hits).Record["Key"]);
        var dot = await collection.SearchAsync(new float[] { 1, 0 }, 1).ToListAsync();
        Assert.Equal((20L, 2.0), ((long)dot[0].Record["Key"]!, dot[0].Score!.Value));

        var metadata = (VectorStoreCollectionMetadata)collection.GetService(typeof(VectorStoreCollectionMetadata))!;
        Assert.Equal((AgentsVectorStore.SystemName, collection.Name), (metadata.VectorStoreSystemName, metadata.CollectionName));
        await collection.EnsureCollectionDeletedAsync();
    }

    /// <summary>A record mapped by attributes.</summary>
    public sealed class Hotel
    {
        [VectorStoreKey]
        public string Id { get; set; } = "";

        [VectorStoreData(StorageName = "hotel_name")]
        public string Name { get; set; } = "";

        [VectorStoreData]
        public string Category { get; set; } = "";

        [VectorStoreData]
        public int Stars { get; set; }

        [VectorStoreData]
        public double Rating { get; set; }

        [VectorStoreData]
        public string[] Tags { get; set; } = [];

        [VectorStoreVector(4, DistanceFunction = DistanceFunction.CosineSimilarity)]
        public ReadOnlyMemory<float> Embedding { get; set; }
    }

    /// <summary>An int key, a float[] vector, Euclidean distance and an exact index.</summary>
    public sealed class Point3
    {
        [VectorStoreKey]
        public int Id { get; set; }

        [VectorStoreData]
        public string Label { get; set; } = "";

        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanDistance, IndexKind = IndexKind.Flat)]
        public float[] Vector { get; set; } = [];
    }

    /// <summary>A Guid key the store generates.</summary>
    public sealed class Note
    {
        [VectorStoreKey]
        public Guid Id { get; set; }

        [VectorStoreData]
        public string Text { get; set; } = "";

        [VectorStoreVector(2)]
        public ReadOnlyMemory<float> Embedding { get; set; }
    }

    /// <summary>A distance function the cluster does not compute.</summary>
    public sealed class ManhattanRecord
    {
        [VectorStoreKey]
        public string Id { get; set; } = "";

        [VectorStoreVector(4, DistanceFunction = DistanceFunction.ManhattanDistance)]
        public ReadOnlyMemory<float> Embedding { get; set; }
    }
}
