using Agents.Grains.Embeddings;

namespace Agents.Grains.Capabilities;

/// <summary><c>embed</c>: texts to vectors through the silo's one model, micro-batched with every other caller's.</summary>
public sealed class EmbedHandler(EmbeddingModel model, ILocalSiloDetails silo)
{
    /// <summary>One unit-length vector per text, in order.</summary>
    public async Task<EmbedReply> HandleAsync(string agentId, EmbedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Texts is not { Length: > 0 } texts)
        {
            throw new ArgumentException("The embed request has no texts: give them in \"texts\".");
        }

        if (texts.Length > EmbeddingGrain.MaxTexts)
        {
            throw new ArgumentException($"An embed request of {texts.Length} texts is too large: send at most {EmbeddingGrain.MaxTexts}.");
        }

        for (var i = 0; i < texts.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new ArgumentException($"Text {i} of the embed request is empty.");
            }
        }

        return new EmbedReply(SentenceEmbedder.Dimension, await model.EmbedAsync(texts), agentId, silo.SiloAddress.ToParsableString());
    }
}
