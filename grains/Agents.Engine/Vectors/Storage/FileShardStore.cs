using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Agents.Engine.Vectors.Storage;

/// <summary>
/// Embedded-mode shard storage: an append-only log <c>&lt;dir&gt;/&lt;collection&gt;/shard-&lt;n&gt;.log</c> plus an index
/// snapshot <c>shard-&lt;n&gt;.snapshot</c>.
/// </summary>
/// <remarks>
/// Log layout (little-endian): a 12-byte header (magic "AVSL", format version, dimension), then records of
/// [type: 1 byte][payload length: int32][XxHash32 of type + length][payload][XxHash32 of payload]. The header's own
/// checksum lets a damaged length be told from a torn tail, so damage can never pass for a tail and silently cut off
/// the acknowledged records behind it. An upsert record holds
/// [count: int32] then per point [id length: uint16][id: UTF-8][vector: raw float32 × dimension][payload length: int32][payload];
/// a delete record holds [count: int32] then per id [id length: uint16][id: UTF-8]. One batch is one record, written
/// with one write and one fsync, so a crash leaves either the whole batch or a torn tail that <see cref="Open"/> cuts off.
/// </remarks>
public sealed class FileShardStore : IShardStore
{
    internal const int HeaderSize = 12;
    internal const int RecordOverhead = 13;
    private const int RecordHeaderSize = 9;
    private const uint LogMagic = 0x4C535641; // "AVSL"
    private const uint SnapshotMagic = 0x53535641; // "AVSS"
    private const int FormatVersion = 1;
    private const int SnapshotHeaderSize = 32;
    private const byte UpsertRecord = 1;
    private const byte DeleteRecord = 2;

    // A record's length is an int32; staying well below it keeps one batch within one array.
    private const int MaxRecordPayload = 1 << 30;

    // Compaction rewrites live points in records of about this size, so no record needs a huge buffer.
    private const int CompactionRecordBytes = 4 << 20;

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

