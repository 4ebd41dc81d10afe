namespace Agents.Engine.Vectors;

/// <summary>One result of a <see cref="LocalShard"/> search: the point's id, its score as users read it (similarity, or distance for L2) and its payload.</summary>
public readonly record struct ShardHit(string Id, float Score, byte[] Payload);
