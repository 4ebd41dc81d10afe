using System.Text.Json;
using Agents.Engine.Text;
using Agents.Grains.Embeddings;
using Agents.Tests.Text;
using Xunit;

namespace Agents.Tests.Embeddings;

public sealed class IngestPayloadTests
{
    [Fact]
    public void EachChunkCarriesItsDocumentsTitleBesideTheChunkText()
    {
        var document = TextTestData.With(new TextSettings { ChunkTokens = 16, ChunkOverlap = 4 })
            .Process("# Nibbles\n\nA nibble is four bits. It is one hex digit. Two nibbles make a byte, which holds eight bits.");
        Assert.True(document.Chunks.Count > 1);

        var title = EmbeddingBatchProcessor.Title("notes/nibble.md", document);
        var chunk = document.Chunks[1];
        using var payload = JsonDocument.Parse(EmbeddingBatchProcessor.Payload("notes/nibble.md", title, chunk));

        Assert.Equal("Nibbles", title);
        Assert.Equal("notes/nibble.md", payload.RootElement.GetProperty("source").GetString());
        Assert.Equal("Nibbles", payload.RootElement.GetProperty("title").GetString());
        Assert.Equal(1, payload.RootElement.GetProperty("chunk").GetInt32());
        Assert.Equal(chunk.Text, payload.RootElement.GetProperty("text").GetString());
        Assert.Equal($"Nibbles: {chunk.Text}", EmbeddingBatchProcessor.EmbeddedText(title, chunk));
    }

    [Fact]
    public void ADocumentWithoutATitleLineIsTitledByItsFileName()
    {
        var document = TextTestData.Pipeline.Process("Four bits; one hex digit; a half-byte.");

        Assert.Equal("nibble", EmbeddingBatchProcessor.Title("glossary/nibble.txt", document));
    }
}
