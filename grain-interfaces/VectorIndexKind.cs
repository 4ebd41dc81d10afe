namespace Agents.GrainInterfaces;

/// <summary>How a collection's shards answer searches.</summary>
public enum VectorIndexKind
{
    /// <summary>An HNSW graph (approximate; exact over points not yet indexed).</summary>
    Hnsw,

    /// <summary>An exact scan of every point.</summary>
    Flat,
}
