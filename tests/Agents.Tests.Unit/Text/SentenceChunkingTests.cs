using Agents.Engine.Text;
using Agents.Inputs;
using Xunit;

namespace Agents.Tests.Text;

public sealed class SentenceChunkingTests
{
    private static readonly TextSettings s_small = new() { ChunkTokens = 40, ChunkOverlap = 12 };

    [Fact]
    public void ChunksAreWholeSentencesWhenEverySentenceFits()
    {
        var text = DocumentSource.Generate(7, 6000);
        var pipeline = TextTestData.With(s_small);
        var normalized = TextNormalizer.Normalize(text);
        var sentences = SentenceSplitter.Split(normalized);
        Assert.All(sentences, s => Assert.True(pipeline.Tokenizer.EncodeIds(normalized.Substring(s.Start, s.Length)).Length <= 40));

        var chunks = pipeline.Process(text).Chunks;

        Assert.True(chunks.Count > 10);
        var starts = sentences.Select(s => s.Start).ToHashSet();
        var ends = sentences.Select(s => s.Start + s.Length).ToHashSet();
        Assert.All(chunks, c =>
        {
            Assert.Contains(c.CharStart, starts);
            Assert.Contains(c.CharStart + c.CharLength, ends);
            Assert.InRange(c.TokenCount, 1, 40);
        });
    }

    [Fact]
    public void OverlapIsTheWholeTrailingSentencesThatFit()
    {
        var text = DocumentSource.Generate(11, 6000);
        var pipeline = TextTestData.With(s_small);
        var normalized = TextNormalizer.Normalize(text);
        var sentences = SentenceSplitter.Split(normalized);

        var chunks = pipeline.Process(text).Chunks;

        for (var i = 1; i < chunks.Count; i++)
        {
            var previous = chunks[i - 1];
            var shared = previous.TokenStart + previous.TokenCount - chunks[i].TokenStart;
            Assert.InRange(shared, 0, 12);

            // The sentences of the previous chunk that the next one does not repeat: adding the last of them to the
            // overlap would break the overlap limit or leave no room for the next sentence.
            var repeated = sentences.Where(s => s.Start >= chunks[i].CharStart && s.Start + s.Length <= previous.CharStart + previous.CharLength).ToList();
            var notRepeated = sentences.LastOrDefault(s => s.Start >= previous.CharStart && s.Start < chunks[i].CharStart);
            Assert.Equal(shared, repeated.Sum(s => pipeline.Tokenizer.EncodeIds(normalized.Substring(s.Start, s.Length)).Length));
            var wouldBe = shared + pipeline.Tokenizer.EncodeIds(normalized.Substring(notRepeated.Start, notRepeated.Length)).Length;
            var nextSentence = sentences.First(s => s.Start >= previous.CharStart + previous.CharLength);
            Assert.True(
                wouldBe > 12 || wouldBe + pipeline.Tokenizer.EncodeIds(normalized.Substring(nextSentence.Start, nextSentence.Length)).Length > 40
                || notRepeated.Start == previous.CharStart,
                $"chunk {i} could have repeated one more sentence");
        }
    }

    [Fact]
    public void ASentenceLongerThanAChunkIsSplitBetweenWords()
    {
        // One sentence of 300 words, many of them several WordPiece tokens long.
        var words = Enumerable.Range(0, 300).Select(i => i % 5 == 0 ? "unaffable" : i % 7 == 0 ? "tokenization" : "grain");
        var text = "Intro. " + string.Join(' ', words) + " end. Outro sentence here.";
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 16, ChunkOverlap = 4 });

        var document = pipeline.Process(text);

        Assert.True(document.Chunks.Count > 20);
        AssertOnWordsAndCovering(TextNormalizer.Normalize(text), document.Chunks, 16);
        for (var i = 1; i < document.Chunks.Count; i++)
        {
            var previous = document.Chunks[i - 1];
            Assert.InRange(previous.TokenStart + previous.TokenCount - document.Chunks[i].TokenStart, 0, 4);
        }
    }

    [Fact]
    public void ChunksOfRealProseStartAndEndOnWordsAndCoverTheText()
    {
        const string text = """
            GNU GENERAL PUBLIC LICENSE
            Version 3, 29 June 2007

            Everyone is permitted to copy and distribute verbatim copies of this license document, but changing it is not allowed.
            The licenses for most software and other practical works are designed to take away your freedom to share and change the works.  By contrast,
            the GNU General Public License is intended to guarantee your freedom to share and change all versions of a program--to make sure it remains free software for all its users.
            - item one: see https://www.gnu.org/licenses/why-not-lgpl.html
            - item two (e.g. this one) has a very-long-hyphenated-compound-word-that-goes-on-and-on-and-on-and-on-and-on-and-on
            """;
        // The longest whitespace-free run (the compound word) is about 35 tokens, so every size here fits it.
        foreach (var (size, overlap) in new[] { (40, 0), (48, 12), (64, 16), (100, 30) })
        {
            var chunks = TextTestData.With(new TextSettings { ChunkTokens = size, ChunkOverlap = overlap }).Process(text).Chunks;
            AssertOnWordsAndCovering(TextNormalizer.Normalize(text), chunks, size);
        }
    }

    [Fact]
    public void AWordLongerThanAChunkIsCutAtTheChunkSize()
    {
        // "a-a-a-..." is one whitespace-free run of 399 tokens: the only place a chunk may end inside a word.
        var text = string.Join('-', Enumerable.Repeat("a", 200)) + " and then some words.";
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 50, ChunkOverlap = 5 });

        var document = pipeline.Process(text);

        Assert.All(document.Chunks, c => Assert.InRange(c.TokenCount, 1, 50));
        Assert.Equal(document.Statistics.Tokens, document.Chunks[^1].TokenStart + document.Chunks[^1].TokenCount);
        Assert.EndsWith("words.", document.Chunks[^1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void TextWithoutSentencesIsStillChunked()
    {
        var text = string.Join(' ', Enumerable.Repeat("-- == ++", 60));
        var document = TextTestData.With(new TextSettings { ChunkTokens = 20, ChunkOverlap = 4 }).Process(text);

        Assert.Equal(0, document.Statistics.Sentences);
        AssertOnWordsAndCovering(TextNormalizer.Normalize(text), document.Chunks, 20);
    }

    // Every chunk starts after whitespace (or at the start) and ends before whitespace (or at the end), is the text
    // of its range, and the ranges cover every non-whitespace character in order.
    private static void AssertOnWordsAndCovering(string normalized, IReadOnlyList<TextChunk> chunks, int size)
    {
        var covered = 0;
        foreach (var chunk in chunks)
        {
            var end = chunk.CharStart + chunk.CharLength;
            Assert.Equal(normalized[chunk.CharStart..end], chunk.Text);
            Assert.InRange(chunk.TokenCount, 1, size);
            Assert.True(chunk.CharStart == 0 || char.IsWhiteSpace(normalized[chunk.CharStart - 1]), $"chunk {chunk.Index} starts inside a word: '{chunk.Text}'");
            Assert.True(end == normalized.Length || char.IsWhiteSpace(normalized[end]), $"chunk {chunk.Index} ends inside a word: '{chunk.Text}'");
            Assert.True(chunk.CharStart <= covered || normalized[covered..chunk.CharStart].All(char.IsWhiteSpace), $"text before chunk {chunk.Index} is in no chunk");
            Assert.True(end > covered, $"chunk {chunk.Index} adds nothing");
            covered = end;
        }

        Assert.Equal(normalized.Length, covered);
    }
}
