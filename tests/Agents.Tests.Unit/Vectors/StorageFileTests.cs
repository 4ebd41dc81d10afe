using System.Runtime.CompilerServices;
using System.Text;
using Agents.Engine.Vectors.Storage;
using static Agents.Tests.Vectors.StorageTestData;

namespace Agents.Tests.Vectors;

/// <summary>The embedded-mode shard log: durability across reopen, torn-tail recovery, corruption, compaction, snapshots.</summary>
public sealed class StorageFileShardStoreTests : IDisposable
{
    private const int Dim = 16;
    private const int LogHeaderSize = 12;
    private readonly StorageTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string LogPath(string collection = "docs", int shard = 0) => Path.Combine(_dir.Path, collection, $"shard-{shard}.log");

    private FileShardStore Open(string collection = "docs", int shard = 0, int dimension = Dim) =>
        FileShardStore.Open(_dir.Path, collection, shard, dimension);

    [Fact]
    public async Task ReopenReturnsEveryPointWithExactFloatsAndPayloads()
    {
        var batches = new List<StoredPoint>[] { Batch("a", 50, Dim, 1), Batch("b", 50, Dim, 2), [Point("ключ-☃-" + new string('x', 240), Dim, 7, "{}"), Point("e", Dim, 8)] };
        await using (var store = Open())
        {
            foreach (var batch in batches)
            {
                await store.AppendUpsertsAsync(batch);
            }
        }

        await using var reopened = Open();
        var loaded = await DrainAsync(reopened.LoadAsync());
        Assert.Equal(0, reopened.RecoveredTornBytes);
        Assert.Equal(102, reopened.LiveCount);
        AssertSamePoints(batches.SelectMany(b => b), loaded);
        AssertOrdinalOrder(loaded);
    }

    [Fact]
    public async Task UpsertOfAnExistingIdReplacesIt()
    {
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync([Point("p", Dim, 1, """{"v":1}"""), Point("q", Dim, 2)]);
            await store.AppendUpsertsAsync([Point("p", Dim, 3, """{"v":2}""")]);
        }

