using Agents.GrainInterfaces;
using Agents.Engine.Vectors;
using Xunit;
using Xunit.Abstractions;

namespace Agents.Tests.Vectors;

/// <summary>Shared clustered data and one graph per metric, built once for the recall tests.</summary>
public sealed class HnswClusteredFixture
{
    /// <summary>Points in the recall set.</summary>
    public const int Points = 10_000;

    /// <summary>Dimensions of the recall set.</summary>
    public const int Dimension = 64;

    /// <summary>Queries per recall measurement.</summary>
    public const int Queries = 200;

    private readonly Dictionary<DistanceMetric, (VectorArena Arena, HnswIndex Index, float[][] Queries)> _built = [];
    private readonly System.Threading.Lock _gate = new();

    /// <summary>The arena, graph and queries for <paramref name="metric"/> (cosine data normalised).</summary>
    public (VectorArena Arena, HnswIndex Index, float[][] Queries) For(DistanceMetric metric)
    {
        lock (_gate)
        {
            if (!_built.TryGetValue(metric, out var set))
            {
                var arena = HnswTestData.Clustered(Points, Dimension, clusters: 50, seed: 11, normalise: metric == DistanceMetric.Cosine);
                var index = new HnswIndex(arena, metric, new HnswParameters());
                for (var slot = 0; slot < arena.Count; slot++)
                {
                    index.Add(slot);
                }

                var queries = HnswTestData.ClusteredQueries(Queries, Dimension, clusters: 50, seed: 11, normalise: metric == DistanceMetric.Cosine);
                set = (arena, index, queries);
                _built[metric] = set;
            }

            return set;
        }
    }
}

/// <summary>Data generation and brute-force ground truth for the HNSW tests.</summary>
internal static class HnswTestData
{
    /// <summary>Gaussian clusters: centres ~ N(0, 1), points = centre + N(0, 1) (overlapping, so neighbours are not trivial), optionally unit length.</summary>
    public static VectorArena Clustered(int count, int dimension, int clusters, int seed, bool normalise)
    {
        var arena = new VectorArena(dimension);
        var centres = Centres(clusters, dimension, seed);
        var random = new Random(seed + 1);
        var vector = new float[dimension];
        for (var i = 0; i < count; i++)
        {
            Sample(random, centres[random.Next(clusters)], vector, normalise);
            arena.Add(vector);
        }

        return arena;
    }

    /// <summary>Queries drawn from the same clusters as <see cref="Clustered"/> with the same seed.</summary>
    public static float[][] ClusteredQueries(int count, int dimension, int clusters, int seed, bool normalise)
    {
        var centres = Centres(clusters, dimension, seed);
        var random = new Random(seed + 2);
        var queries = new float[count][];
        for (var i = 0; i < count; i++)
        {
            queries[i] = new float[dimension];
            Sample(random, centres[random.Next(clusters)], queries[i], normalise);
        }

        return queries;
    }

    /// <summary>The exact best <paramref name="k"/> slots among those <paramref name="accept"/> keeps.</summary>
    public static int[] BruteForce(VectorArena arena, DistanceMetric metric, ReadOnlySpan<float> query, int k, Func<int, bool>? accept = null)
    {
        var scored = new List<(float Score, int Slot)>();
        for (var slot = 0; slot < arena.Count; slot++)
        {
            if (accept is null || accept(slot))
            {
                scored.Add((DistanceKernels.Score(metric, query, arena[slot]), slot));
            }
        }

        scored.Sort((a, b) => b.Score.CompareTo(a.Score));
        return scored.Take(k).Select(s => s.Slot).ToArray();
    }

    /// <summary>Mean recall@k of the index against brute force over the slots <paramref name="accept"/> keeps.</summary>
    public static double Recall(HnswIndex index, VectorArena arena, DistanceMetric metric, float[][] queries, int k, int ef, Func<int, bool>? accept = null)
    {
        var hits = 0;
        var expected = 0;
        foreach (var query in queries)
        {
            var truth = BruteForce(arena, metric, query, k, accept);
            var found = index.Search(query, k, ef, accept).Select(r => r.Slot).ToHashSet();
            hits += truth.Count(found.Contains);
            expected += truth.Length;
        }

        return (double)hits / expected;
    }

    private static float[][] Centres(int clusters, int dimension, int seed)
    {
        var random = new Random(seed);
        var centres = new float[clusters][];
        for (var c = 0; c < clusters; c++)
        {
            centres[c] = new float[dimension];
            for (var d = 0; d < dimension; d++)
            {
                centres[c][d] = Normal(random);
            }
        }

        return centres;
    }

