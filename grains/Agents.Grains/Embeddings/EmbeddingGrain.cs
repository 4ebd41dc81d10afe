using System.Runtime.InteropServices;

namespace Agents.Grains.Embeddings;

/// <summary>A silo's embedding endpoint: hands texts to the silo's <see cref="EmbeddingModel"/>.</summary>
[Reentrant, SiloTargetedPlacement]
public sealed class EmbeddingGrain(EmbeddingModel model) : Grain, IEmbeddingGrain
{
    /// <summary>Texts per request at most.</summary>
    public const int MaxTexts = 4096;

    /// <inheritdoc />
    public async Task<byte[]> EmbedAsync(string[] texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Length > MaxTexts)
        {
            throw new ArgumentException($"A request of {texts.Length} texts is too large: send at most {MaxTexts} per call.");
        }

        var vectors = await model.EmbedAsync(texts);
        var floats = new float[vectors.Length * SentenceEmbedder.Dimension];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i].CopyTo(floats, i * SentenceEmbedder.Dimension);
        }

        return MemoryMarshal.AsBytes(floats.AsSpan()).ToArray();
    }
}