        await using var reopened = Open();
        AssertSamePoints([Point("p", Dim, 3, """{"v":2}"""), Point("q", Dim, 2)], await DrainAsync(reopened.LoadAsync()));
        Assert.Equal(1, reopened.DeadEntries);
    }

    [Fact]
    public async Task DeleteIsDurableAndUnknownIdsAreIgnored()
    {
        var points = Batch("a", 20, Dim, 1);
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(points);
            await store.AppendDeletesAsync(["a-3", "a-4", "a-4", "never-existed"]);
            Assert.Equal(18, store.LiveCount);
        }

        await using var reopened = Open();
        AssertSamePoints(Live(points, ["a-3", "a-4"]), await DrainAsync(reopened.LoadAsync()));
    }

    [Fact]
    public async Task TornTailTruncatedMidRecordRecoversTheAcknowledgedPrefix()
    {
        var a = Batch("a", 30, Dim, 1);
        var b = Batch("b", 30, Dim, 2);
        long afterB, afterC;
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(a);
            await store.AppendDeletesAsync(["a-0"]);
            await store.AppendUpsertsAsync(b);
            afterB = store.LogLength;
            await store.AppendUpsertsAsync(Batch("c", 30, Dim, 3));
            afterC = store.LogLength;
        }

        // A crash half-way through the last append: its record is cut short.
        var cut = afterB + (afterC - afterB) / 2;
        await using (var file = new FileStream(LogPath(), FileMode.Open))
        {
            file.SetLength(cut);
        }

        var d = Batch("d", 5, Dim, 4);
        await using (var recovered = Open())
        {
            Assert.Equal(cut - afterB, recovered.RecoveredTornBytes);
            Assert.Equal(afterB, new FileInfo(LogPath()).Length);
            AssertSamePoints(Live(a.Concat(b), ["a-0"]), await DrainAsync(recovered.LoadAsync()));

            // Appends after recovery go where the torn record was, so the log stays clean.
            await recovered.AppendUpsertsAsync(d);
        }

        await using var reopened = Open();
        Assert.Equal(0, reopened.RecoveredTornBytes);
        AssertSamePoints(Live(a.Concat(b).Concat(d), ["a-0"]), await DrainAsync(reopened.LoadAsync()));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public async Task TornTailShortOfARecordHeaderIsCutOff(int extraBytes)
    {
        var a = Batch("a", 10, Dim, 1);
        long length;
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(a);
            length = store.LogLength;
        }

        await using (var file = new FileStream(LogPath(), FileMode.Append))
        {
            file.Write(new byte[] { 1, 0xFF, 0, 0, 0, 0, 0, 0 }.AsSpan(0, extraBytes));
        }

        await using var recovered = Open();
        Assert.Equal(extraBytes, recovered.RecoveredTornBytes);
        AssertSamePoints(a, await DrainAsync(recovered.LoadAsync()));
        Assert.Equal(length, new FileInfo(LogPath()).Length);
    }

    [Fact]
    public async Task TornTailZeroFilledExtensionIsCutOff()
    {
        var a = Batch("a", 10, Dim, 1);
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(a);
        }

        // What a crash can leave when the file size reached the disk but the data did not.
        await using (var file = new FileStream(LogPath(), FileMode.Append))
        {
            file.Write(new byte[5000]);
        }

        await using var recovered = Open();
        Assert.Equal(5000, recovered.RecoveredTornBytes);
        AssertSamePoints(a, await DrainAsync(recovered.LoadAsync()));
    }

    [Fact]
    public async Task TornTailLastRecordWithBadChecksumIsCutOff()
    {
        var a = Batch("a", 10, Dim, 1);
        long afterA, afterB;
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(a);
            afterA = store.LogLength;
            await store.AppendUpsertsAsync(Batch("b", 10, Dim, 2));
            afterB = store.LogLength;
        }

        FlipByte(LogPath(), afterA + 40);
        await using var recovered = Open();
        Assert.Equal(afterB - afterA, recovered.RecoveredTornBytes);
        AssertSamePoints(a, await DrainAsync(recovered.LoadAsync()));
    }

    [Fact]
    public async Task CorruptRecordInTheMiddleThrowsNamingFileAndOffset()
    {
        long afterA;
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(Batch("a", 10, Dim, 1));
            afterA = store.LogLength;
            await store.AppendUpsertsAsync(Batch("b", 10, Dim, 2));
            await store.AppendUpsertsAsync(Batch("c", 10, Dim, 3));
        }

        FlipByte(LogPath(), afterA + 100);
        var e = Assert.Throws<InvalidDataException>(() => Open());
        Assert.Contains(LogPath(), e.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {afterA}", e.Message, StringComparison.Ordinal);

        FlipByte(LogPath(), afterA + 100);
        FlipByte(LogPath(), LogHeaderSize + 3);
        e = Assert.Throws<InvalidDataException>(() => Open());
        Assert.Contains($"offset {LogHeaderSize}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompactKeepsExactlyTheLivePoints()
    {
        var first = Batch("p", 200, Dim, 1);
        var second = Batch("p", 100, Dim, 2);
        var deleted = Enumerable.Range(150, 50).Select(i => $"p-{i}").ToArray();
        var expected = Live(first.Concat(second), deleted);
        long before;
        await using (var store = Open())
        {
            store.MinimumDeadEntriesForCompaction = int.MaxValue;
            await store.AppendUpsertsAsync(first);
            await store.AppendUpsertsAsync(second);
            await store.AppendDeletesAsync(deleted);
            before = store.LogLength;
            Assert.Equal(200, store.DeadEntries);

            await store.CompactAsync();
            Assert.Equal(0, store.DeadEntries);
            Assert.Equal(150, store.LiveCount);
            Assert.True(store.LogLength < before * 6 / 10, $"log {store.LogLength} bytes after compaction, {before} before");
            AssertSamePoints(expected, await DrainAsync(store.LoadAsync()));

            await store.AppendUpsertsAsync([Point("after", Dim, 9)]);
        }

        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(LogPath())!, "*.tmp"));
        await using var reopened = Open();
        AssertSamePoints(expected.Append(Point("after", Dim, 9)), await DrainAsync(reopened.LoadAsync()));
    }

    [Fact]
    public async Task AppendsCompactTheLogOnceDeadEntriesOutnumberLiveOnes()
    {
        List<StoredPoint> last = [];
        long oneVersion;
        await using (var store = Open())
        {
            store.MinimumDeadEntriesForCompaction = 10;
            await store.AppendUpsertsAsync(Batch("p", 20, Dim, 0));
            oneVersion = store.LogLength;
            for (var round = 1; round <= 7; round++)
            {
                last = Batch("p", 20, Dim, round);
                await store.AppendUpsertsAsync(last);
                Assert.True(store.DeadEntries <= store.LiveCount, $"round {round}: {store.DeadEntries} dead, {store.LiveCount} live");
            }

            Assert.True(store.LogLength <= 2 * oneVersion, $"log {store.LogLength} bytes; one version is {oneVersion}");
            await store.AppendDeletesAsync(last.Select(p => p.Id).ToList());
            Assert.Equal(0, store.LiveCount);
            Assert.Equal(0, store.DeadEntries);
        }

        await using var reopened = Open();
        Assert.Empty(await DrainAsync(reopened.LoadAsync()));
    }

    [Fact]
    public async Task SnapshotRoundTripsAndSurvivesReopen()
    {
        var bytes = new byte[100_000];
        new Random(5).NextBytes(bytes);
        await using (var store = Open())
        {
            Assert.Null(await store.LoadSnapshotAsync());
            await store.SaveSnapshotAsync(new byte[] { 1, 2, 3 }, 3);
            await store.SaveSnapshotAsync(bytes.AsMemory(), 123);
            var loaded = await store.LoadSnapshotAsync();
            Assert.NotNull(loaded);
            Assert.Equal(bytes, loaded.Value.Snapshot);
            Assert.Equal(123, loaded.Value.PointsCovered);
        }

        await using var reopened = Open();
        var again = await reopened.LoadSnapshotAsync();
        Assert.Equal(bytes, again!.Value.Snapshot);
        await reopened.SaveSnapshotAsync(ReadOnlyMemory<byte>.Empty, 0);
        Assert.Empty((await reopened.LoadSnapshotAsync())!.Value.Snapshot);
    }

    [Fact]
    public async Task SnapshotWithACorruptByteFailsItsChecksumAndIsTreatedAsAbsent()
    {
        var bytes = new byte[10_000];
        new Random(6).NextBytes(bytes);
        await using var store = Open();
        await store.SaveSnapshotAsync(bytes, 42);
        var path = Path.Combine(_dir.Path, "docs", "shard-0.snapshot");
        FlipByte(path, 5000);

        // The snapshot is a cache of what the points rebuild: damage costs a re-index, not the shard.
        Assert.Null(await store.LoadSnapshotAsync());
        Assert.Contains("checksum", store.RejectedSnapshotReason, StringComparison.Ordinal);
        Assert.Contains(path, store.RejectedSnapshotReason, StringComparison.Ordinal);

        // A torn snapshot (impossible with rename, but a disk can lose data) is refused too.
        await using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(100);
        }

        Assert.Null(await store.LoadSnapshotAsync());
        Assert.Contains("bytes", store.RejectedSnapshotReason, StringComparison.Ordinal);

        await store.SaveSnapshotAsync(bytes, 43);
        Assert.Equal(bytes, (await store.LoadSnapshotAsync())!.Value.Snapshot);
        Assert.Null(store.RejectedSnapshotReason);
    }

    [Fact]
    public async Task DuplicateIdsInOneBatchAreRejectedWithNothingWritten()
    {
        var kept = Batch("a", 5, Dim, 1);
        await using (var store = Open())
        {
            await store.AppendUpsertsAsync(kept);
            var length = store.LogLength;
            var e = await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point("x", Dim, 1), Point("a-1", Dim, 2), Point("x", Dim, 3)]));
            Assert.Contains("'x'", e.Message, StringComparison.Ordinal);
            Assert.Equal(length, store.LogLength);
            Assert.Equal(length, new FileInfo(LogPath()).Length);
            Assert.Equal(5, store.LiveCount);
        }

        await using var reopened = Open();
        AssertSamePoints(kept, await DrainAsync(reopened.LoadAsync()));
    }

    [Fact]
    public async Task InvalidPointsAreRejectedAndADifferentDimensionCannotOpenTheLog()
    {
        await using (var store = Open())
        {
            await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point("short", Dim - 1, 1)]));
            await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point(new string('x', 257), Dim, 1)]));
            await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point("", Dim, 1)]));
            await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point("bad\uD800", Dim, 1)]));
            await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([new StoredPoint("n", new float[Dim], null!)]));
            await store.AppendUpsertsAsync([Point(new string('x', 256), Dim, 1)]);
        }

        var e = Assert.Throws<InvalidDataException>(() => Open(dimension: Dim * 2));
        Assert.Contains("dimension", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Open(collection: "../escape"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Open(dimension: 4097));
    }

    [Fact]
    public async Task DropDeletesTheShardsFilesAndOtherShardsStay()
    {
        await using (var other = Open(shard: 1))
        {
            await other.AppendUpsertsAsync([Point("o", Dim, 1)]);
        }

        await using (var store = Open())
        {
            await store.AppendUpsertsAsync([Point("p", Dim, 1)]);
            await store.SaveSnapshotAsync(new byte[] { 1 }, 1);
            await store.DropAsync();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendUpsertsAsync([Point("q", Dim, 1)]));
        }

        Assert.False(File.Exists(LogPath()));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "docs", "shard-0.snapshot")));
        await using (var fresh = Open())
        {
            Assert.Empty(await DrainAsync(fresh.LoadAsync()));
            Assert.Null(await fresh.LoadSnapshotAsync());
        }

        await using var kept = Open(shard: 1);
        AssertSamePoints([Point("o", Dim, 1)], await DrainAsync(kept.LoadAsync()));
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        var b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x5A));
    }
}

