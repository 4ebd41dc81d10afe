namespace Agents.Engine.Vectors.Storage;

/// <summary>One point as kept by a shard's store: its id, its vector and its JSON payload (UTF-8 bytes, possibly empty).</summary>
/// <param name="Id">The point's id (1-256 characters).</param>
/// <param name="Vector">The point's vector; its length is the collection's dimension.</param>
/// <param name="Payload">The JSON payload as UTF-8 bytes; empty when the point has none.</param>
public sealed record StoredPoint(string Id, float[] Vector, byte[] Payload);

/// <summary>
/// The durable state of one shard ("collection/shardIndex"): its points and an optional index snapshot. Every write
/// is all-or-nothing and durable when its task completes, so a shard acknowledges only what survives a restart.
/// </summary>
public interface IShardStore : IAsyncDisposable
{
    /// <summary>Adds or replaces <paramref name="points"/>; durable when it returns, and all-or-nothing.</summary>
    Task AppendUpsertsAsync(IReadOnlyList<StoredPoint> points, CancellationToken cancellationToken = default);

    /// <summary>Removes the points with <paramref name="ids"/> (absent ids are ignored); durable when it returns, and all-or-nothing.</summary>
    Task AppendDeletesAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default);

    /// <summary>The live points (last upsert wins, deletes applied), in a stable order (by id).</summary>
    IAsyncEnumerable<StoredPoint> LoadAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the shard's index snapshot: opaque bytes built over <paramref name="pointsCovered"/> points.</summary>
    Task SaveSnapshotAsync(ReadOnlyMemory<byte> snapshot, long pointsCovered, CancellationToken cancellationToken = default);

    /// <summary>The last saved index snapshot, or null when there is none (or, in the file store, when it is damaged).</summary>
    Task<(byte[] Snapshot, long PointsCovered)?> LoadSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes every point and the snapshot of this shard; the store cannot be used afterwards.</summary>
    Task DropAsync(CancellationToken cancellationToken = default);
}
