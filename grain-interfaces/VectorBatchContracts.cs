namespace Agents.GrainInterfaces;

/// <summary>
/// Many k-nearest-neighbour queries in one call: their vectors laid end to end as little-endian float32 bytes (a whole
/// number of the collection's dimension), one k, ef and filter for all.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SearchBatchRequest(byte[] Vectors, int K, int? Ef = null, PayloadFilter? Filter = null)
{
    /// <summary>Queries per call to one shard.</summary>
    public const int MaxQueries = 4096;
}