/// <summary>The embedded-mode collection catalogue.</summary>
public sealed class StorageFileCatalogTests : IDisposable
{
    private readonly StorageTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task CreateGetListDropSurviveARestartAndCreateIsNotRepeated()
    {
        var catalog = new FileCollectionCatalog(_dir.Path);
        Assert.Null(await catalog.GetAsync("docs"));
        Assert.True(await catalog.TryCreateAsync(Record("docs")));
        Assert.True(await catalog.TryCreateAsync(Record("b-images", dimension: 512, shards: 2) with { Quantize = true, CreatedAt = DateTimeOffset.Parse("2025-06-01T10:00:00.1234567+02:00") }));
        Assert.False(await catalog.TryCreateAsync(Record("docs", dimension: 8)));

        var restarted = new FileCollectionCatalog(_dir.Path);
        Assert.Equal(Record("docs"), await restarted.GetAsync("docs"));
        var list = await restarted.ListAsync();
        Assert.Equal(new[] { "b-images", "docs" }, list.Select(r => r.Name));
        Assert.Equal(DateTimeOffset.Parse("2025-06-01T10:00:00.1234567+02:00"), list[0].CreatedAt);
        Assert.True(list[0].Quantize);

        Assert.True(await restarted.DropAsync("docs"));
        Assert.False(await restarted.DropAsync("docs"));
        Assert.Null(await restarted.GetAsync("docs"));
        Assert.Equal(new[] { "b-images" }, (await new FileCollectionCatalog(_dir.Path).ListAsync()).Select(r => r.Name));
        Assert.True(await restarted.TryCreateAsync(Record("docs", dimension: 8)));
        Assert.Equal(8, (await restarted.GetAsync("docs"))!.Dimension);
    }

