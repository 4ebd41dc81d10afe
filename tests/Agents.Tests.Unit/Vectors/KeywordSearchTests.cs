using System.Text;
using Agents.Engine.Vectors.Keyword;

namespace Agents.Tests.Vectors;

/// <summary>The English analyzer, BM25 scores worked out by hand, statistics merged across shards, and relative score fusion.</summary>
public sealed class KeywordSearchTests
{
    private static readonly string[] TextField = ["text"];

    [Theory]
    [InlineData("The Quick-Brown FOXES jumped", "quick brown foxe jumped")]
    [InlineData("half of a byte, that is four bits", "half byte four bit")]
    [InlineData("Four bits; one hex digit; a half-byte", "four bit one hex digit half byte")]
    [InlineData("the cluster's queries don't use classes", "cluster query dont use classe")]
    [InlineData("Café ﬁle ＡＢＣ naïve", "cafe file abc naive")]
    [InlineData("utf8 x86_64 2024-01-02", "utf8 x86 64 2024 01 02")]
    [InlineData("status bus glass", "status bus glass")]
    [InlineData("...;;; !!", "")]
    public void TheAnalyzerFoldsSplitsDropsStopWordsAndStemsPlurals(string text, string terms) =>
        Assert.Equal(terms, string.Join(' ', EnglishAnalyzer.Terms(text)));

    [Theory]
    [InlineData("queries", "query")]
    [InlineData("bytes", "byte")]
    [InlineData("series", "sery")]
    [InlineData("shoes", "shoes")]
    [InlineData("tables", "table")]
    [InlineData("goes", "goes")]
    [InlineData("as", "as")]
    public void TheStemmerIsLucenesMinimalEnglishStemmer(string word, string stem)
    {
        var chars = word.ToCharArray();
        Assert.Equal(stem, new string(chars, 0, EnglishAnalyzer.Stem(chars)));
    }

    [Fact]
    public void TooLongARunIsNotATerm() =>
        Assert.Equal(["short"], EnglishAnalyzer.Terms($"{new string('x', EnglishAnalyzer.MaxTermLength + 1)} short"));

    // Four documents after analysis (stop words gone, plurals stemmed):
    //   d1 "byte byte bit" (3 terms), d2 "half byte" (2), d3 "four bit nibble" (3), d4 "hex digit" (2).
    // N = 4, total length 10, average length 2.5; k1 = 1.2, b = 0.75.
    //   idf(df 2) = ln(1 + (4 - 2 + 0.5) / (2 + 0.5)) = ln 2 = 0.693147; idf(df 1) = ln(1 + 3.5 / 1.5) = 1.203973.
    //   length norm: 3 terms → 1.2 × (0.25 + 0.75 × 3 / 2.5) = 1.38; 2 terms → 1.2 × (0.25 + 0.75 × 2 / 2.5) = 1.02.
    // "bytes": d1 = 0.693147 × 2 / (2 + 1.38) = 0.410146; d2 = 0.693147 × 1 / (1 + 1.02) = 0.343142.
    // "nibble bits": d3 = 1.203973 × 1 / 2.38 + 0.693147 × 1 / 2.38 = 0.505871 + 0.291238 = 0.797109; d1 = 0.291238.
    private static readonly (string Id, string Text)[] Tiny =
    [
        ("d1", "Byte, byte and bit."), ("d2", "Half a byte"), ("d3", "four bits: a nibble"), ("d4", "hex digit"),
    ];

