using Agents.Engine.Vectors.Storage;
using Agents.Tests.Infrastructure;
using Npgsql;
using static Agents.Tests.Vectors.StorageTestData;

namespace Agents.Tests.Vectors;

/// <summary>The cluster-mode stores against a real PostgreSQL; each test has a database of its own.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class StoragePostgresTests(PostgresServer server)
{
    private const int Dim = 24;

    private async Task<NpgsqlDataSource> NewDatabaseAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await VectorSchema.ApplyAsync(dataSource);
        return dataSource;
    }

    [Fact]
    public async Task SchemaCanBeAppliedAgainAndConcurrently()
    {
        await using var dataSource = await NewDatabaseAsync();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => VectorSchema.ApplyAsync(dataSource)));
        await using var command = dataSource.CreateCommand(
            "SELECT count(*) FROM pg_tables WHERE tablename IN ('agents_vector_points', 'agents_vector_snapshots', 'agents_vector_collections')");
        Assert.Equal(3L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task UpsertsAreReadBackByANewStoreWithExactFloatsAndPayloads()
    {
        await using var dataSource = await NewDatabaseAsync();
        var batches = new List<StoredPoint>[] { Batch("a", 50, Dim, 1), Batch("b", 50, Dim, 2), [Point("ключ-☃-" + new string('x', 240), Dim, 7, "{}")] };
        await using (var store = new PostgresShardStore(dataSource, "docs", 0, Dim))
        {
            foreach (var batch in batches)
            {
                await store.AppendUpsertsAsync(batch);
            }
        }

        // Neighbours in the same tables must not leak into this shard.
        await using (var otherShard = new PostgresShardStore(dataSource, "docs", 1, Dim))
        await using (var otherCollection = new PostgresShardStore(dataSource, "images", 0, 4))
        {
            await otherShard.AppendUpsertsAsync([Point("a-1", Dim, 99)]);
            await otherCollection.AppendUpsertsAsync([Point("a-2", 4, 98)]);
        }

        await using var reactivated = new PostgresShardStore(dataSource, "docs", 0, Dim);
        AssertSamePoints(batches.SelectMany(b => b), await DrainAsync(reactivated.LoadAsync()));
    }

    [Fact]
    public async Task UpsertOverwritesAndDeleteRemoves()
    {
        await using var dataSource = await NewDatabaseAsync();
        var first = Batch("p", 40, Dim, 1);
        var second = Batch("p", 20, Dim, 2);
        string[] deleted = ["p-30", "p-31", "p-31", "p-5", "never-existed"];
        await using (var store = new PostgresShardStore(dataSource, "docs", 3, Dim))
        {
            await store.AppendUpsertsAsync(first);
            await store.AppendUpsertsAsync(second);
            await store.AppendDeletesAsync(deleted);
            await store.AppendDeletesAsync([]);
        }

        await using var reactivated = new PostgresShardStore(dataSource, "docs", 3, Dim);
        AssertSamePoints(Live(first.Concat(second), deleted), await DrainAsync(reactivated.LoadAsync()));
    }

    [Fact]
    public async Task LoadPagesThroughALargeShardInIdOrder()
    {
        await using var dataSource = await NewDatabaseAsync();
        var points = Batch("p", 20_000, 4, 3);
        await using var store = new PostgresShardStore(dataSource, "docs", 0, 4);
        await store.AppendUpsertsAsync(points);
        var loaded = await DrainAsync(store.LoadAsync());
        AssertSamePoints(points, loaded);

        // ASCII ids: the database's collation and ordinal order agree, so this checks the paging kept the order.
        AssertOrdinalOrder(loaded);
    }

    [Fact]
    public async Task SnapshotRoundTripsAndIsReplaced()
    {
        await using var dataSource = await NewDatabaseAsync();
        var bytes = new byte[300_000];
        new Random(5).NextBytes(bytes);
        await using (var store = new PostgresShardStore(dataSource, "docs", 0, Dim))
        {
            Assert.Null(await store.LoadSnapshotAsync());
            await store.SaveSnapshotAsync(new byte[] { 1, 2, 3 }, 3);
            await store.SaveSnapshotAsync(new ReadOnlyMemory<byte>(bytes, 10, bytes.Length - 10), 123);
        }

        await using var reactivated = new PostgresShardStore(dataSource, "docs", 0, Dim);
        var loaded = await reactivated.LoadSnapshotAsync();
        Assert.Equal(bytes[10..], loaded!.Value.Snapshot);
        Assert.Equal(123, loaded.Value.PointsCovered);
        Assert.Null(await new PostgresShardStore(dataSource, "docs", 1, Dim).LoadSnapshotAsync());
    }

    [Fact]
    public async Task DuplicateIdsInOneBatchAreRejectedWithNothingWritten()
    {
        await using var dataSource = await NewDatabaseAsync();
        var kept = Batch("a", 5, Dim, 1);
        await using var store = new PostgresShardStore(dataSource, "docs", 0, Dim);
        await store.AppendUpsertsAsync(kept);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point("x", Dim, 1), Point("a-1", Dim, 2), Point("x", Dim, 3)]));
        Assert.Contains("'x'", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendUpsertsAsync([Point("y", Dim - 1, 1)]));
        AssertSamePoints(kept, await DrainAsync(store.LoadAsync()));
    }

    [Fact]
    public async Task ABatchWhoseConnectionDiesMidwayLeavesNothingWritten()
    {
        await using var dataSource = await NewDatabaseAsync();
        var kept = Batch("p", 10, Dim, 1);
        await using var store = new PostgresShardStore(dataSource, "docs", 0, Dim);
        await store.AppendUpsertsAsync(kept);

        // The server kills its own connection when the merge reaches the row 'boom', after it has already written
        // (and overwritten) earlier rows of the same batch.
        await using (var trigger = dataSource.CreateCommand("""
            CREATE FUNCTION test_kill_on_boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id = 'boom' THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                    PERFORM pg_sleep(5);
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_kill_on_boom BEFORE INSERT OR UPDATE ON agents_vector_points
                FOR EACH ROW EXECUTE FUNCTION test_kill_on_boom();
            """))
        {
            await trigger.ExecuteNonQueryAsync();
        }

        var doomed = Batch("p", 10, Dim, 2).Concat(Batch("new", 500, Dim, 3)).ToList();
        doomed.Insert(300, Point("boom", Dim, 4));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => store.AppendUpsertsAsync(doomed));

        AssertSamePoints(kept, await DrainAsync(store.LoadAsync()));
        await using var count = dataSource.CreateCommand("SELECT count(*) FROM agents_vector_points");
        Assert.Equal(10L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task DropRemovesOnlyThisShard()
    {
        await using var dataSource = await NewDatabaseAsync();
        await using (var other = new PostgresShardStore(dataSource, "docs", 1, Dim))
        {
            await other.AppendUpsertsAsync([Point("o", Dim, 1)]);
        }

        await using (var store = new PostgresShardStore(dataSource, "docs", 0, Dim))
        {
            await store.AppendUpsertsAsync(Batch("p", 10, Dim, 1));
            await store.SaveSnapshotAsync(new byte[] { 1 }, 1);
            await store.DropAsync();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendUpsertsAsync([Point("q", Dim, 1)]));
        }

        await using var fresh = new PostgresShardStore(dataSource, "docs", 0, Dim);
        Assert.Empty(await DrainAsync(fresh.LoadAsync()));
        Assert.Null(await fresh.LoadSnapshotAsync());
        AssertSamePoints([Point("o", Dim, 1)], await DrainAsync(new PostgresShardStore(dataSource, "docs", 1, Dim).LoadAsync()));
    }

    [Fact]
    public async Task CatalogCreateGetListDropAndCreateIsNotRepeated()
    {
        await using var dataSource = await NewDatabaseAsync();
        var catalog = new PostgresCollectionCatalog(dataSource);
        Assert.Null(await catalog.GetAsync("docs"));
        Assert.True(await catalog.TryCreateAsync(Record("docs", dimension: 4)));
        var local = new DateTimeOffset(2025, 6, 1, 10, 0, 0, TimeSpan.FromHours(2)).AddTicks(1230);
        Assert.True(await catalog.TryCreateAsync(Record("b-images", dimension: 512, shards: 2) with { Quantize = true, CreatedAt = local, TextFields = ["title", "text"] }));
        Assert.False(await catalog.TryCreateAsync(Record("docs", dimension: 8)));
        var races = await Task.WhenAll(Enumerable.Range(1, 6).Select(i => catalog.TryCreateAsync(Record("race", dimension: i))));
        Assert.Single(races, r => r);

        var restarted = new PostgresCollectionCatalog(dataSource);
        Assert.Equal(Record("docs", dimension: 4), await restarted.GetAsync("docs"));
        var list = await restarted.ListAsync();
        Assert.Equal(new[] { "b-images", "docs", "race" }, list.Select(r => r.Name));
        Assert.Equal(local, list[0].CreatedAt);
        Assert.True(list[0].Quantize);
        Assert.Equal(["title", "text"], list[0].TextFields!);
        Assert.Null(list[1].TextFields);
        Assert.Equal(512, list[0].Dimension);

        await using (var shard = new PostgresShardStore(dataSource, "docs", 0, 4))
        {
            await shard.AppendUpsertsAsync([Point("p", 4, 1)]);
            await shard.SaveSnapshotAsync(new byte[] { 1 }, 1);
        }

        Assert.True(await restarted.DropAsync("docs"));
        Assert.False(await restarted.DropAsync("docs"));
        Assert.Null(await restarted.GetAsync("docs"));
        Assert.Empty(await DrainAsync(new PostgresShardStore(dataSource, "docs", 0, 4).LoadAsync()));
        Assert.Null(await new PostgresShardStore(dataSource, "docs", 0, 4).LoadSnapshotAsync());
        Assert.True(await restarted.TryCreateAsync(Record("docs", dimension: 8)));
    }
}
