namespace Agents.GrainInterfaces;

/// <summary>How a job spreads its batches over the silos.</summary>
public enum Distribution
{
    /// <summary>Batch i goes to silo i mod n.</summary>
    RoundRobin,

    /// <summary>Each batch goes to a silo picked uniformly at random.</summary>
    Random,

    /// <summary>Each batch goes to the silo with the fewest batches in flight for its capacity.</summary>
    LeastLoaded,
}

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