    [Fact]
    public void Bm25ScoresMatchTheHandComputedValues()
    {
        using var shard = TextShard(Tiny);
        Assert.Equal(4, shard.Keywords!.Documents);
        Assert.Equal(10, shard.Keywords.TotalLength);

        var bytes = shard.KeywordSearch("bytes", 10);
        Assert.Equal(["d1", "d2"], bytes.Select(h => h.Id));
        Assert.Equal(0.410146, bytes[0].Score, 5);
        Assert.Equal(0.343142, bytes[1].Score, 5);

        var nibble = shard.KeywordSearch("nibble bits", 10);
        Assert.Equal(["d3", "d1"], nibble.Select(h => h.Id));
        Assert.Equal(0.797109, nibble[0].Score, 5);
        Assert.Equal(0.291238, nibble[1].Score, 5);

        // A repeated query word counts once; a word no document holds scores nothing.
        Assert.Equal(bytes[0].Score, shard.KeywordSearch("byte bytes byte", 10)[0].Score);
        Assert.Empty(shard.KeywordSearch("kilobyte", 10));
        Assert.Empty(shard.KeywordSearch("the and of", 10));
    }

    [Fact]
    public void SummedStatisticsScoreEveryShardAsOneIndex()
    {
        using var whole = TextShard(Tiny);
        using var left = TextShard(Tiny[..2]);
        using var right = TextShard(Tiny[2..]);
        const string query = "nibble bits byte";
        var summed = KeywordStats.Sum([Stats(left.KeywordStatistics(query)), Stats(right.KeywordStatistics(query))]);
        Assert.Equal(4, summed.Documents);
        Assert.Equal(10, summed.TotalLength);
        Assert.Equal(["nibble", "bit", "byte"], summed.Terms);
        Assert.Equal([1L, 2, 2], summed.DocumentFrequencies);

        var corpus = new Bm25Statistics(summed.Documents, summed.TotalLength, summed.Terms, summed.DocumentFrequencies);
        var merged = left.KeywordSearch(query, 10, corpus: corpus).Concat(right.KeywordSearch(query, 10, corpus: corpus))
            .OrderByDescending(h => h.Score).ToList();
        var expected = whole.KeywordSearch(query, 10);
        Assert.Equal(expected.Select(h => h.Id), merged.Select(h => h.Id));
        Assert.Equal(expected.Select(h => h.Score), merged.Select(h => h.Score));

        // Scored with only its own statistics, a shard disagrees: that is what the first phase is for.
        Assert.NotEqual(expected.Single(h => h.Id == "d1").Score, left.KeywordSearch(query, 10).Single(h => h.Id == "d1").Score);
    }

    [Fact]
    public void AnOverwriteReplacesTheTextAndADeleteRemovesIt()
    {
        using var shard = TextShard([("a", "red apples"), ("b", "green pears")]);
        Assert.Equal(["a"], shard.KeywordSearch("apple", 5).Select(h => h.Id));

        shard.Upsert(TextPoint("a", "yellow bananas"));
        Assert.Empty(shard.KeywordSearch("apple", 5));
        Assert.Equal(["a"], shard.KeywordSearch("banana", 5).Select(h => h.Id));
        Assert.Equal(2, shard.Keywords!.Documents);
        Assert.Equal(4, shard.Keywords.TotalLength);
        Assert.Equal([0L, 1], shard.KeywordStatistics("apple banana").DocumentFrequencies);

        Assert.True(shard.Delete("a"));
        Assert.Empty(shard.KeywordSearch("banana", 5));
        Assert.Equal(1, shard.Keywords.Documents);
        Assert.Equal([0L], shard.KeywordStatistics("banana").DocumentFrequencies);
        Assert.Equal(["b"], shard.KeywordSearch("pears", 5).Select(h => h.Id));
    }

    [Fact]
    public void TheIndexIsRebuiltFromTheStoredPayloadsOnRestore()
    {
        using var before = TextShard(Tiny);
        using var after = new LocalShard(4, DistanceMetric.Cosine, new HnswParameters(8, 32, 16), textFields: TextField);
        after.Restore(Tiny.Select(d => TextPoint(d.Id, d.Text)), snapshot: null);

        var a = before.KeywordSearch("nibble bits byte", 10);
        var b = after.KeywordSearch("nibble bits byte", 10);
        Assert.Equal(a.Select(h => (h.Id, h.Score)), b.Select(h => (h.Id, h.Score)));
    }