    /// <summary>The least number of dead entries before an append compacts the log (it also needs dead &gt; live).</summary>
    public int MinimumDeadEntriesForCompaction { get; set; } = 1024;

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
            DurableFile.TryCreate(logPath, LogHeader(dimension));
        }

        var log = new FileStream(logPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        try
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            var visitor = new LiveIdVisitor(live);
            var fileLength = log.Length;
            var valid = Scan(log.SafeFileHandle, logPath, fileLength, dimension, visitor, allowTornTail: true);
            if (valid < fileLength)
            {
                // Cut the torn tail now: a later append after it would turn it into corruption in the middle.
                log.SetLength(valid);
                log.Flush(flushToDisk: true);
            }

            return new FileShardStore(dir, logPath, snapshotPath, dimension, log, live, visitor.Entries, fileLength - valid);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task AppendUpsertsAsync(IReadOnlyList<StoredPoint> points, CancellationToken ct = default)
    {
        StorageValidation.Points(points, _dimension);
        if (points.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(ct);
        try
        {
            var log = Writable();
            var length = EncodeUpserts(points, 0, points.Count);
            ct.ThrowIfCancellationRequested();
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
    public async Task AppendDeletesAsync(IReadOnlyList<string> ids, CancellationToken ct = default)
    {
        var unique = StorageValidation.Ids(ids);
        if (unique.Length == 0)
        {
            return;
        }

        await _gate.WaitAsync(ct);
        try
        {
            var log = Writable();
            var length = EncodeDeletes(unique);
            ct.ThrowIfCancellationRequested();
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
    public async IAsyncEnumerable<StoredPoint> LoadAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        List<StoredPoint> points;
        await _gate.WaitAsync(ct);
        try
        {
            var log = Writable();

            // Reading a large log is blocking I/O; keep it off the caller's (grain scheduler's) thread.
            points = await Task.Run(() => ReadLive(log), ct);
        }
        finally
        {
            _gate.Release();
        }

        foreach (var point in points)
        {
            ct.ThrowIfCancellationRequested();
            yield return point;
        }
    }

    /// <summary>
    /// Rewrites the log with only the live points (temp file, fsync, rename), dropping overwritten and deleted entries.
    /// Appends call it themselves once dead entries outnumber live ones.
    /// </summary>
    public async Task CompactAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await Task.Run(CompactCore, ct);
        }
        finally
        {
            ReleaseBuffer();
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task SaveSnapshotAsync(ReadOnlyMemory<byte> snapshot, long pointsCovered, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pointsCovered);
        await _gate.WaitAsync(ct);
        try
        {
            Writable();
            var header = new byte[SnapshotHeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(header, SnapshotMagic);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), FormatVersion);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), pointsCovered);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), snapshot.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(24), SnapshotHash(header, snapshot.Span));
            await Task.Run(() => DurableFile.Replace(_snapshotPath, header, snapshot.Span), ct);
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
    public async Task<(byte[] Snapshot, long PointsCovered)?> LoadSnapshotAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            Writable();
            RejectedSnapshotReason = null;
            if (!File.Exists(_snapshotPath))
            {
                return null;
            }

            return await ReadSnapshotAsync(ct);
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

    private async Task<(byte[] Snapshot, long PointsCovered)?> ReadSnapshotAsync(CancellationToken ct)
    {
        await using var stream = new FileStream(_snapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, useAsync: true);
        var header = new byte[SnapshotHeaderSize];
        if (stream.Length < SnapshotHeaderSize)
        {
            throw SnapshotCorrupt("it is shorter than its header");
        }

        await stream.ReadExactlyAsync(header, ct);
        var length = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != SnapshotMagic || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4)) != FormatVersion)
        {
            throw SnapshotCorrupt("the header is not a snapshot header of this version");
        }

        if (length < 0 || length != stream.Length - SnapshotHeaderSize)
        {
            throw SnapshotCorrupt($"the header says {length} bytes but the file holds {stream.Length - SnapshotHeaderSize}");
        }

        var data = GC.AllocateUninitializedArray<byte>((int)length);
        await stream.ReadExactlyAsync(data, ct);
        if (SnapshotHash(header, data) != BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24)))
        {
            throw SnapshotCorrupt("it fails its checksum");
        }

        return (data, BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8)));
    }

    /// <inheritdoc />
    public async Task DropAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
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

    private async Task CompactIfWorthwhileAsync()
    {
        var dead = _entries - _live.Count;
        if (dead > _live.Count && dead >= MinimumDeadEntriesForCompaction)
        {
            // The append is already durable; if compaction fails the old log is intact and the error reaches the caller,
            // whose retry is harmless because upserts and deletes are idempotent.
            await Task.Run(CompactCore);
        }
    }

    private void CompactCore()
    {
        var log = Writable();
        var points = ReadLive(log);
        var temp = DurableFile.TempPath(_logPath);
        try
        {
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                output.Write(LogHeader(_dimension));
                var start = 0;
                while (start < points.Count)
                {
                    var end = start;
                    long bytes = 0;
                    while (end < points.Count && (end == start || bytes < CompactionRecordBytes))
                    {
                        bytes += PointSize(points[end]);
                        end++;
                    }

                    var length = EncodeUpserts(points, start, end - start);
                    output.Write(_buffer, 0, length);
                    start = end;
                }

                output.Flush(flushToDisk: true);
            }

            File.Move(temp, _logPath, overwrite: true);
        }
        catch
        {
            DurableFile.TryDelete(temp);
            throw;
        }

        // From here the new log is in place: without a handle on it the store cannot go on, so failures fault it.
        try
        {
            DurableFile.FsyncDirectory(_directory);
            var reopened = new FileStream(_logPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
            log.Dispose();
            _log = reopened;
            _length = reopened.Length;
            _entries = points.Count;
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    private List<StoredPoint> ReadLive(FileStream log)
    {
        var visitor = new PointVisitor(_dimension);
        Scan(log.SafeFileHandle, _logPath, _length, _dimension, visitor, allowTornTail: false);
        var points = visitor.Points.Values.ToList();
        points.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return points;
    }

    private long PointSize(StoredPoint point) =>
        2L + StorageValidation.StrictUtf8.GetByteCount(point.Id) + _dimension * sizeof(float) + 4 + point.Payload.Length;

    private int EncodeUpserts(IReadOnlyList<StoredPoint> points, int start, int count)
    {
        long size = 4;
        for (var i = start; i < start + count; i++)
        {
            size += PointSize(points[i]);
        }

        var buffer = RecordBuffer(size);
        var span = buffer.AsSpan(RecordHeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(span, count);
        var at = 4;
        for (var i = start; i < start + count; i++)
        {
            var point = points[i];
            at = WriteId(span, at, point.Id);
            MemoryMarshal.AsBytes(point.Vector.AsSpan()).CopyTo(span[at..]);
            at += _dimension * sizeof(float);
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], point.Payload.Length);
            at += 4;
            point.Payload.CopyTo(span[at..]);
            at += point.Payload.Length;
        }

        return SealRecord(UpsertRecord, (int)size);
    }

    private int EncodeDeletes(string[] ids)
    {
        long size = 4;
        foreach (var id in ids)
        {
            size += 2 + StorageValidation.StrictUtf8.GetByteCount(id);
        }

        var buffer = RecordBuffer(size);
        var span = buffer.AsSpan(RecordHeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(span, ids.Length);
        var at = 4;
        foreach (var id in ids)
        {
            at = WriteId(span, at, id);
        }

        return SealRecord(DeleteRecord, (int)size);
    }

    private static int WriteId(Span<byte> span, int at, string id)
    {
        var written = StorageValidation.StrictUtf8.GetBytes(id, span[(at + 2)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)written);
        return at + 2 + written;
    }

    private byte[] RecordBuffer(long payloadSize)
    {
        if (payloadSize > MaxRecordPayload)
        {
            throw new ArgumentException($"The batch encodes to {payloadSize} bytes, more than the {MaxRecordPayload} a log record holds; split it. Nothing was written.");
        }

        var needed = (int)payloadSize + RecordOverhead;
        if (_buffer.Length < needed)
        {
            _buffer = GC.AllocateUninitializedArray<byte>(Math.Max(needed, Math.Min(_buffer.Length * 2, MaxRecordPayload + RecordOverhead)));
        }

        return _buffer;
    }

    private int SealRecord(byte type, int payloadSize)
    {
        _buffer[0] = type;
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(1), payloadSize);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(5), XxHash32.HashToUInt32(_buffer.AsSpan(0, 5)));
        var end = RecordHeaderSize + payloadSize;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(end), XxHash32.HashToUInt32(_buffer.AsSpan(RecordHeaderSize, payloadSize)));
        return end + 4;
    }

    private void ReleaseBuffer()
    {
        if (_buffer.Length > RetainedBufferBytes)
        {
            _buffer = [];
        }
    }

    private static byte[] LogHeader(int dimension)
    {
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, LogMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), dimension);
        return header;
    }

    private static ulong SnapshotHash(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data)
    {
        var hash = new XxHash3();
        hash.Append(header[..24]);
        hash.Append(data);
        return hash.GetCurrentHashAsUInt64();
    }

    private InvalidDataException SnapshotCorrupt(string why) =>
        new($"Index snapshot '{_snapshotPath}' is corrupt: {why}. Rebuild the index and save a new snapshot.");

    private static InvalidDataException LogCorrupt(string path, long offset, string why) =>
        new($"Shard log '{path}' is corrupt at offset {offset}: {why}.");

    /// <summary>
    /// Verifies and decodes the records of a log up to <paramref name="length"/>, returning where the valid records end.
    /// Only the end may be bad (a torn append); a bad record with data after it is corruption.
    /// </summary>
    private static long Scan(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path, long length, int dimension, IRecordVisitor visitor, bool allowTornTail)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        if (length < HeaderSize || RandomAccess.Read(handle, header, 0) < HeaderSize)
        {
            throw LogCorrupt(path, 0, "the header is incomplete");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LogMagic)
        {
            throw LogCorrupt(path, 0, "it is not a shard log (bad magic)");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (version != FormatVersion)
        {
            throw LogCorrupt(path, 4, $"format version {version} is not supported (expected {FormatVersion})");
        }

        var stored = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (stored != dimension)
        {
            throw new InvalidDataException($"Shard log '{path}' holds vectors of dimension {stored}, but the shard was opened with dimension {dimension}.");
        }

        var record = new byte[64 * 1024];
        long offset = HeaderSize;
        while (offset < length)
        {
            var remaining = length - offset;
            if (remaining < RecordOverhead)
            {
                return Torn(offset, "the log ends inside a record header");
            }

            ReadFully(handle, record.AsSpan(0, RecordHeaderSize), offset);
            if (!TryReadRecordHeader(record, out var type, out var size))
            {
                // A torn append leaves nothing valid after it; a valid record further on means this one was damaged.
                if (allowTornTail && FindValidRecord(handle, offset + 1, length) is null)
                {
                    return offset;
                }

                throw LogCorrupt(path, offset, "the record header is damaged");
            }

            var total = RecordOverhead + (long)size;
            if (total > remaining)
            {
                return Torn(offset, $"the record needs {total} bytes but only {remaining} remain");
            }

            if (record.Length < total)
            {
                record = GC.AllocateUninitializedArray<byte>((int)Math.Max(total, Math.Min(2L * record.Length, RecordOverhead + (long)MaxRecordPayload)));
            }

            ReadFully(handle, record.AsSpan(RecordHeaderSize, size + 4), offset + RecordHeaderSize);
            if (!PayloadMatches(record.AsSpan(RecordHeaderSize, size + 4)))
            {
                if (offset + total == length)
                {
                    return Torn(offset, "the last record fails its checksum");
                }

                throw LogCorrupt(path, offset, "the record fails its checksum");
            }

            Decode(type, record.AsSpan(RecordHeaderSize, size), dimension, visitor, path, offset);
            offset += total;
        }

        return offset;

        long Torn(long at, string why) => allowTornTail ? at : throw LogCorrupt(path, at, why);
    }

    private static void Decode(byte type, ReadOnlySpan<byte> payload, int dimension, IRecordVisitor visitor, string path, long offset)
    {
        // The checksum matched, so a layout error here means a writer bug or a deliberate forgery, never a torn write.
        try
        {
            var count = BinaryPrimitives.ReadInt32LittleEndian(payload);
            var at = 4;
            var vectorBytes = dimension * sizeof(float);
            for (var i = 0; i < count; i++)
            {
                var idLength = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]);
                var id = StorageValidation.StrictUtf8.GetString(payload.Slice(at + 2, idLength));
                at += 2 + idLength;
                if (type == UpsertRecord)
                {
                    var vector = payload.Slice(at, vectorBytes);
                    at += vectorBytes;
                    var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
                    var data = payload.Slice(at + 4, payloadLength);
                    at += 4 + payloadLength;
                    visitor.Upsert(id, vector, data);
                }
                else
                {
                    visitor.Delete(id);
                }
            }

            if (at != payload.Length)
            {
                throw LogCorrupt(path, offset, $"the record has {payload.Length - at} bytes after its last entry");
            }
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or ArgumentException or DecoderFallbackException)
        {
            throw LogCorrupt(path, offset, $"the record's entries do not match its length ({e.Message})");
        }
    }

    private static void ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw new EndOfStreamException($"The log ended at offset {offset} while reading a record.");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    private static bool TryReadRecordHeader(ReadOnlySpan<byte> header, out byte type, out int size)
    {
        type = header[0];
        size = BinaryPrimitives.ReadInt32LittleEndian(header[1..]);
        return type is UpsertRecord or DeleteRecord
            && size is >= 4 and <= MaxRecordPayload
            && XxHash32.HashToUInt32(header[..5]) == BinaryPrimitives.ReadUInt32LittleEndian(header[5..]);
    }

    private static bool PayloadMatches(ReadOnlySpan<byte> payloadAndHash) =>
        XxHash32.HashToUInt32(payloadAndHash[..^4]) == BinaryPrimitives.ReadUInt32LittleEndian(payloadAndHash[^4..]);

    /// <summary>
    /// The offset of the first intact record at or after <paramref name="from"/>, or null. Only runs when a record
    /// header is damaged, to decide between a torn tail (nothing intact follows) and damage in the middle.
    /// </summary>
    private static long? FindValidRecord(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long from, long length)
    {
        var chunk = new byte[1 << 20];
        for (var start = from; start + RecordOverhead <= length; start += chunk.Length - RecordHeaderSize)
        {
            var read = (int)Math.Min(chunk.Length, length - start);
            ReadFully(handle, chunk.AsSpan(0, read), start);
            for (var i = 0; i + RecordHeaderSize <= read; i++)
            {
                if (!TryReadRecordHeader(chunk.AsSpan(i, RecordHeaderSize), out _, out var size) || start + i + RecordOverhead + size > length)
                {
                    continue;
                }

                var candidate = new byte[size + 4];
                ReadFully(handle, candidate, start + i + RecordHeaderSize);
                if (PayloadMatches(candidate))
                {
                    return start + i;
                }
            }

            if (start + read >= length)
            {
                break;
            }
        }

        return null;
    }

    private interface IRecordVisitor
    {
        void Upsert(string id, ReadOnlySpan<byte> vector, ReadOnlySpan<byte> payload);

        void Delete(string id);
    }

    /// <summary>Tracks only which ids are live, so opening a shard does not hold its vectors twice.</summary>
    private sealed class LiveIdVisitor(HashSet<string> live) : IRecordVisitor
    {
        public long Entries { get; private set; }

        public void Upsert(string id, ReadOnlySpan<byte> vector, ReadOnlySpan<byte> payload)
        {
            live.Add(id);
            Entries++;
        }

        public void Delete(string id)
        {
            live.Remove(id);
            Entries++;
        }
    }

    private sealed class PointVisitor(int dimension) : IRecordVisitor
    {
        public Dictionary<string, StoredPoint> Points { get; } = new(StringComparer.Ordinal);

        public void Upsert(string id, ReadOnlySpan<byte> vector, ReadOnlySpan<byte> payload)
        {
            var floats = GC.AllocateUninitializedArray<float>(dimension);
            vector.CopyTo(MemoryMarshal.AsBytes(floats.AsSpan()));
            Points[id] = new StoredPoint(id, floats, payload.IsEmpty ? [] : payload.ToArray());
        }

        public void Delete(string id) => Points.Remove(id);
    }
}
