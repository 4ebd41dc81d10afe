using System.Runtime.CompilerServices;

namespace Agents.Engine.Vectors.Storage;

/// <summary>
/// Embedded-mode shard storage: an append-only log <c>&lt;dir&gt;/&lt;collection&gt;/shard-&lt;n&gt;.log</c> plus an index
/// snapshot <c>shard-&lt;n&gt;.snapshot</c>.
/// </summary>
/// <remarks>
/// The log's bytes are those of <see cref="ShardLogFormat"/>, replayed on open by <see cref="ShardLogRecovery"/>; the
/// snapshot's are those of <see cref="ShardSnapshotFile"/>; compaction is in <c>FileShardStore.Compaction.cs</c>. One
/// batch is one record, written with one write and one fsync, so a crash leaves either the whole batch or a torn tail
/// that <see cref="Open"/> cuts off.
/// </remarks>
public sealed partial class FileShardStore : IShardStore
{
    // A buffer grown for a huge batch is not kept, so one large upsert does not pin memory for the life of the shard.
    private const int RetainedBufferBytes = 16 << 20;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _directory;
    private readonly string _logPath;
    private readonly string _snapshotPath;
    private readonly int _dimension;
    private readonly HashSet<string> _live;
    private FileStream? _log;
    private long _length;
    private long _entries;
    private byte[] _buffer = [];
    private bool _faulted;
    private bool _dropped;

    private FileShardStore(string directory, string logPath, string snapshotPath, int dimension, FileStream log, HashSet<string> live, long entries, long recoveredTornBytes)
    {
        _directory = directory;
        _logPath = logPath;
        _snapshotPath = snapshotPath;
        _dimension = dimension;
        _log = log;
        _length = log.Length;
        _live = live;
        _entries = entries;
        RecoveredTornBytes = recoveredTornBytes;
    }

    /// <summary>Bytes of an incomplete last record (a crash mid-append) that <see cref="Open"/> cut off; 0 when the log was clean.</summary>
    public long RecoveredTornBytes { get; }

    /// <summary>Points currently live in the shard.</summary>
    public int LiveCount => _live.Count;

    /// <summary>Upserted points and deleted ids in the log that no longer contribute to the live set.</summary>
    public long DeadEntries => _entries - _live.Count;

    /// <summary>Why the last <see cref="LoadSnapshotAsync"/> ignored a damaged snapshot file; null when it did not.</summary>
    public string? RejectedSnapshotReason { get; private set; }

    /// <summary>The log's current size in bytes.</summary>
    public long LogLength => _length;

    /// <summary>
    /// Opens (creating if needed) the log of shard <paramref name="shard"/> of <paramref name="collection"/> under
    /// <paramref name="directory"/>, replaying it to verify every record. A torn tail is truncated and reported in
    /// <see cref="RecoveredTornBytes"/>; a bad record before the end throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static FileShardStore Open(string directory, string collection, int shard, int dimension)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        StorageValidation.Collection(collection);
        StorageValidation.Shard(shard);
        StorageValidation.Dimension(dimension);
        if (!BitConverter.IsLittleEndian)
        {
            // Vectors are stored as the in-memory float bytes; a big-endian host would read them back scrambled.
            throw new PlatformNotSupportedException("The shard log stores little-endian floats and needs a little-endian host.");
        }

        var dir = Path.Combine(directory, collection);
        Directory.CreateDirectory(dir);
        var logPath = Path.Combine(dir, $"shard-{shard}.log");
        var snapshotPath = Path.Combine(dir, $"shard-{shard}.snapshot");

        // Temp files are only ever renamed into place complete; any left here are from a crash and hold nothing acknowledged.
        foreach (var stale in Directory.EnumerateFiles(dir, $"shard-{shard}.*.tmp"))
        {
            DurableFile.TryDelete(stale);
        }

        if (!File.Exists(logPath))
        {
            // Created by rename, so a log is never seen without its header.
            DurableFile.TryCreate(logPath, ShardLogFormat.Header(dimension));
        }

