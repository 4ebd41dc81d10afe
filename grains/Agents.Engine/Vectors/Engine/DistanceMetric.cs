namespace Agents.Engine.Vectors;

/// <summary>How the engine compares vectors. Scores are "higher is closer" for every metric.</summary>
public enum DistanceMetric
{
    /// <summary>Cosine similarity (vectors are stored normalised, so it is a dot product).</summary>
    Cosine,

    /// <summary>Dot product.</summary>
    Dot,

    /// <summary>Euclidean distance; the internal score is the negated squared distance.</summary>
    L2,
}