    [Fact]
    public void AFilterAppliesToKeywordSearchAndFieldsOutsideTheTextFieldsAreNotSearched()
    {
        using var shard = new LocalShard(4, DistanceMetric.Cosine, graph: null, textFields: ["title", "text"]);
        shard.Upsert(Point("en", """{"title":"Guide","text":"byte order","lang":"en"}"""));
        shard.Upsert(Point("de", """{"title":"Leitfaden","text":"byte Reihenfolge","lang":"de"}"""));
        shard.Upsert(Point("tags", """{"text":["byte","nibble"],"lang":"de","note":"guide"}"""));

        Assert.Equal(3, shard.KeywordSearch("byte", 10).Length);
        var german = shard.KeywordSearch("byte", 10, f => f.HasAny("lang", ["de"]));
        Assert.Equal(["de", "tags"], german.Select(h => h.Id).Order());
        Assert.Equal(["en"], shard.KeywordSearch("guide", 10).Select(h => h.Id));
        Assert.Equal(["tags"], shard.KeywordSearch("nibbles", 10).Select(h => h.Id));
    }

    [Fact]
    public void RelativeScoreFusionWeighsEachListsScaledScores()
    {
        // dense a 0.9, b 0.8, c 0.7 scale to 1, 0.5, 0; keyword b 7.5, d 3.1 to 1, 0. With alpha 0.7:
        //   a = 0.7 × 1 = 0.70; b = 0.7 × 0.5 + 0.3 × 1 = 0.65; c = 0; d = 0 (the tie goes by id).
        var dense = new ShardHits(["a", "b", "c"], [0.9f, 0.8f, 0.7f], null);
        var keyword = new ShardHits(["b", "d"], [7.5f, 3.1f], null);

        var fused = HybridSearch.Fuse(dense, keyword, 10, alpha: 0.7);
        Assert.Equal(["a", "b", "c", "d"], fused.Ids);
        Assert.Equal([0.70, 0.65, 0, 0], fused.Scores.Select(s => Math.Round(s, 5)));
        Assert.Equal(["a", "b"], HybridSearch.Fuse(dense, keyword, 2).Ids);

        // Equal weights: b = 0.5 × 0.5 + 0.5 × 1 = 0.75 passes a = 0.5. Alpha 1 is the dense order, 0 the keyword one.
        Assert.Equal(["b", "a", "c", "d"], HybridSearch.Fuse(dense, keyword, 10, alpha: 0.5).Ids);
        Assert.Equal(["a", "b", "c"], HybridSearch.Fuse(dense, keyword, 3, alpha: 1).Ids);
        Assert.Equal(["b"], HybridSearch.Fuse(dense, keyword, 1, alpha: 0).Ids);

        // Distances (L2) scale the other way round: the nearest is 1.
        var distances = new ShardHits(["a", "b", "c"], [0.1f, 0.2f, 0.3f], null);
        Assert.Equal(fused.Scores.Select(s => Math.Round(s, 5)), HybridSearch.Fuse(distances, keyword, 10, alpha: 0.7, denseDescending: false).Scores.Select(s => Math.Round(s, 5)));

        // A list of equal scores (or of one hit) scales to 1; an empty list leaves the other's order.
        Assert.Equal(["a", "x"], HybridSearch.Fuse(new ShardHits(["x", "a"], [1, 1], null), new ShardHits(["a", "x"], [1, 1], null), 5).Ids);
        Assert.Equal(0.3f, HybridSearch.Fuse(ShardHits.None, new ShardHits(["d"], [3.1f], null), 5).Scores[0], 5);
        Assert.Equal(["b", "d"], HybridSearch.Fuse(ShardHits.None, keyword, 5).Ids);
        Assert.Throws<ArgumentOutOfRangeException>(() => HybridSearch.Fuse(dense, keyword, 5, alpha: 1.5));
    }

