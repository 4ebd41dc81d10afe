namespace Agents.Cli;

/// <summary>The command-line names of <see cref="Distribution"/>.</summary>
public static class DistributionNames
{
    /// <summary>Parses <c>round-robin</c>, <c>random</c> or <c>least-loaded</c>.</summary>
    public static Distribution Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "round-robin" or "roundrobin" => Distribution.RoundRobin,
        "random" => Distribution.Random,
        "least-loaded" or "leastloaded" => Distribution.LeastLoaded,
        _ => throw new ArgumentException($"Unknown distribution '{name}'; use round-robin, random or least-loaded.", nameof(name)),
    };

    /// <summary>The command-line name of a distribution.</summary>
    public static string ToName(this Distribution distribution) => distribution switch
    {
        Distribution.RoundRobin => "round-robin",
        Distribution.Random => "random",
        Distribution.LeastLoaded => "least-loaded",
        _ => throw new ArgumentOutOfRangeException(nameof(distribution)),
    };
}

/// <summary>The command-line names of <see cref="VectorMetric"/>.</summary>
public static class MetricNames
{
    /// <summary>Parses <c>cosine</c>, <c>dot</c> or <c>l2</c>.</summary>
    public static VectorMetric Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "cosine" => VectorMetric.Cosine,
        "dot" => VectorMetric.Dot,
        "l2" or "euclid" or "euclidean" => VectorMetric.L2,
        _ => throw new ArgumentException($"Metric '{text}' is unknown: use cosine, dot or l2."),
    };

    /// <summary>The command-line name of a metric.</summary>
    public static string ToName(this VectorMetric metric) => metric.ToString().ToLowerInvariant();
}

/// <summary>The command-line names of <see cref="VectorIndexKind"/>.</summary>
public static class IndexKindNames
{
    /// <summary>Parses <c>hnsw</c> or <c>flat</c>; <paramref name="option"/> names where the value came from.</summary>
    public static VectorIndexKind Parse(string? text, string option = "Index") => text?.Trim().ToLowerInvariant() switch
    {
        "hnsw" => VectorIndexKind.Hnsw,
        "flat" => VectorIndexKind.Flat,
        _ => throw new ArgumentException($"{option} '{text}' is unknown: use hnsw or flat."),
    };

    /// <summary>The command-line name of an index kind.</summary>
    public static string ToName(this VectorIndexKind index) => index.ToString().ToLowerInvariant();
}