        var log = new FileStream(logPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        try
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            var fileLength = log.Length;
            var valid = ShardLogRecovery.Recover(log.SafeFileHandle, logPath, fileLength, dimension, live, out var entries);
            if (valid < fileLength)
            {
                // Cut the torn tail now: a later append after it would turn it into corruption in the middle.
                log.SetLength(valid);
                log.Flush(flushToDisk: true);
            }

            return new FileShardStore(dir, logPath, snapshotPath, dimension, log, live, entries, fileLength - valid);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task AppendUpsertsAsync(IReadOnlyList<StoredPoint> points, CancellationToken cancellationToken = default)
    {
        StorageValidation.Points(points, _dimension);
        if (points.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var log = Writable();
            var length = ShardLogFormat.EncodeUpserts(ref _buffer, points, 0, points.Count, _dimension);
            cancellationToken.ThrowIfCancellationRequested();
            await AppendRecordAsync(log, length);
            foreach (var point in points)
            {
                _live.Add(point.Id);
            }

            _entries += points.Count;
            await CompactIfWorthwhileAsync();
        }
        finally
        {
            ReleaseBuffer();
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task AppendDeletesAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default)
    {
        var unique = StorageValidation.Ids(ids);
        if (unique.Length == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var log = Writable();
            var length = ShardLogFormat.EncodeDeletes(ref _buffer, unique);
            cancellationToken.ThrowIfCancellationRequested();
            await AppendRecordAsync(log, length);
            foreach (var id in unique)
            {
                _live.Remove(id);
            }

            _entries += unique.Length;
            await CompactIfWorthwhileAsync();
        }
        finally
        {
            ReleaseBuffer();
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredPoint> LoadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<StoredPoint> points;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var log = Writable();

            // Reading a large log is blocking I/O; keep it off the caller's (grain scheduler's) thread.
            points = await Task.Run(() => ReadLive(log), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }

        foreach (var point in points)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return point;
        }
    }

    /// <inheritdoc />
    public async Task SaveSnapshotAsync(ReadOnlyMemory<byte> snapshot, long pointsCovered, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pointsCovered);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Writable();
            await Task.Run(() => ShardSnapshotFile.Write(_snapshotPath, snapshot.Span, pointsCovered), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A snapshot that fails its checksum is returned as null (and the reason kept in <see cref="RejectedSnapshotReason"/>):
    /// it is only a cache of what the points rebuild, so damage to it must cost a re-index, never the shard's activation.
    /// </remarks>
    public async Task<(byte[] Snapshot, long PointsCovered)?> LoadSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Writable();
            RejectedSnapshotReason = null;
            if (!File.Exists(_snapshotPath))
            {
                return null;
            }

            return await ShardSnapshotFile.ReadAsync(_snapshotPath, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            RejectedSnapshotReason = e.Message;
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task DropAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_dropped)
            {
                return;
            }

            _log?.Dispose();
            _log = null;
            _dropped = true;
            File.Delete(_logPath);
            File.Delete(_snapshotPath);
            foreach (var stale in Directory.EnumerateFiles(_directory, $"{Path.GetFileName(_logPath)}.*.tmp")
                         .Concat(Directory.EnumerateFiles(_directory, $"{Path.GetFileName(_snapshotPath)}.*.tmp")))
            {
                DurableFile.TryDelete(stale);
            }

            DurableFile.FsyncDirectory(_directory);
            _live.Clear();
            _entries = 0;
            _length = 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            _log?.Dispose();
            _log = null;
        }
        finally
        {
            _gate.Release();
        }
    }

    private FileStream Writable()
    {
        if (_faulted)
        {
            throw new InvalidOperationException($"Shard log '{_logPath}' could not be restored after a failed write; reopen the store.");
        }

        ObjectDisposedException.ThrowIf(_log is null, this);
        return _log;
    }

    private async Task AppendRecordAsync(FileStream log, int length)
    {
        try
        {
            log.Position = _length;

            // Not cancellable: once bytes may have reached the file, the outcome must be decided by the fsync, not by a token.
            await log.WriteAsync(_buffer.AsMemory(0, length), CancellationToken.None);
            await Task.Run(() => log.Flush(flushToDisk: true), CancellationToken.None);
        }
        catch
        {
            // Remove the partial record now: later appends behind it would make it corruption in the middle of the log.
            try
            {
                log.SetLength(_length);
                log.Flush(flushToDisk: true);
            }
            catch
            {
                _faulted = true;
            }

            throw;
        }

        _length += length;
    }

    private List<StoredPoint> ReadLive(FileStream log) =>
        ShardLogRecovery.ReadLive(log.SafeFileHandle, _logPath, _length, _dimension);

    private void ReleaseBuffer()
    {
        if (_buffer.Length > RetainedBufferBytes)
        {
            _buffer = [];
        }
    }
}
