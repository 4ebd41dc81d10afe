using System.Text;

namespace Agents.Engine.Vectors.Storage;

/// <summary>Argument checks shared by the file and PostgreSQL stores, so both accept and refuse exactly the same input.</summary>
internal static class StorageValidation
{
    /// <summary>The longest point id, in UTF-16 characters.</summary>
    public const int MaxIdLength = 256;

    /// <summary>The largest vector dimension.</summary>
    public const int MaxDimension = 4096;

    // Throws on lone surrogates: silently replacing them with U+FFFD would store a different id than the caller's.
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A collection name doubles as a directory name, so it is kept to characters that are safe in paths.</summary>
    public static void Collection(string collection)
    {
        ArgumentNullException.ThrowIfNull(collection);
        var ok = collection.Length is > 0 and <= 128 && collection[0] != '.';
        foreach (var c in collection)
        {
            ok &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.';
        }

        if (!ok)
        {
            throw new ArgumentException($"Collection name '{collection}' is not valid: use 1-128 letters, digits, '_', '-' or '.', not starting with '.'.", nameof(collection));
        }
    }

    public static void Shard(int shard) => ArgumentOutOfRangeException.ThrowIfNegative(shard);

    public static void Dimension(int dimension)
    {
        if (dimension is < 1 or > MaxDimension)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"Dimension must be 1..{MaxDimension}.");
        }
    }

    /// <summary>Checks a whole upsert batch before anything is written, so a bad point never leaves half a batch behind.</summary>
    public static void Points(IReadOnlyList<StoredPoint> points, int dimension)
    {
        ArgumentNullException.ThrowIfNull(points);
        var seen = new HashSet<string>(points.Count, StringComparer.Ordinal);
        for (var i = 0; i < points.Count; i++)
        {
            var point = points[i] ?? throw new ArgumentException($"Point {i} of the batch is null; nothing was written.", nameof(points));
            Id(point.Id, nameof(points));
            if (point.Vector is null || point.Vector.Length != dimension)
            {
                throw new ArgumentException($"Point '{point.Id}' has {point.Vector?.Length ?? 0} dimensions; this shard holds {dimension}. Nothing was written.", nameof(points));
            }

            if (point.Payload is null)
            {
                throw new ArgumentException($"Point '{point.Id}' has a null payload (use an empty array); nothing was written.", nameof(points));
            }

            if (!seen.Add(point.Id))
            {
                throw new ArgumentException($"Point id '{point.Id}' appears more than once in the batch; nothing was written.", nameof(points));
            }
        }
    }

    /// <summary>Checks a delete batch and drops repeated ids (deleting twice is the same as once).</summary>
    public static string[] Ids(IReadOnlyList<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var seen = new HashSet<string>(ids.Count, StringComparer.Ordinal);
        var unique = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            Id(id, nameof(ids));
            if (seen.Add(id))
            {
                unique.Add(id);
            }
        }

        return [.. unique];
    }

    private static void Id(string? id, string parameter)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            throw new ArgumentException($"Point id '{id}' is not valid: use 1-{MaxIdLength} characters. Nothing was written.", parameter);
        }

        // PostgreSQL text cannot hold NUL, and both stores must accept the same ids.
        if (id.Contains('\0'))
        {
            throw new ArgumentException($"Point id '{id.Replace("\0", "\\0", StringComparison.Ordinal)}' contains a NUL character; nothing was written.", parameter);
        }

        try
        {
            StrictUtf8.GetByteCount(id);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException($"Point id '{id}' is not valid UTF-16 (lone surrogate); nothing was written.", parameter);
        }
    }
}
