using System.Data;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Npgsql;
using NpgsqlTypes;

namespace Agents.Engine.Vectors.Storage;

/// <summary>
/// Cluster-mode shard storage: rows of <c>agents_vector_points</c> and <c>agents_vector_snapshots</c> (see
/// <c>deploy/sql/postgresql-vectors.sql</c>), so a shard reactivated on another silo finds its points. Every write is
/// one committed transaction, durable under the server's <c>synchronous_commit</c> when the task completes.
/// </summary>
public sealed class PostgresShardStore : IShardStore
{
    /// <summary>Rows per page of <see cref="LoadAsync"/>; a LIMIT keeps the planner on the primary key's order instead of a sort.</summary>
    internal const int LoadPageSize = 16384;

    private const string CreateStage =
        "CREATE TEMP TABLE agents_vector_stage (id text NOT NULL, vector bytea NOT NULL, payload bytea NOT NULL) ON COMMIT DROP";

    private const string CopyStage = "COPY agents_vector_stage (id, vector, payload) FROM STDIN (FORMAT BINARY)";

    private const string MergeStage = """
        INSERT INTO agents_vector_points (collection, shard, id, vector, payload)
        SELECT @collection, @shard, id, vector, payload FROM agents_vector_stage
        ON CONFLICT (collection, shard, id) DO UPDATE SET vector = EXCLUDED.vector, payload = EXCLUDED.payload
        """;

    private const string DeleteIds =
        "DELETE FROM agents_vector_points WHERE collection = @collection AND shard = @shard AND id = ANY(@ids)";

    private const string FirstPage = """
        SELECT id, vector, payload FROM agents_vector_points
        WHERE collection = @collection AND shard = @shard
        ORDER BY id LIMIT @limit
        """;

    private const string NextPage = """
        SELECT id, vector, payload FROM agents_vector_points
        WHERE collection = @collection AND shard = @shard AND id > @after
        ORDER BY id LIMIT @limit
        """;

    private const string UpsertSnapshot = """
        INSERT INTO agents_vector_snapshots (collection, shard, snapshot, points_covered, saved_at)
        VALUES (@collection, @shard, @snapshot, @points_covered, now())
        ON CONFLICT (collection, shard) DO UPDATE
        SET snapshot = EXCLUDED.snapshot, points_covered = EXCLUDED.points_covered, saved_at = EXCLUDED.saved_at
        """;

    private const string SelectSnapshot =
        "SELECT snapshot, points_covered FROM agents_vector_snapshots WHERE collection = @collection AND shard = @shard";