    private static void Sample(Random random, float[] centre, float[] vector, bool normalise)
    {
        for (var d = 0; d < vector.Length; d++)
        {
            vector[d] = centre[d] + Normal(random);
        }

        if (normalise)
        {
            DistanceKernels.Normalize(vector);
        }
    }

    private static float Normal(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}

/// <summary>
/// HNSW graph tests. Sizes: the recall and filter tests use 10,000 × 64 clustered points (50 Gaussian clusters,
/// M = 16, efConstruction = 200) and 200 queries; the delete, persistence and concurrency tests use 4,000 × 32.
/// </summary>
public sealed class HnswIndexTests(HnswClusteredFixture fixture, ITestOutputHelper output) : IClassFixture<HnswClusteredFixture>
{
    [Theory]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.Dot)]
    [InlineData(DistanceMetric.L2)]
    public void RecallAt10IsAtLeast095AtEf64(DistanceMetric metric)
    {
        var (arena, index, queries) = fixture.For(metric);

        var recall = HnswTestData.Recall(index, arena, metric, queries, k: 10, ef: 64);

        output.WriteLine($"recall@10 {metric}: {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 {recall:F4} for {metric}");
    }

    [Fact]
    public void ResultsAreBestFirstDistinctAndScoredWithTheKernels()
    {
        var (arena, index, queries) = fixture.For(DistanceMetric.L2);

        var results = index.Search(queries[0], 10, 64);

        Assert.Equal(10, results.Count);
        Assert.Equal(10, results.Select(r => r.Slot).Distinct().Count());
        for (var i = 0; i < results.Count; i++)
        {
            Assert.Equal(DistanceKernels.Score(DistanceMetric.L2, queries[0], arena[results[i].Slot]), results[i].Score, 3);
            Assert.True(i == 0 || results[i - 1].Score >= results[i].Score);
        }
    }

    [Fact]
    public void FilteredSearchKeepsRecallUnderA10PercentFilter()
    {
        var (arena, index, queries) = fixture.For(DistanceMetric.L2);
        static bool Filter(int slot) => slot % 10 == 3;

        var recall = HnswTestData.Recall(index, arena, DistanceMetric.L2, queries, k: 10, ef: 64, Filter);

        output.WriteLine($"filtered recall@10: {recall:F4}");
        Assert.True(recall >= 0.9, $"filtered recall@10 {recall:F4}");
        Assert.All(index.Search(queries[1], 10, 64, Filter), r => Assert.True(Filter(r.Slot)));
        Assert.All(index.Search(queries[1], 10, 64, Filter, expectedMatches: index.Count / 10), r => Assert.True(Filter(r.Slot)));
    }

    [Fact]
    public void DeletedSlotsNeverReturnAndRecallSurvivesDeletesAndCompaction()
    {
        var (arena, index) = Build(DistanceMetric.L2, 4_000, 32, seed: 21);
        var queries = HnswTestData.ClusteredQueries(100, 32, clusters: 50, seed: 21, normalise: false);
        var random = new Random(5);
        var deleted = new HashSet<int>();
        while (deleted.Count < arena.Count * 3 / 10)
        {
            var slot = random.Next(arena.Count);
            if (deleted.Add(slot))
            {
                index.Delete(slot);
            }
        }

        index.Delete(deleted.First()); // idempotent
        Assert.Equal(deleted.Count, index.DeletedCount);
        Assert.True(index.IsDeleted(deleted.First()));
        Assert.True(index.NeedsCompaction);
        bool Live(int slot) => !deleted.Contains(slot);
        AssertNoDeleted();
        var before = Recall();
        output.WriteLine($"recall@10 after deleting 30%: {before:F4}");
        Assert.True(before >= 0.9, $"recall@10 after deleting 30%: {before:F4}");

        index.Compact();

        Assert.False(index.NeedsCompaction);
        AssertNoDeleted();
        var after = Recall();
        output.WriteLine($"recall@10 after compaction: {after:F4}");
        Assert.True(after >= 0.9, $"recall@10 after compaction: {after:F4}");

        // The repaired graph still takes inserts and finds them.
        var extra = HnswTestData.ClusteredQueries(200, 32, clusters: 50, seed: 99, normalise: false);
        foreach (var vector in extra)
        {
            index.Add(arena.Add(vector));
        }

        var last = arena.Count - 1;
        Assert.Equal(last, index.Search(arena[last], 1, 64)[0].Slot);

        double Recall()
        {
            var hits = 0;
            foreach (var query in queries)
            {
                var truth = HnswTestData.BruteForce(arena, DistanceMetric.L2, query, 10, Live);
                hits += index.Search(query, 10, 64).Count(r => truth.Contains(r.Slot));
            }

            return hits / (10.0 * queries.Length);
        }

        void AssertNoDeleted()
        {
            foreach (var query in queries)
            {
                var results = index.Search(query, 10, 64);
                Assert.Equal(10, results.Count);
                Assert.All(results, r => Assert.DoesNotContain(r.Slot, deleted));
            }
        }
    }

    [Fact]
    public void SaveThenLoadGivesIdenticalResults()
    {
        var (arena, index) = Build(DistanceMetric.Cosine, 4_000, 32, seed: 31);
        for (var slot = 0; slot < 400; slot += 3)
        {
            index.Delete(slot);
        }

        var queries = HnswTestData.ClusteredQueries(50, 32, clusters: 50, seed: 31, normalise: true);
        var bytes = SaveToArray(index);

        var loaded = HnswIndex.Load(new MemoryStream(bytes), arena);

        Assert.Equal(index.Count, loaded.Count);
        Assert.Equal(index.DeletedCount, loaded.DeletedCount);
        Assert.Equal(index.MemoryBytes, loaded.MemoryBytes);
        Assert.Equal(DistanceMetric.Cosine, loaded.Metric);
        Assert.Equal(index.Parameters, loaded.Parameters);
        foreach (var query in queries)
        {
            Assert.Equal(index.Search(query, 10, 64), loaded.Search(query, 10, 64));
        }

        Assert.Equal(bytes, SaveToArray(loaded));
    }

    [Fact]
    public void SaveThenLoadSpanningSeveralNodeBlocks()
    {
        // More slots than one 4,096-node block: a load allocates all blocks at once.
        var (arena, index) = Build(DistanceMetric.L2, 9_000, 8, seed: 5);
        var loaded = HnswIndex.Load(new MemoryStream(SaveToArray(index)), arena);
        Assert.Equal(9_000, loaded.Count);
        var query = arena[8_999].ToArray();
        Assert.Equal(8_999, loaded.Search(query, 1, 32)[0].Slot);
        Assert.Equal(index.MemoryBytes, loaded.MemoryBytes);
    }

    [Fact]
    public void CorruptOrTruncatedStreamsAreRejected()
    {
        var (arena, index) = Build(DistanceMetric.L2, 1_000, 16, seed: 41);
        var bytes = SaveToArray(index);

        foreach (var position in new[] { 0, 5, 9, 20, bytes.Length / 2, bytes.Length - 9, bytes.Length - 1 })
        {
            var corrupt = (byte[])bytes.Clone();
            corrupt[position] ^= 0x40;
            var error = Assert.Throws<InvalidDataException>(() => HnswIndex.Load(new MemoryStream(corrupt), arena));
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
        }

        foreach (var length in new[] { 0, 3, 16, 100, bytes.Length - 1 })
        {
            Assert.Throws<InvalidDataException>(() => HnswIndex.Load(new MemoryStream(bytes, 0, length), arena));
            Assert.Throws<InvalidDataException>(() => HnswIndex.Load(new NonSeekableStream(bytes, length), arena));
        }

        var checksum = Assert.Throws<InvalidDataException>(() =>
        {
            var corrupt = (byte[])bytes.Clone();
            corrupt[bytes.Length / 2] ^= 1;
            HnswIndex.Load(new MemoryStream(corrupt), arena);
        });
        Assert.Contains("checksum", checksum.Message, StringComparison.OrdinalIgnoreCase);

        Assert.Throws<InvalidDataException>(() => HnswIndex.Load(new MemoryStream(bytes), new VectorArena(17)));
    }

    [Fact]
    public async Task ConcurrentSearchesWhileAddingAndDeletingReturnValidResults()
    {
        const int dimension = 32;
        var source = HnswTestData.Clustered(4_000, dimension, clusters: 50, seed: 51, normalise: false);
        var arena = new VectorArena(dimension);
        var index = new HnswIndex(arena, DistanceMetric.L2, new HnswParameters(M: 8, EfConstruction: 64));
        for (var slot = 0; slot < 500; slot++)
        {
            index.Add(arena.Add(source[slot]));
        }

        var queries = HnswTestData.ClusteredQueries(64, dimension, clusters: 50, seed: 51, normalise: false);
        using var done = new CancellationTokenSource();
        var searches = 0;
        var readers = Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(() =>
        {
            var i = r;
            while (!done.IsCancellationRequested)
            {
                var query = queries[i++ % queries.Length];
                var results = i % 3 == 0 ? index.Search(query, 10, 32, slot => slot % 2 == 0) : index.Search(query, 10, 32);
                Assert.True(results.Count is > 0 and <= 10);
                Assert.Equal(results.Count, results.Select(x => x.Slot).Distinct().Count());
                for (var j = 0; j < results.Count; j++)
                {
                    Assert.InRange(results[j].Slot, 0, index.Count - 1);
                    Assert.Equal(DistanceKernels.Score(DistanceMetric.L2, query, arena[results[j].Slot]), results[j].Score, 3);
                    Assert.True(j == 0 || results[j - 1].Score >= results[j].Score);
                    Assert.True(i % 3 != 0 || results[j].Slot % 2 == 0);
                }

                Interlocked.Increment(ref searches);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        // Start writing only once both readers are searching, so the writes really overlap with reads.
        var started = DateTime.UtcNow;
        while (Volatile.Read(ref searches) < 2 && DateTime.UtcNow - started < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1);
        }

        var searchesBeforeWrites = Volatile.Read(ref searches);

        for (var slot = 500; slot < source.Count; slot++)
        {
            index.Add(arena.Add(source[slot]));
            if (slot % 7 == 0)
            {
                index.Delete(slot - 300);
                Assert.DoesNotContain(index.Search(arena[slot - 300], 10, 32), r => r.Slot == slot - 300);
            }
        }

        done.Cancel();
        await Task.WhenAll(readers);
        Assert.True(searches > searchesBeforeWrites, $"{searches} searches, {searchesBeforeWrites} before the writes");
        Assert.Equal(source.Count, index.Count);
    }

    [Fact]
    public void ParametersEdgesAndEmptyIndex()
    {
        Assert.Equal("M", Assert.Throws<ArgumentException>(() => new HnswParameters(M: 1).Validate()).ParamName);
        Assert.Equal("M", Assert.Throws<ArgumentException>(() => new HnswParameters(M: 129).Validate()).ParamName);
        Assert.Equal("EfConstruction", Assert.Throws<ArgumentException>(() => new HnswParameters(M: 16, EfConstruction: 8).Validate()).ParamName);
        Assert.Equal("Ef", Assert.Throws<ArgumentException>(() => new HnswParameters(Ef: 0).Validate()).ParamName);

        var arena = new VectorArena(4);
        var index = new HnswIndex(arena, DistanceMetric.Dot, new HnswParameters());
        Assert.Empty(index.Search([1, 0, 0, 0], 5, 10));
        Assert.Empty(HnswIndex.Load(new MemoryStream(SaveToArray(index)), arena).Search([1, 0, 0, 0], 5, 10));

        arena.Add([1, 0, 0, 0]);
        arena.Add([0, 1, 0, 0]);
        arena.Add([0, 0, 1, 0]);
        index.Add(0);
        index.Add(2); // slot 1 was skipped: it becomes a tombstone
        Assert.True(index.IsDeleted(1));
        Assert.Throws<ArgumentException>(() => index.Add(2));
        Assert.Equal([2, 0], index.Search([0, 0.5f, 1, 0], 5, 10).Select(r => r.Slot));
        Assert.Empty(index.Search([1, 0, 0, 0], 0, 10));
        Assert.Throws<ArgumentException>(() => index.Search([1, 0, 0], 5, 10));
        Assert.True(index.MemoryBytes > 0);
    }

    private static (VectorArena Arena, HnswIndex Index) Build(DistanceMetric metric, int count, int dimension, int seed)
    {
        var arena = HnswTestData.Clustered(count, dimension, clusters: 50, seed, normalise: metric == DistanceMetric.Cosine);
        var index = new HnswIndex(arena, metric, new HnswParameters(M: 16, EfConstruction: 100));
        for (var slot = 0; slot < arena.Count; slot++)
        {
            index.Add(slot);
        }

        return (arena, index);
    }

    private static byte[] SaveToArray(HnswIndex index)
    {
        using var stream = new MemoryStream();
        index.Save(stream);
        return stream.ToArray();
    }

    /// <summary>A forward-only view of the first <c>length</c> bytes, to test truncation without seeking.</summary>
    private sealed class NonSeekableStream(byte[] data, int length) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = Math.Min(count, length - _position);
            Array.Copy(data, _position, buffer, offset, read);
            _position += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
