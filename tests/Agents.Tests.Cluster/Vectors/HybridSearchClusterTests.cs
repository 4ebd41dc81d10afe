using System.Text.Json;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Vectors;

/// <summary>Keyword and hybrid search on a real 3-silo cluster, through the stateless search grain a gateway client uses.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class HybridSearchClusterTests(ThreeSiloCluster fixture)
{
    private const int Dimension = 16;

    private static readonly string[] Words =
    [
        "silo", "grain", "cluster", "shard", "vector", "keyword", "byte", "nibble", "index", "query", "payload", "filter",
        "gateway", "membership", "snapshot", "graph", "posting", "stemmer", "fusion", "latency",
    ];

    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    private static List<PointInput> Documents(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(i =>
        {
            var text = string.Join(' ', Enumerable.Range(0, 3 + random.Next(8)).Select(_ => Words[random.Next(Words.Length)]));
            var payload = JsonSerializer.Serialize(new { text, lang = i % 3 == 0 ? "de" : "en", i });
            return new PointInput($"doc{i}", RandomVector(random), payload);
        }).ToList();
    }

    private static float[] RandomVector(Random random) =>
        Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    private async Task<string> CreateAsync(string prefix, int shards, List<PointInput> points)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..24];
        await Client.CreateCollectionAsync(new CollectionSpec(name, Dimension, Shards: shards, TextFields: ["text"]));
        Assert.Equal(points.Count, await Client.UpsertAsync(name, points));
        return name;
    }

    [Fact]
    public async Task KeywordScoresAcrossShardsAreThoseOfOneShard()
    {
        var points = Documents(300, 1);
        var one = await CreateAsync("kw1", 1, points);
        var three = await CreateAsync("kw3", 3, points);
        foreach (var query in new[] { "nibble", "byte nibbles", "stemmer fusion latency", "grains in a silo", "snapshot of the graph" })
        {
            var expected = await Client.HybridSearchAsync(one, null, query, 20, SearchMode.Keyword);
            var actual = await Client.HybridSearchAsync(three, null, query, 20, SearchMode.Keyword);
            Assert.NotEmpty(expected);
            Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
            Assert.Equal(expected.Select(h => h.Score), actual.Select(h => h.Score), (a, b) => Math.Abs(a - b) < 1e-5);
        }

        await Client.DropCollectionAsync(one);
        await Client.DropCollectionAsync(three);
    }

    [Theory]
    [InlineData(SearchMode.Dense)]
    [InlineData(SearchMode.Keyword)]
    [InlineData(SearchMode.Hybrid)]
    public async Task AFilterHoldsInEveryMode(SearchMode mode)
    {
        var points = Documents(240, 2);
        var name = await CreateAsync($"flt{(int)mode}", 3, points);
        var filter = new PayloadFilter([new FilterCondition("lang", FilterOperator.In, ["de"])]);
        var random = new Random(5);
        foreach (var query in new[] { "byte", "cluster gateway", "fusion" })
        {
            var hits = await Client.HybridSearchAsync(name, RandomVector(random), query, 10, mode, filter);
            Assert.NotEmpty(hits);
            Assert.All(hits, h => Assert.Equal("de", JsonDocument.Parse(h.Payload).RootElement.GetProperty("lang").GetString()));
            if (mode == SearchMode.Keyword)
            {
                Assert.All(hits.Take(1), h => Assert.Contains(query.Split(' ')[0], JsonDocument.Parse(h.Payload).RootElement.GetProperty("text").GetString()));
            }
        }

        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public async Task HybridFindsBothTheNearestVectorAndTheMatchingWord()
    {
        var points = Documents(200, 3);
        var random = new Random(8);
        var query = RandomVector(random);
        points.Add(new PointInput("near", query, """{"text":"silo grain cluster"}"""));
        // Opposite the query: last in dense order, far outside its candidates.
        points.Add(new PointInput("word", query.Select(x => -x).ToArray(), """{"text":"a zygote and a silo"}"""));
        var name = await CreateAsync("hyb", 3, points);

        var dense = await Client.HybridSearchAsync(name, query, null, 5, SearchMode.Dense);
        var keyword = await Client.HybridSearchAsync(name, null, "zygote", 5, SearchMode.Keyword);
        var hybrid = await Client.HybridSearchAsync(name, query, "zygote", 5);
        Assert.Equal("near", dense[0].Id);
        Assert.DoesNotContain("word", dense.Select(h => h.Id));
        Assert.Equal(["word"], keyword.Select(h => h.Id));
        Assert.Equal("near", hybrid[0].Id);

        // A hybrid hit's score is its fused score: first of the dense list and absent from the keyword one is alpha.
        Assert.Equal(HybridSearch.DefaultAlpha, hybrid[0].Score, 5);

        // The weight moves the order: keyword only puts the word's point first, however far its vector.
        var byWords = await Client.HybridSearchAsync(name, query, "zygote", 5, alpha: 0);
        Assert.Equal("word", byWords[0].Id);
        Assert.NotEmpty(hybrid[0].Payload);
        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public async Task KeywordModesNeedTextAndACollectionWithTextFields()
    {
        var name = $"notext-{Guid.NewGuid():N}"[..24];
        await Client.CreateCollectionAsync(new CollectionSpec(name, Dimension, Shards: 2));
        await Client.UpsertAsync(name, Documents(20, 4));
        var vector = RandomVector(new Random(1));

        var noIndex = await Assert.ThrowsAsync<ArgumentException>(() => Client.HybridSearchAsync(name, vector, "byte", 5));
        Assert.Contains("indexes no text fields", noIndex.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.HybridSearchAsync(name, null, null, 5, SearchMode.Dense));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.HybridSearchAsync(name, vector, "  ", 5, SearchMode.Keyword));
        Assert.Equal(5, (await Client.HybridSearchAsync(name, vector, null, 5, SearchMode.Dense)).Length);

        // The shards refuse too, for a caller that skips the client's checks.
        var shard = fixture.Client.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(name, 0));
        await Assert.ThrowsAsync<ArgumentException>(() => shard.KeywordSearchAsync(new KeywordSearchRequest("byte", 5)).AsTask());
        await Client.DropCollectionAsync(name);
    }
}
