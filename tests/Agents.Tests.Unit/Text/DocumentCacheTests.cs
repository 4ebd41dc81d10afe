using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class DocumentCacheTests
{
    private static ProcessedDocument Document(string hash, int chunkChars) => new(
        hash,
        new DocumentStatistics(chunkChars, 1, 1, 1, 1, 1, chunkChars, 1),
        [new TextChunk(0, 0, 1, 0, chunkChars, new string('x', chunkChars))],
        [new Keyword("x", 1)]);

    [Fact]
    public void SizeEstimateCountsChunkTextAndOverhead()
    {
        var small = DocumentCache.EstimateSize(Document("a", 100));
        var large = DocumentCache.EstimateSize(Document("a", 1100));

        Assert.Equal(2000, large - small);
        Assert.True(small > 200, "fixed overhead must be charged");
    }

    [Fact]
    public void HitsAndMissesAreCounted()
    {
        var cache = new DocumentCache(1 << 20);
        var document = Document("h1", 10);

        Assert.False(cache.TryGet("h1", out _));
        cache.Add("h1", document);
        Assert.True(cache.TryGet("h1", out var found));
        Assert.Same(document, found);
        Assert.True(cache.TryGet("h1", out _));

        Assert.Equal(2, cache.Hits);
        Assert.Equal(1, cache.Misses);
        Assert.Equal(1, cache.Count);
        Assert.Equal(DocumentCache.EstimateSize(document), cache.SizeBytes);
    }

    [Fact]
    public void LeastRecentlyUsedIsEvictedWhenTheBudgetIsExceeded()
    {
        var a = Document("a", 1000);
        var b = Document("b", 1000);
        var c = Document("c", 1000);
        var one = DocumentCache.EstimateSize(a);
        var cache = new DocumentCache((2 * one) + (one / 2));

        cache.Add("a", a);
        cache.Add("b", b);
        Assert.True(cache.TryGet("a", out _)); // a is now more recent than b
        cache.Add("c", c);

        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("c", out _));
        Assert.Equal(2 * one, cache.SizeBytes);
        Assert.True(cache.SizeBytes <= cache.CapacityBytes);
    }

    [Fact]
    public void ReplacingAnEntryDoesNotCountItTwice()
    {
        var cache = new DocumentCache(1 << 20);
        cache.Add("a", Document("a", 100));
        cache.Add("a", Document("a", 300));

        Assert.Equal(1, cache.Count);
        Assert.Equal(DocumentCache.EstimateSize(Document("a", 300)), cache.SizeBytes);
    }

    [Fact]
    public void DocumentLargerThanTheBudgetIsNotKept()
    {
        var cache = new DocumentCache(DocumentCache.EstimateSize(Document("s", 10)));
        cache.Add("s", Document("s", 10));
        cache.Add("big", Document("big", 5000));

        Assert.True(cache.TryGet("s", out _));
        Assert.False(cache.TryGet("big", out _));
    }

    [Fact]
    public void ZeroCapacityDisablesCaching()
    {
        var cache = new DocumentCache(0);
        cache.Add("a", Document("a", 1));

        Assert.False(cache.TryGet("a", out var document));
        Assert.Null(document);
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.SizeBytes);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void ConcurrentUseStaysWithinBudget()
    {
        var one = DocumentCache.EstimateSize(Document("00", 100));
        var cache = new DocumentCache(10 * one);

        Parallel.For(0, 2000, i =>
        {
            var key = (i % 37).ToString("D2", System.Globalization.CultureInfo.InvariantCulture);
            if (!cache.TryGet(key, out _))
            {
                cache.Add(key, Document(key, 100));
            }
        });

        Assert.Equal(10, cache.Count);
        Assert.Equal(10 * one, cache.SizeBytes);
        Assert.Equal(2000, cache.Hits + cache.Misses);
    }
}
