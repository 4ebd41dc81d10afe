using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class ChunkingTests
{
    // Four single-token pieces per sentence ("the", "cat", "sat", "."), so 26 sentences are exactly 104 tokens.
    private static readonly string s_catDocument = string.Join(' ', Enumerable.Repeat("The cat sat.", 26));

    [Fact]
    public void WindowsStartEveryStrideTokensAndTheLastIsShorter()
    {
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 16, ChunkOverlap = 4 });

        var document = pipeline.Process(s_catDocument);

        Assert.Equal(104, document.Statistics.Tokens);
        Assert.Equal(new[] { 0, 12, 24, 36, 48, 60, 72, 84, 96 }, document.Chunks.Select(c => c.TokenStart));
        Assert.Equal(new[] { 16, 16, 16, 16, 16, 16, 16, 16, 8 }, document.Chunks.Select(c => c.TokenCount));
        Assert.Equal(Enumerable.Range(0, 9), document.Chunks.Select(c => c.Index));
        Assert.Equal(9, document.Statistics.Chunks);
    }

    [Fact]
    public void ConsecutiveChunksShareExactlyTheOverlapTokens()
    {
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 16, ChunkOverlap = 4 });
        var document = pipeline.Process(s_catDocument);
        var ids = pipeline.Tokenizer.EncodeIds(s_catDocument);

        for (var i = 0; i < document.Chunks.Count; i++)
        {
            var chunk = document.Chunks[i];
            var chunkIds = pipeline.Tokenizer.EncodeIds(chunk.Text);

            // Re-tokenising a chunk's text gives back exactly the document's tokens of that window.
            Assert.Equal(ids.AsSpan(chunk.TokenStart, chunk.TokenCount).ToArray(), chunkIds);
            if (i > 0)
            {
                var previous = pipeline.Tokenizer.EncodeIds(document.Chunks[i - 1].Text);
                Assert.Equal(previous[^4..], chunkIds[..4]);
            }
        }
    }

    [Fact]
    public void CharacterSpansCoverTheWordsOfTheirTokens()
    {
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 10, ChunkOverlap = 3 });
        const string text = "Tokenization of unaffable résumés, e.g. 3.14 percent, is tricky; embeddings need chunk boundaries that map back to text.";

        var document = pipeline.Process(text);
        var normalized = TextNormalizer.Normalize(text);
        var tokens = pipeline.Tokenizer.Tokenize(normalized);

        Assert.True(document.Chunks.Count > 2);
        foreach (var chunk in document.Chunks)
        {
            Assert.Equal(normalized.Substring(chunk.CharStart, chunk.CharLength), chunk.Text);
            var first = tokens[chunk.TokenStart];
            var last = tokens[chunk.TokenStart + chunk.TokenCount - 1];
            Assert.Equal(first.CharStart, chunk.CharStart);
            Assert.Equal(last.CharStart + last.CharLength, chunk.CharStart + chunk.CharLength);
        }

        // The first window starts at the first word and the last one ends at the last char of the text.
        Assert.StartsWith("Tokenization of unaffable", document.Chunks[0].Text);
        Assert.EndsWith("text.", document.Chunks[^1].Text);
    }

    [Fact]
    public void ShortDocumentIsExactlyOneChunkOfTheWholeText()
    {
        var document = TextTestData.Pipeline.Process("  Just a short note.\r\n");

        var chunk = Assert.Single(document.Chunks);
        Assert.Equal(new TextChunk(0, 0, 5, 0, 18, "Just a short note."), chunk);
    }

    [Fact]
    public void DocumentOfExactlyOneWindowIsOneChunk()
    {
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 104, ChunkOverlap = 10 });

        Assert.Single(pipeline.Process(s_catDocument).Chunks);
        Assert.Equal(2, TextTestData.With(new TextSettings { ChunkTokens = 103, ChunkOverlap = 10 }).Process(s_catDocument).Chunks.Count);
    }

    [Fact]
    public void ZeroOverlapTilesTheTokensInWholeSentences()
    {
        var pipeline = TextTestData.With(new TextSettings { ChunkTokens = 50, ChunkOverlap = 0 });

        var chunks = pipeline.Process(s_catDocument).Chunks;

        // Twelve whole four-token sentences fit in 50 tokens.
        Assert.Equal(new[] { 0, 48, 96 }, chunks.Select(c => c.TokenStart));
        Assert.Equal(104, chunks.Sum(c => c.TokenCount));
        Assert.All(chunks, c => Assert.True(c.TokenCount > 0 && c.Text.Length > 0));
    }
}
