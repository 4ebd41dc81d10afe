using Agents.Tests.Text;
using Xunit;

namespace Agents.Tests.Embeddings;

/// <summary>Sessions on one shared copy of the weights compute what a session with weights of its own computes.</summary>
public sealed class SharedModelWeightsTests
{
    private static readonly string[] Texts =
    [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
        string.Join(' ', Enumerable.Repeat("Orleans grains are virtual actors that live in silos.", 20)),
        "Short.",
    ];

    [Fact]
    public void SharedWeightSessionsGiveBitIdenticalVectorsToASessionWithItsOwnWeights()
    {
        var model = SentenceEmbedder.ReadMiniLmModel();
        using var own = new SentenceEmbedder(TextTestData.Tokenizer, model, 1);
        using var weights = new SharedModelWeights(model);
        using var first = new SentenceEmbedder(TextTestData.Tokenizer, model, 1, weights);
        using var second = new SentenceEmbedder(TextTestData.Tokenizer, model, 1, weights);

        var expected = own.Embed(Texts);
        foreach (var shared in new[] { first, second })
        {
            var actual = shared.Embed(Texts);
            for (var i = 0; i < Texts.Length; i++)
            {
                Assert.Equal(expected[i], actual[i]);
            }
        }
    }

    [Fact]
    public void TheSharedWeightsAreTheModelsFloatTensors()
    {
        var model = SentenceEmbedder.ReadMiniLmModel();
        var tensors = OnnxInitializers.Read(model);
        using var weights = new SharedModelWeights(model);

        // all-MiniLM-L6-v2: 22.7 M parameters, of which the 30,522 × 384 token embeddings are the largest tensor.
        var words = Assert.Single(tensors, t => t.Name == "embeddings.word_embeddings.weight");
        Assert.Equal([30522L, 384L], words.Dimensions);
        Assert.Equal(OnnxInitializers.FloatType, words.DataType);
        Assert.Equal(30522 * 384 * sizeof(float), words.RawLength);
        Assert.Equal(tensors.Count(t => t.DataType == OnnxInitializers.FloatType && t.RawLength >= SharedModelWeights.MinSharedBytes), weights.Count);
        Assert.InRange(weights.Bytes, 85_000_000, 92_000_000);
        Assert.All(tensors, t => Assert.Equal(t.RawLength, t.Dimensions.Aggregate(1L, (a, d) => a * d) * ElementSize(t.DataType)));
    }

    [Fact]
    public void ABrokenModelIsRejectedWithAReason()
    {
        var model = SentenceEmbedder.ReadMiniLmModel();
        var cut = model.AsSpan(0, model.Length / 2).ToArray();

        var e = Assert.Throws<InvalidDataException>(() => OnnxInitializers.Read(cut));
        Assert.Contains("ONNX model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadingTheModelLeavesNoPooledCopyBehind()
    {
        // A span read through Stream's fallback rents a 128 MiB array that the shared pool keeps; the model read must not.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var model = SentenceEmbedder.ReadMiniLmModel();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.InRange(allocated, model.Length, model.Length + (1 << 20));
    }

    private static int ElementSize(int dataType) => dataType switch
    {
        1 or 6 => 4, // float, int32
        7 or 11 => 8, // int64, double
        _ => throw new InvalidDataException($"element type {dataType} is not in this model"),
    };
}
