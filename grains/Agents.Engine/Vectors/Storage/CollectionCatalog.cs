using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Agents.Engine.Vectors.Storage;

/// <summary>The schema of one collection as kept in the catalogue, so collections survive restarts.</summary>
/// <param name="Name">The collection's name (also its directory name in embedded mode).</param>
/// <param name="Dimension">Floats per vector.</param>
/// <param name="Metric">The distance metric's name.</param>
/// <param name="Shards">How many shards the collection is split into.</param>
/// <param name="Index">The index kind's name.</param>
/// <param name="M">HNSW links per node.</param>
/// <param name="EfConstruction">HNSW candidate list size while building.</param>
/// <param name="Ef">HNSW candidate list size while searching.</param>
/// <param name="Quantize">Whether vectors are quantised in the index.</param>
/// <param name="CreatedAt">When the collection was created (PostgreSQL keeps microseconds).</param>
/// <param name="TextFields">Payload fields indexed for keyword search; null or empty for none (and in records written before there were any).</param>
public sealed record CollectionRecord(
    string Name, int Dimension, string Metric, int Shards, string Index, int M, int EfConstruction, int Ef, bool Quantize, DateTimeOffset CreatedAt,
    string[]? TextFields = null)
{
    /// <summary>Equal records: every field, text fields compared in order (null and empty alike).</summary>
    public bool Equals(CollectionRecord? other) =>
        other is not null && Name == other.Name && Dimension == other.Dimension && Metric == other.Metric && Shards == other.Shards
        && Index == other.Index && M == other.M && EfConstruction == other.EfConstruction && Ef == other.Ef && Quantize == other.Quantize
        && CreatedAt == other.CreatedAt && (TextFields ?? []).AsSpan().SequenceEqual(other.TextFields ?? []);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Dimension, Metric, Shards, Index, CreatedAt, TextFields?.Length ?? 0);
}

/// <summary>The durable list of collections and their schemas.</summary>
public interface ICollectionCatalog
{
    /// <summary>Records <paramref name="r"/>; false (and nothing changed) when a collection of that name exists.</summary>
    Task<bool> TryCreateAsync(CollectionRecord r, CancellationToken cancellationToken = default);

    /// <summary>The collection named <paramref name="name"/>, or null.</summary>
    Task<CollectionRecord?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every collection, ordered by name.</summary>
    Task<IReadOnlyList<CollectionRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes the collection and whatever shard data is left under it; false when it did not exist.</summary>
    Task<bool> DropAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>
/// Embedded-mode catalogue: <c>&lt;dir&gt;/&lt;name&gt;/collection.json</c> per collection, beside the shard logs of
/// <see cref="FileShardStore"/>, each written atomically (temp file, fsync, rename, fsync of the directory).
/// </summary>
public sealed class FileCollectionCatalog : ICollectionCatalog
{
    private const string RecordFile = "collection.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _directory;

    /// <summary>A catalogue under <paramref name="directory"/> (created if missing).</summary>
    public FileCollectionCatalog(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    /// <inheritdoc />
    public async Task<bool> TryCreateAsync(CollectionRecord r, CancellationToken cancellationToken = default)
    {
        Validate(r);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(r, Json);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var dir = Path.Combine(_directory, r.Name);
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, RecordFile);
            if (File.Exists(path))
            {
                return false;
            }

            // Shard files without a record are from a drop that crashed half-way; a new collection must not inherit them.
            foreach (var stale in Directory.EnumerateFiles(dir, "shard-*"))
            {
                File.Delete(stale);
            }

            return DurableFile.TryCreate(path, bytes);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<CollectionRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageValidation.Collection(name);
        return await ReadAsync(Path.Combine(_directory, name, RecordFile), cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CollectionRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<CollectionRecord>();
        foreach (var dir in Directory.EnumerateDirectories(_directory))
        {
            if (await ReadAsync(Path.Combine(dir, RecordFile), cancellationToken) is { } record)
            {
                records.Add(record);
            }
        }

        records.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return records;
    }

    /// <inheritdoc />
    public async Task<bool> DropAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageValidation.Collection(name);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var dir = Path.Combine(_directory, name);
            var path = Path.Combine(dir, RecordFile);
            if (!File.Exists(path))
            {
                return false;
            }

            // The record goes first (and durably): from then on the collection is gone, whatever happens to its files.
            File.Delete(path);
            DurableFile.FsyncDirectory(dir);
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Leftover shard files are harmless now and are cleared by the next create of this name.
            }

            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<CollectionRecord?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<CollectionRecord>(bytes, Json)
                ?? throw new InvalidDataException($"Collection record '{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Collection record '{path}' is not valid: {e.Message}", e);
        }
    }

    internal static void Validate(CollectionRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        StorageValidation.Collection(r.Name);
        StorageValidation.Dimension(r.Dimension);
        ArgumentOutOfRangeException.ThrowIfLessThan(r.Shards, 1, nameof(r));
        ArgumentNullException.ThrowIfNull(r.Metric, nameof(r));
        ArgumentNullException.ThrowIfNull(r.Index, nameof(r));
    }
}

