namespace Agents.GrainInterfaces;

/// <summary>Names silos and clients must agree on to form one cluster.</summary>
public static class ClusterNames
{
    /// <summary>The Orleans cluster id and service id of every Agents cluster.</summary>
    public const string ClusterId = "agents";
}