    private const string DropShard = """
        DELETE FROM agents_vector_points WHERE collection = @collection AND shard = @shard;
        DELETE FROM agents_vector_snapshots WHERE collection = @collection AND shard = @shard
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _collection;
    private readonly int _shard;
    private readonly int _dimension;
    private bool _closed;

    /// <summary>The store of shard <paramref name="shard"/> of <paramref name="collection"/>, whose vectors have <paramref name="dimension"/> floats.</summary>
    public PostgresShardStore(NpgsqlDataSource dataSource, string collection, int shard, int dimension)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        StorageValidation.Collection(collection);
        StorageValidation.Shard(shard);
        StorageValidation.Dimension(dimension);
        if (!BitConverter.IsLittleEndian)
        {
            // The vector column holds little-endian float32 bytes copied straight from memory.
            throw new PlatformNotSupportedException("The vector store writes little-endian floats and needs a little-endian host.");
        }

        _dataSource = dataSource;
        _collection = collection;
        _shard = shard;
        _dimension = dimension;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Binary COPY into a temporary table, then one INSERT ... ON CONFLICT into the points, in one transaction: COPY is
    /// the fast path into PostgreSQL but cannot upsert, and the transaction makes the batch all-or-nothing.
    /// </remarks>
    public async Task AppendUpsertsAsync(IReadOnlyList<StoredPoint> points, CancellationToken cancellationToken = default)
    {
        StorageValidation.Points(points, _dimension);
        ThrowIfClosed();
        if (points.Count == 0)
        {
            return;
        }

        // One array for the whole batch's vector bytes; each row writes a slice of it.
        var vectorBytes = _dimension * sizeof(float);
        var vectors = GC.AllocateUninitializedArray<byte>(checked(points.Count * vectorBytes));
        for (var i = 0; i < points.Count; i++)
        {
            MemoryMarshal.AsBytes(points[i].Vector.AsSpan()).CopyTo(vectors.AsSpan(i * vectorBytes));
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand(CreateStage, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var writer = await connection.BeginBinaryImportAsync(CopyStage, cancellationToken))
        {
            for (var i = 0; i < points.Count; i++)
            {
                var point = points[i];
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(point.Id, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(new ArraySegment<byte>(vectors, i * vectorBytes, vectorBytes), NpgsqlDbType.Bytea, cancellationToken);
                await writer.WriteAsync(point.Payload, NpgsqlDbType.Bytea, cancellationToken);
            }

            await writer.CompleteAsync(cancellationToken);
        }

        await using (var merge = new NpgsqlCommand(MergeStage, connection, transaction))
        {
            AddKey(merge);
            await merge.ExecuteNonQueryAsync(cancellationToken);
        }

        // Not cancellable: a cancelled COMMIT leaves the caller unsure whether the batch is durable.
        await transaction.CommitAsync(CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task AppendDeletesAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        var unique = StorageValidation.Ids(ids);
        ThrowIfClosed();
        if (unique.Length == 0)
        {
            return;
        }

        // A single statement in autocommit is its own transaction: all ids or none.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(DeleteIds, connection);
        AddKey(command);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = unique });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Pages by id in one REPEATABLE READ transaction, so the pages form one consistent snapshot of the shard and each
    /// page is an index range scan rather than a sort of the whole shard. Rows are yielded as they are read.
    /// </remarks>
    public async IAsyncEnumerable<StoredPoint> LoadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var vectorBytes = _dimension * sizeof(float);
        string? after = null;
        while (true)
        {
            var rows = 0;
            await using (var command = new NpgsqlCommand(after is null ? FirstPage : NextPage, connection, transaction))
            {
                AddKey(command);
                command.Parameters.Add(new NpgsqlParameter<int>("limit", NpgsqlDbType.Integer) { TypedValue = LoadPageSize });
                if (after is not null)
                {
                    command.Parameters.Add(new NpgsqlParameter<string>("after", NpgsqlDbType.Text) { TypedValue = after });
                }

                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var id = reader.GetString(0);
                    var vector = GC.AllocateUninitializedArray<float>(_dimension);
                    await using (var stream = reader.GetStream(1))
                    {
                        // Straight from the row buffer into the float array: no intermediate byte[] per vector.
                        var read = stream.ReadAtLeast(MemoryMarshal.AsBytes(vector.AsSpan()), vectorBytes, throwOnEndOfStream: false);
                        if (read != vectorBytes || stream.ReadByte() != -1)
                        {
                            throw new InvalidDataException($"Point '{id}' of shard {_collection}/{_shard} does not hold a vector of dimension {_dimension} ({vectorBytes} bytes).");
                        }
                    }

                    rows++;
                    after = id;
                    yield return new StoredPoint(id, vector, reader.GetFieldValue<byte[]>(2));
                }
            }

            if (rows < LoadPageSize)
            {
                break;
            }
        }
    }

    /// <inheritdoc />
    public async Task SaveSnapshotAsync(ReadOnlyMemory<byte> snapshot, long pointsCovered, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pointsCovered);
        ThrowIfClosed();
        var bytes = MemoryMarshal.TryGetArray(snapshot, out var segment) ? segment : new ArraySegment<byte>(snapshot.ToArray());
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(UpsertSnapshot, connection);
        AddKey(command);
        command.Parameters.Add(new NpgsqlParameter<ArraySegment<byte>>("snapshot", NpgsqlDbType.Bytea) { TypedValue = bytes });
        command.Parameters.Add(new NpgsqlParameter<long>("points_covered", NpgsqlDbType.Bigint) { TypedValue = pointsCovered });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async Task<(byte[] Snapshot, long PointsCovered)?> LoadSnapshotAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(SelectSnapshot, connection);
        AddKey(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return (reader.GetFieldValue<byte[]>(0), reader.GetInt64(1));
    }

    /// <inheritdoc />
    public async Task DropAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(DropShard, connection, transaction))
        {
            AddKey(command);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(CancellationToken.None);
        _closed = true;
    }

    /// <inheritdoc />
    /// <remarks>The data source is the caller's (shared by all shards of a silo), so it is not disposed here.</remarks>
    public ValueTask DisposeAsync()
    {
        _closed = true;
        return ValueTask.CompletedTask;
    }

    private void AddKey(NpgsqlCommand command)
    {
        command.Parameters.Add(new NpgsqlParameter<string>("collection", NpgsqlDbType.Text) { TypedValue = _collection });
        command.Parameters.Add(new NpgsqlParameter<int>("shard", NpgsqlDbType.Integer) { TypedValue = _shard });
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);
}
