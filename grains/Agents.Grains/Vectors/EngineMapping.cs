using Agents.Engine.Vectors;

namespace Agents.Grains.Vectors;

/// <summary>Maps the contracts' vector types onto the engine's.</summary>
public static class EngineMapping
{
    /// <summary>The engine's metric for a collection's <see cref="VectorMetric"/>.</summary>
    public static DistanceMetric ToEngine(this VectorMetric metric) => metric switch
    {
        VectorMetric.Cosine => DistanceMetric.Cosine,
        VectorMetric.Dot => DistanceMetric.Dot,
        VectorMetric.L2 => DistanceMetric.L2,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown vector metric."),
    };

    /// <summary>The name the collection catalogue stores for <paramref name="metric"/>.</summary>
    public static string ToCatalogName(this VectorMetric metric) => metric switch
    {
        VectorMetric.Cosine => "cosine",
        VectorMetric.Dot => "dot",
        VectorMetric.L2 => "l2",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown vector metric."),
    };

    /// <summary>The metric of a catalogue entry, from the name <see cref="ToCatalogName(VectorMetric)"/> stored.</summary>
    public static VectorMetric MetricFromCatalog(string name) => name switch
    {
        "cosine" => VectorMetric.Cosine,
        "dot" => VectorMetric.Dot,
        "l2" => VectorMetric.L2,
        _ => throw new InvalidDataException($"The collection catalogue holds an unknown metric '{name}'."),
    };

    /// <summary>The name a catalogue entry stores for an index kind.</summary>
    public static string ToCatalogName(this VectorIndexKind index) => index switch
    {
        VectorIndexKind.Hnsw => "hnsw",
        VectorIndexKind.Flat => "flat",
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "Unknown index kind."),
    };

    /// <summary>The index kind of a catalogue entry, from the name <see cref="ToCatalogName(VectorIndexKind)"/> stored.</summary>
    public static VectorIndexKind IndexFromCatalog(string name) => name switch
    {
        "hnsw" => VectorIndexKind.Hnsw,
        "flat" => VectorIndexKind.Flat,
        _ => throw new InvalidDataException($"The collection catalogue holds an unknown index kind '{name}'."),
    };

    /// <summary>True when every condition of <paramref name="filter"/> holds for <paramref name="fields"/>.</summary>
    public static bool Matches(this PayloadFields fields, PayloadFilter filter)
    {
        foreach (var c in filter.Must)
        {
            var holds = c.Operator == FilterOperator.Range
                ? fields.HasInRange(c.Field, c.Min, c.Max)
                : c.Values is { } values && fields.HasAny(c.Field, values);
            if (!holds)
            {
                return false;
            }
        }

        return true;
    }
}
