using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;

namespace Agents.GrainInterfaces;

/// <summary>Which shard owns a point, and the rules for names and shapes that every entry point checks.</summary>
public static partial class ShardRouter
{
    /// <summary>Largest dimension accepted.</summary>
    public const int MaxDimension = 4096;

    /// <summary>Most shards a collection may have.</summary>
    public const int MaxShards = 256;

    /// <summary>The shard count that asks for <see cref="DefaultShards"/> when the collection is created.</summary>
    public const int ClusterDefaultShards = 0;

    /// <summary>Longest point id accepted, in characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>Largest k a search may ask for.</summary>
    public const int MaxK = 10_000;

    /// <summary>Largest HNSW search breadth a search may ask for.</summary>
    public const int MaxEf = 100_000;

    /// <summary>Payload fields a collection may index for keyword search at most.</summary>
    public const int MaxTextFields = 16;

    /// <summary>The shard of <paramref name="id"/>: XxHash32 of its UTF-8 bytes, modulo the shard count (stable across processes).</summary>
    public static int ShardOf(string id, int shards)
    {
        Span<byte> buffer = stackalloc byte[Encoding.UTF8.GetMaxByteCount(Math.Min(id.Length, MaxIdLength))];
        var length = Encoding.UTF8.GetBytes(id.AsSpan(0, Math.Min(id.Length, MaxIdLength)), buffer);
        return (int)(XxHash32.HashToUInt32(buffer[..length]) % (uint)shards);
    }

    /// <summary>
    /// The shard count of a collection created without one: two per active silo (at least two), so every silo searches a
    /// share of each query and, when the cluster doubles, each new silo still gets a shard. The count is fixed for the
    /// collection's life (a point's shard is its id's hash modulo the count), so it is chosen for the cluster at creation.
    /// </summary>
    public static int DefaultShards(int activeSilos) => Math.Clamp(2 * activeSilos, 2, MaxShards);

    /// <summary>The shard grain's key.</summary>
    public static string ShardKey(string collection, int shard) => $"{collection}/{shard}";

    /// <summary>Splits a shard key into collection and shard.</summary>
    public static (string Collection, int Shard) ParseShardKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return slash > 0 && int.TryParse(key.AsSpan(slash + 1), out var shard)
            ? (key[..slash], shard)
            : throw new ArgumentException($"'{key}' is not a shard key (collection/shard).");
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is 1-64 of [A-Za-z0-9_-].</summary>
    public static void ValidateName(string? name, string what = "Collection name")
    {
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"{what} '{name}' is not valid: use 1-64 letters, digits, '_' or '-'.");
        }
    }

    /// <summary>Checks a collection spec; throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public static void Validate(CollectionSpec spec)
    {
        ValidateName(spec.Name);
        if (spec.Dimension is < 1 or > MaxDimension)
        {
            throw new ArgumentException($"Dimension {spec.Dimension} is out of range: use 1..{MaxDimension}.");
        }

        if (spec.Shards != ClusterDefaultShards && spec.Shards is < 1 or > MaxShards)
        {
            throw new ArgumentException($"Shard count {spec.Shards} is out of range: use 1..{MaxShards} (or 0 for two per active silo).");
        }

        if (!Enum.IsDefined(spec.Index))
        {
            throw new ArgumentException($"Index {(int)spec.Index} is unknown: use hnsw or flat.");
        }

        if (!Enum.IsDefined(spec.Metric))
        {
            throw new ArgumentException($"Metric {(int)spec.Metric} is unknown: use cosine, dot or l2.");
        }

        if (spec.Quantize && spec.Index != VectorIndexKind.Hnsw)
        {
            throw new ArgumentException("quantize applies to the hnsw index (its graph runs on int8 codes); a flat index always scans the full vectors.");
        }

        if (spec.TextFields is { } textFields)
        {
            if (textFields.Length > MaxTextFields)
            {
                throw new ArgumentException($"{textFields.Length} text fields are too many: name at most {MaxTextFields}.");
            }

            foreach (var field in textFields)
            {
                if (string.IsNullOrWhiteSpace(field) || field.Length > 64)
                {
                    throw new ArgumentException($"Text field '{field}' is not a payload field name: use 1-64 characters.");
                }
            }

            if (textFields.Distinct(StringComparer.Ordinal).Count() != textFields.Length)
            {
                throw new ArgumentException($"Text fields {string.Join(", ", textFields)} name a field twice.");
            }
        }

        if (spec.Index == VectorIndexKind.Hnsw)
        {
            if (spec.M is < 2 or > 128)
            {
                throw new ArgumentException($"m {spec.M} is out of range: use 2..128.");
            }

            if (spec.EfConstruction < spec.M || spec.EfConstruction > 4096)
            {
                throw new ArgumentException($"ef_construction {spec.EfConstruction} is out of range: use m..4096.");
            }

            if (spec.Ef is < 1 or > 4096)
            {
                throw new ArgumentException($"ef {spec.Ef} is out of range: use 1..4096.");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
