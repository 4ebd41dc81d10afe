namespace Agents.Grains.Embeddings;

/// <summary>How grains ask the silo's model for embeddings.</summary>
public static class EmbeddingModelExtensions
{
    /// <summary>Embeds <paramref name="texts"/>; a full queue is reported to the caller as <see cref="OverloadedException"/>.</summary>
    public static async Task<float[][]> EmbedAsync(this EmbeddingModel model, IReadOnlyList<string> texts)
    {
        try
        {
            return await model.Service.EmbedAsync(texts);
        }
        catch (EmbeddingQueueFullException e)
        {
            throw new OverloadedException(e.Message);
        }
    }
}
