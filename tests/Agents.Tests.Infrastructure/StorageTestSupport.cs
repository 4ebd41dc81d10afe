using System.Runtime.InteropServices;
using System.Text;
using Agents.Engine.Vectors.Storage;

namespace Agents.Tests.Vectors;

/// <summary>Points with awkward values (NaN, -0, subnormals, non-ASCII ids, empty payloads) and exact comparisons of them.</summary>
internal static class StorageTestData
{
    private static readonly float[] Specials = [float.NaN, -0f, float.Epsilon, float.MaxValue, float.NegativeInfinity, 1e-40f];

    public static StoredPoint Point(string id, int dimension, int seed, string json = "") =>
        new(id, Vector(dimension, seed), Encoding.UTF8.GetBytes(json));

    /// <summary><paramref name="count"/> points "prefix-0".. with payloads, every third one empty.</summary>
    public static List<StoredPoint> Batch(string prefix, int count, int dimension, int seed) =>
        Enumerable.Range(0, count)
            .Select(i => Point($"{prefix}-{i}", dimension, seed * 100_000 + i, i % 3 == 0 ? "" : $$"""{"n":{{i}},"tag":"é✓ {{prefix}}"}"""))
            .ToList();

    public static float[] Vector(int dimension, int seed)
    {
        var random = new Random(seed);
        var vector = new float[dimension];
        for (var i = 0; i < dimension; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        // Bit-exact storage must keep even the values that text formats mangle.
        vector[seed % dimension] = Specials[seed % Specials.Length];
        return vector;
    }

    public static async Task<List<StoredPoint>> DrainAsync(IAsyncEnumerable<StoredPoint> points)
    {
        var list = new List<StoredPoint>();
        await foreach (var point in points)
        {
            list.Add(point);
        }

        return list;
    }

    /// <summary>The live set after applying <paramref name="upserts"/> in order then removing <paramref name="deleted"/>.</summary>
    public static List<StoredPoint> Live(IEnumerable<StoredPoint> upserts, IEnumerable<string>? deleted = null)
    {
        var live = new Dictionary<string, StoredPoint>(StringComparer.Ordinal);
        foreach (var point in upserts)
        {
            live[point.Id] = point;
        }

        foreach (var id in deleted ?? [])
        {
            live.Remove(id);
        }

        return [.. live.Values];
    }

    /// <summary>Same ids, bit-identical vectors and byte-identical payloads, in any order.</summary>
    public static void AssertSamePoints(IEnumerable<StoredPoint> expected, IEnumerable<StoredPoint> actual)
    {
        var e = expected.OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        var a = actual.OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(e.Select(p => p.Id), a.Select(p => p.Id));
        for (var i = 0; i < e.Count; i++)
        {
            Assert.True(
                MemoryMarshal.AsBytes(e[i].Vector.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(a[i].Vector.AsSpan())),
                $"Vector of '{e[i].Id}' differs.");
            Assert.Equal(e[i].Payload, a[i].Payload);
        }
    }

    public static void AssertOrdinalOrder(IReadOnlyList<StoredPoint> points)
    {
        for (var i = 1; i < points.Count; i++)
        {
            Assert.True(string.CompareOrdinal(points[i - 1].Id, points[i].Id) < 0, $"'{points[i - 1].Id}' comes before '{points[i].Id}'.");
        }
    }

    public static CollectionRecord Record(string name, int dimension = 384, int shards = 4) =>
        new(name, dimension, "cosine", shards, "hnsw", 16, 200, 64, false, new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
}

/// <summary>A fresh folder under the temp directory, deleted at the end of the test.</summary>
internal sealed class StorageTempDirectory : IDisposable
{
    public StorageTempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"agents-vstore-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder must not fail the test that made it.
        }
    }
}