    [Fact]
    public void AQueryNeedsWhatItsModeNeedsAndACollectionWithTextFields()
    {
        var withText = new CollectionSpec("c", 4, Shards: 1, TextFields: ["text"]);
        var withoutText = new CollectionSpec("c", 4, Shards: 1);
        byte[] vector = new byte[16];
        Assert.Contains("query text", Assert.Throws<ArgumentException>(() => HybridSearch.Validate(withText, new HybridSearchRequest(SearchMode.Keyword, null, " ", 5))).Message);
        Assert.Contains("query vector", Assert.Throws<ArgumentException>(() => HybridSearch.Validate(withText, new HybridSearchRequest(SearchMode.Hybrid, null, "x", 5))).Message);
        Assert.Contains("indexes no text fields", Assert.Throws<ArgumentException>(() => HybridSearch.Validate(withoutText, new HybridSearchRequest(SearchMode.Hybrid, vector, "x", 5))).Message);
        HybridSearch.Validate(withoutText, new HybridSearchRequest(SearchMode.Dense, vector, null, 5));
        HybridSearch.Validate(withText, new HybridSearchRequest(SearchMode.Keyword, null, "x", 5));
    }

    [Fact]
    public void TextFieldsArePartOfTheSchema()
    {
        Assert.Equal(new CollectionSpec("c", 4, TextFields: ["title", "text"]), new CollectionSpec("c", 4, TextFields: ["title", "text"]));
        Assert.Equal(new CollectionSpec("c", 4, TextFields: []), new CollectionSpec("c", 4));
        Assert.NotEqual(new CollectionSpec("c", 4, TextFields: ["text"]), new CollectionSpec("c", 4));
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => ShardRouter.Validate(new CollectionSpec("c", 4, TextFields: ["a", "a"]))).Message);
        Assert.Contains("Text field", Assert.Throws<ArgumentException>(() => ShardRouter.Validate(new CollectionSpec("c", 4, TextFields: [" "]))).Message);
    }

    [Fact]
    public async Task TextFieldsSurviveTheFileCatalogueAndOldRecordsHaveNone()
    {
        using var dir = new StorageTempDirectory();
        var catalog = new FileCollectionCatalog(dir.Path);
        Assert.True(await catalog.TryCreateAsync(new CollectionRecord("notes", 4, "cosine", 2, "hnsw", 16, 200, 64, false, DateTimeOffset.UtcNow, ["title", "text"])));
        Assert.Equal(["title", "text"], (await catalog.GetAsync("notes"))!.TextFields!);

        // A record written before collections had text fields reads as having none.
        Directory.CreateDirectory(Path.Combine(dir.Path, "old"));
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "old", "collection.json"),
            """{"name":"old","dimension":4,"metric":"cosine","shards":1,"index":"flat","m":16,"efConstruction":200,"ef":64,"quantize":false,"createdAt":"2026-01-01T00:00:00+00:00"}""");
        Assert.Null((await catalog.GetAsync("old"))!.TextFields);
    }

    private static KeywordStats Stats(Bm25Statistics s) => new(s.Documents, s.TotalLength, s.Terms, s.DocumentFrequencies);

    private static LocalShard TextShard(IEnumerable<(string Id, string Text)> documents)
    {
        var shard = new LocalShard(4, DistanceMetric.Cosine, graph: null, textFields: TextField);
        foreach (var (id, text) in documents)
        {
            shard.Upsert(TextPoint(id, text));
        }

        return shard;
    }

    private static StoredPoint TextPoint(string id, string text) =>
        Point(id, System.Text.Json.JsonSerializer.Serialize(new { text }));

    private static StoredPoint Point(string id, string json)
    {
        var vector = new float[] { id.Length, id[0] % 7 + 1, 1, 2 };
        DistanceKernels.Normalize(vector);
        return new StoredPoint(id, vector, Encoding.UTF8.GetBytes(json));
    }
}
