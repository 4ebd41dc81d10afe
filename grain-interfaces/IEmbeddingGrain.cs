namespace Agents.GrainInterfaces;

/// <summary>
/// The embedding model of one silo (key: the silo's address, as for a job's batches), so a caller spreads
/// requests over the silos it chooses. Concurrent requests share model calls through the silo's micro-batcher.
/// </summary>
public interface IEmbeddingGrain : IGrainWithStringKey
{
    /// <summary>Floats per embedding (all-MiniLM-L6-v2).</summary>
    const int Dimension = 384;

    /// <summary>
    /// The unit-length embeddings of <paramref name="texts"/> as little-endian float32 bytes, <see cref="Dimension"/>
    /// floats per text in order. Empty text is rejected with an <see cref="ArgumentException"/> naming it.
    /// </summary>
    Task<byte[]> EmbedAsync(string[] texts);
}
