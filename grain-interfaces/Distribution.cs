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