/// <summary>Cluster-mode catalogue: rows of <c>agents_vector_collections</c> (see <c>deploy/sql/postgresql-vectors.sql</c>).</summary>
public sealed class PostgresCollectionCatalog : ICollectionCatalog
{
    private const string Columns = "name, dimension, metric, shards, index_kind, m, ef_construction, ef, quantize, created_at, text_fields";

    private const string Insert = $"""
        INSERT INTO agents_vector_collections ({Columns})
        VALUES (@name, @dimension, @metric, @shards, @index_kind, @m, @ef_construction, @ef, @quantize, @created_at, @text_fields)
        ON CONFLICT (name) DO NOTHING
        """;

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>A catalogue in the database of <paramref name="dataSource"/> (schema applied by <see cref="VectorSchema.ApplyAsync"/>).</summary>
    public PostgresCollectionCatalog(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <inheritdoc />
    public async Task<bool> TryCreateAsync(CollectionRecord r, CancellationToken cancellationToken = default)
    {
        FileCollectionCatalog.Validate(r);
        await using var command = _dataSource.CreateCommand(Insert);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<string>("name", NpgsqlDbType.Text) { TypedValue = r.Name });
        p.Add(new NpgsqlParameter<int>("dimension", NpgsqlDbType.Integer) { TypedValue = r.Dimension });
        p.Add(new NpgsqlParameter<string>("metric", NpgsqlDbType.Text) { TypedValue = r.Metric });
        p.Add(new NpgsqlParameter<int>("shards", NpgsqlDbType.Integer) { TypedValue = r.Shards });
        p.Add(new NpgsqlParameter<string>("index_kind", NpgsqlDbType.Text) { TypedValue = r.Index });
        p.Add(new NpgsqlParameter<int>("m", NpgsqlDbType.Integer) { TypedValue = r.M });
        p.Add(new NpgsqlParameter<int>("ef_construction", NpgsqlDbType.Integer) { TypedValue = r.EfConstruction });
        p.Add(new NpgsqlParameter<int>("ef", NpgsqlDbType.Integer) { TypedValue = r.Ef });
        p.Add(new NpgsqlParameter<bool>("quantize", NpgsqlDbType.Boolean) { TypedValue = r.Quantize });

        // Npgsql writes timestamptz only from UTC values.
        p.Add(new NpgsqlParameter<DateTimeOffset>("created_at", NpgsqlDbType.TimestampTz) { TypedValue = r.CreatedAt.ToUniversalTime() });
        p.Add(new NpgsqlParameter<string[]>("text_fields", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = r.TextFields ?? [] });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <inheritdoc />
    public async Task<CollectionRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageValidation.Collection(name);
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM agents_vector_collections WHERE name = @name");
        command.Parameters.Add(new NpgsqlParameter<string>("name", NpgsqlDbType.Text) { TypedValue = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CollectionRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM agents_vector_collections");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<CollectionRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(Read(reader));
        }

        // Sorted here, not by ORDER BY, so the order is ordinal whatever the database's collation.
        records.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return records;
    }

    /// <inheritdoc />
    public async Task<bool> DropAsync(string name, CancellationToken cancellationToken = default)
    {
        StorageValidation.Collection(name);

        // The record and every row of the collection go in one transaction, so no points outlive their schema.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var sql in (string[])["DELETE FROM agents_vector_collections WHERE name = $1",
                     "DELETE FROM agents_vector_points WHERE collection = $1",
                     "DELETE FROM agents_vector_snapshots WHERE collection = $1"])
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = name });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(CancellationToken.None);
        return batch.BatchCommands[0].RecordsAffected > 0;
    }

    private static CollectionRecord Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetInt32(1),
        reader.GetString(2),
        reader.GetInt32(3),
        reader.GetString(4),
        reader.GetInt32(5),
        reader.GetInt32(6),
        reader.GetInt32(7),
        reader.GetBoolean(8),
        reader.GetFieldValue<DateTimeOffset>(9),
        reader.GetFieldValue<string[]>(10) is { Length: > 0 } fields ? fields : null);
}
