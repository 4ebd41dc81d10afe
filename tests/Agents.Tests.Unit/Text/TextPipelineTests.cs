using System.Text;
using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class TextPipelineTests
{
    [Fact]
    public void StatisticsOfAKnownText()
    {
        var document = TextTestData.Pipeline.Process("Hello world. This is a test!");

        // Words: hello(5) world(5) this(4) is(2) a(1) test(4); tokens: hello world . this is a test !
        Assert.Equal(new DocumentStatistics(28, 6, 2, 8, 1, 6, 3.5, 3.0), document.Statistics);
    }

    [Fact]
    public void UniqueWordsIgnoreCaseAndWordsKeepInnerApostrophesAndNumbers()
    {
        var statistics = TextTestData.Pipeline.Process("The cat and THE dog don't weigh 3.5 kg; the cat does.").Statistics;

        // the, cat, and, dog, don't, weigh, 3.5, kg, does -> 9 distinct of 12 words.
        Assert.Equal(12, statistics.Words);
        Assert.Equal(9, statistics.UniqueWords);
        Assert.Equal(1, statistics.Sentences);
    }

    [Fact]
    public void NormalizationHandlesLineEndsControlsSpacesAndComposition()
    {
        // "e" + combining acute must compose to "é" (NFC); BEL is dropped; CR LF and lone CR become LF.
        var normalized = TextNormalizer.Normalize("  Cafe\u0301 one\r\nLine\ttwo\u0007   with    spaces\rend \u0000 ");

        Assert.Equal("Café one\nLine\ttwo with spaces\nend", normalized);
    }

    [Fact]
    public void StatisticsAreComputedOnTheNormalizedText()
    {
        var document = TextTestData.Pipeline.Process("  Cafe\u0301    bar.\r\n");

        Assert.Equal("Café bar.".Length, document.Statistics.Characters);
        Assert.Equal("Café bar.", document.Chunks[0].Text);
    }

    [Fact]
    public void ContentHashIsLowerCaseSha256OfTheUtf8Bytes()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", TextPipeline.ContentHash("abc"u8));

        const string text = "Grüße aus Köln.";
        var fromString = TextTestData.Pipeline.Process(text);
        var fromBytes = TextTestData.Pipeline.Process(Encoding.UTF8.GetBytes(text));
        Assert.Equal(TextPipeline.ContentHash(Encoding.UTF8.GetBytes(text)), fromString.ContentHash);
        Assert.Equal(fromString.ContentHash, fromBytes.ContentHash);
        Assert.Equal(fromString.Statistics, fromBytes.Statistics);
        Assert.Equal(fromString.Chunks, fromBytes.Chunks);
    }

    [Fact]
    public void ProcessWithAKnownHashUsesItAndMatchesProcessingTheBytes()
    {
        var bytes = Encoding.UTF8.GetBytes("Grüße aus Köln. The café serves a naïve résumé of distributed systems!");
        var hash = TextPipeline.ContentHash(bytes);

        var expected = TextTestData.Pipeline.Process(bytes);
        var document = TextTestData.Pipeline.Process(bytes, hash);

        Assert.Same(hash, document.ContentHash);
        Assert.Equal(expected.Statistics, document.Statistics);
        Assert.Equal(expected.Chunks, document.Chunks);
        Assert.Equal(expected.Keywords, document.Keywords);

        // The hash is taken as given (it is not recomputed), but the bytes are still validated.
        Assert.Equal("cached-key", TextTestData.Pipeline.Process(bytes, "cached-key").ContentHash);
        Assert.Throws<ArgumentNullException>(() => TextTestData.Pipeline.Process(bytes, null!));
        var rejected = Assert.Throws<DocumentRejectedException>(() => TextTestData.Pipeline.Process([0x41, 0xFF], hash));
        Assert.Contains("byte offset 1", rejected.Message);
    }

    [Fact]
    public void ByteOrderMarkIsNotText()
    {
        var document = TextTestData.Pipeline.Process([0xEF, 0xBB, 0xBF, (byte)'H', (byte)'i', (byte)'.']);

        Assert.Equal("Hi.", document.Chunks[0].Text);
        Assert.Equal(3, document.Statistics.Characters);
    }

    [Fact]
    public void ProcessIsSafeAcrossThreads()
    {
        var texts = Enumerable.Range(0, 16).Select(i => string.Join(' ', Enumerable.Repeat($"Document {i} talks about tokenization and résumé number {i}.", 40 + i))).ToArray();
        var expected = texts.Select(t => TextTestData.Pipeline.Process(t)).ToArray();

        var results = new ProcessedDocument[texts.Length * 8];
        Parallel.For(0, results.Length, i => results[i] = TextTestData.Pipeline.Process(texts[i % texts.Length]));

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(expected[i % texts.Length].Statistics, results[i].Statistics);
            Assert.Equal(expected[i % texts.Length].Chunks, results[i].Chunks);
            Assert.Equal(expected[i % texts.Length].Keywords, results[i].Keywords);
        }
    }
}
