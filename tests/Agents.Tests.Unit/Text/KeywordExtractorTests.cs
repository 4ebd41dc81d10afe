using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class KeywordExtractorTests
{
    private const string VectorText =
        "Vector databases are central to retrieval. Vector databases can index embeddings for similarity search. " +
        "With vector databases, similarity search is fast. Similarity search over embeddings is what vector databases do best.";

    [Fact]
    public void KnownParagraphRanksItsTopicFirst()
    {
        var keywords = TextTestData.Pipeline.Process(VectorText).Keywords;

        // RAKE: vector/databases score 2 each (always in 2-word phrases), 4 occurrences -> 4 * (1 + ln 4);
        // similarity search 3 occurrences -> 4 * (1 + ln 3); "index embeddings" 2 + 1.5 once; ties at 1 sort by term.
        Assert.Equal(
            new[] { "vector databases", "similarity search", "index embeddings", "embeddings", "best", "central", "fast", "retrieval" },
            keywords.Select(k => k.Term));
        Assert.Equal(4 * (1 + Math.Log(4)), keywords[0].Score, 5);
        Assert.Equal(4 * (1 + Math.Log(3)), keywords[1].Score, 5);
        Assert.Equal(3.5, keywords[2].Score, 5);
    }

    [Fact]
    public void MaxKeywordsLimitsAndZeroDisables()
    {
        Assert.Equal(new[] { "vector databases", "similarity search" }, TextTestData.With(new TextSettings { MaxKeywords = 2 }).Process(VectorText).Keywords.Select(k => k.Term));
        Assert.Empty(TextTestData.With(new TextSettings { MaxKeywords = 0 }).Process(VectorText).Keywords);
    }

    [Fact]
    public void KeywordsAreLowerCaseAndSkipStopwordsAndNumbers()
    {
        var keywords = KeywordExtractor.Extract("The QUICK Brown Fox and the 42 lazy dogs. It is what it is.", 10);

        Assert.Equal(new[] { "quick brown fox", "lazy dogs" }, keywords.Select(k => k.Term));
        Assert.All(keywords, k => Assert.Equal(k.Term.ToLowerInvariant(), k.Term));
    }

    [Fact]
    public void TiesAreOrderedByTerm()
    {
        var keywords = KeywordExtractor.Extract("zebra; apple; mango; apple pie", 10);

        // zebra, mango score 1; apple scores (1 + 2) / 2 = 1.5 alone and 3.5 in "apple pie".
        Assert.Equal(new[] { "apple pie", "apple", "mango", "zebra" }, keywords.Select(k => k.Term));
    }
}
