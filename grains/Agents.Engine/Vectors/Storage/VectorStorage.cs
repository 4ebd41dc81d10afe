using Npgsql;

namespace Agents.Engine.Vectors.Storage;

/// <summary>Where a silo keeps collections: files under the data directory when embedded, PostgreSQL in a cluster.</summary>
public sealed class VectorStorage : IAsyncDisposable
{
    private readonly Func<string, int, int, CancellationToken, Task<IShardStore>> _openShard;
    private readonly IAsyncDisposable? _owned;

    private VectorStorage(ICollectionCatalog catalog, Func<string, int, int, CancellationToken, Task<IShardStore>> openShard, string describe, IAsyncDisposable? owned, string mappedDirectory)
    {
        Catalog = catalog;
        MappedDirectory = mappedDirectory;
        _openShard = openShard;
        Description = describe;
        _owned = owned;
    }

    /// <summary>The catalogue of collection schemas.</summary>
    public ICollectionCatalog Catalog { get; }

    /// <summary>Where quantized shards keep their full vectors in memory-mapped scratch files (a cache, never read back).</summary>
    public string MappedDirectory { get; }

    /// <summary>Where the data lives, without secrets.</summary>
    public string Description { get; }

    /// <summary>Files under <paramref name="dataDirectory"/>/collections, fsync'd before an upsert is acknowledged.</summary>
    public static VectorStorage Files(string dataDirectory)
    {
        var root = Path.Combine(dataDirectory, "collections");
        Directory.CreateDirectory(root);
        return new VectorStorage(
            new FileCollectionCatalog(root),
            (collection, shard, dimension, _) => Task.FromResult<IShardStore>(FileShardStore.Open(root, collection, shard, dimension)),
            root,
            null,
            Path.Combine(dataDirectory, "mapped"));
    }

    /// <summary>
    /// Tables in the cluster's PostgreSQL database (binary COPY for upserts); <paramref name="dataDirectory"/> is the
    /// silo's local directory for memory-mapped scratch files; <paramref name="description"/> names the database without secrets.
    /// </summary>
    public static VectorStorage Postgres(string connectionString, string description, string dataDirectory)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        return new VectorStorage(
            new PostgresCollectionCatalog(dataSource),
            (collection, shard, dimension, _) => Task.FromResult<IShardStore>(new PostgresShardStore(dataSource, collection, shard, dimension)),
            description,
            dataSource,
            Path.Combine(dataDirectory, "mapped"));
    }

    /// <summary>Opens one shard's store.</summary>
    public Task<IShardStore> OpenShardAsync(string collection, int shard, int dimension, CancellationToken cancellationToken = default) =>
        _openShard(collection, shard, dimension, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_owned is not null)
        {
            await _owned.DisposeAsync();
        }
    }
}
