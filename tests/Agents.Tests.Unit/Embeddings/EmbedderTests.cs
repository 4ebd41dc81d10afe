using System.Numerics.Tensors;
using Agents.Grains.Embeddings;
using Agents.Tests.Text;
using Xunit;
using Xunit.Abstractions;

namespace Agents.Tests.Embeddings;

/// <summary>One loaded model shared by the embedding tests (loading takes about a second).</summary>
public sealed class EmbedderFixture : IDisposable
{
    /// <summary>One session on one thread.</summary>
    public SentenceEmbedder Embedder { get; } = new(TextTestData.Tokenizer, SentenceEmbedder.ReadMiniLmModel(), intraOpThreads: 1);

    /// <inheritdoc />
    public void Dispose() => Embedder.Dispose();
}

/// <summary>The real all-MiniLM-L6-v2 model on ONNX Runtime against sentence-transformers' published numbers.</summary>
public sealed class EmbedderTests(EmbedderFixture fixture, ITestOutputHelper output) : IClassFixture<EmbedderFixture>
{
    private SentenceEmbedder Embedder => fixture.Embedder;

    [Fact]
    public void QuickstartSentencesGiveThePublishedCosines()
    {
        // sentence-transformers quickstart: model.similarity(embeddings, embeddings) for all-MiniLM-L6-v2.
        var e = Embedder.Embed(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]);

        Assert.All(e, v => Assert.Equal(SentenceEmbedder.Dimension, v.Length));
        Assert.All(e, v => Assert.Equal(1f, TensorPrimitives.Norm(v), 4));
        var ab = TensorPrimitives.Dot(e[0], e[1]);
        var ac = TensorPrimitives.Dot(e[0], e[2]);
        var bc = TensorPrimitives.Dot(e[1], e[2]);
        output.WriteLine($"cosines {ab:F4} {ac:F4} {bc:F4}");
        Assert.Equal(0.6660, ab, 0.001);
        Assert.Equal(0.1046, ac, 0.001);
        Assert.Equal(0.1411, bc, 0.001);
    }

    [Fact]
    public void ATextAloneEqualsTheSameTextInAPaddedBatch()
    {
        const string text = "Orleans grains are virtual actors.";
        var alone = Embedder.Embed([text])[0];
        var batch = Embedder.Embed([
            "A much longer sentence that forces the batch to be padded well beyond the short one, with many more tokens in it.",
            text,
            "Short.",
        ]);

        for (var i = 0; i < alone.Length; i++)
        {
            Assert.Equal(alone[i], batch[1][i], 1e-5);
        }
    }

    [Fact]
    public void OverLongTextIsTruncatedNotFailed()
    {
        var words = string.Join(' ', Enumerable.Repeat("distributed actors scale across many silos", 200));
        Assert.Equal(SentenceEmbedder.MaxTokens, Embedder.Encode(words).Length);

        // Everything past the window is ignored: two texts that differ only there embed the same.
        var a = Embedder.Embed([words + " apples"])[0];
        var b = Embedder.Embed([words + " the stock market crashed"])[0];
        Assert.Equal(a, b);
    }

    [Fact]
    public void EmptyTextIsRejectedWithAClearMessage()
    {
        var empty = Assert.Throws<ArgumentException>(() => Embedder.Embed([""]));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);
        var blank = Assert.Throws<ArgumentException>(() => Embedder.Embed(["   \n\t"]));
        Assert.Contains("no tokens", blank.Message, StringComparison.Ordinal);
        Assert.Empty(Embedder.Embed(Array.Empty<string>()));
    }
}
