namespace Agents.Engine.Vectors;

/// <summary>A slot of the vector arena with its score against a query; a higher score is closer.</summary>
public readonly record struct ScoredSlot(int Slot, float Score);