    [Fact]
    public async Task ConcurrentCreatesExactlyOneWins()
    {
        // Separate instances share no lock, as separate processes would not; many rounds make a lost race likely to show.
        var catalogs = Enumerable.Range(0, 8).Select(_ => new FileCollectionCatalog(_dir.Path)).ToList();
        for (var round = 0; round < 25; round++)
        {
            var name = $"race-{round}";
            var results = await Task.WhenAll(catalogs.Select((c, i) => Task.Run(() => c.TryCreateAsync(Record(name, dimension: i + 1)))));
            Assert.Single(results, r => r);
            Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, name), "*.tmp"));
        }
    }

    [Fact]
    public async Task DropRemovesShardDataLeftUnderTheCollection()
    {
        var catalog = new FileCollectionCatalog(_dir.Path);
        Assert.True(await catalog.TryCreateAsync(Record("docs", dimension: 4)));
        await using (var shard = FileShardStore.Open(_dir.Path, "docs", 0, 4))
        {
            await shard.AppendUpsertsAsync([Point("p", 4, 1)]);
        }

        Assert.True(await catalog.DropAsync("docs"));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "docs")));
        Assert.True(await catalog.TryCreateAsync(Record("docs", dimension: 8)));
        await using var reopened = FileShardStore.Open(_dir.Path, "docs", 0, 8);
        Assert.Empty(await DrainAsync(reopened.LoadAsync()));
    }
}

/// <summary>The SQL file in deploy/ and the script the silo applies must not drift apart.</summary>
public sealed class StorageSchemaScriptTests
{
    [Fact]
    public void EmbeddedScriptIsTheDeployFile()
    {
        var file = Path.Combine(RepositoryRoot(), "deploy", "sql", "postgresql-vectors.sql");
        Assert.Equal(File.ReadAllText(file, Encoding.UTF8).ReplaceLineEndings("\n").TrimEnd(), VectorSchema.Script.ReplaceLineEndings("\n").TrimEnd());
    }

    // The source file's own path, so the check works from any build output folder.
    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", ".."));
}
