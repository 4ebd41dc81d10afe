namespace Agents.Engine.Vectors.Storage;

/// <summary>Compaction: the log rewritten with only its live points once dead entries outnumber them.</summary>
public sealed partial class FileShardStore
{
    // Compaction rewrites live points in records of about this size, so no record needs a huge buffer.
    private const int CompactionRecordBytes = 4 << 20;

    /// <summary>The least number of dead entries before an append compacts the log (it also needs dead &gt; live).</summary>
    public int MinimumDeadEntriesForCompaction { get; set; } = 1024;

    /// <summary>
    /// Rewrites the log with only the live points (temp file, fsync, rename), dropping overwritten and deleted entries.
    /// Appends call it themselves once dead entries outnumber live ones.
    /// </summary>
    public async Task CompactAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await Task.Run(CompactCore, cancellationToken);
        }
        finally
        {
            ReleaseBuffer();
            _gate.Release();
        }
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
                output.Write(ShardLogFormat.Header(_dimension));
                var start = 0;
                while (start < points.Count)
                {
                    var end = start;
                    long bytes = 0;
                    while (end < points.Count && (end == start || bytes < CompactionRecordBytes))
                    {
                        bytes += ShardLogFormat.PointSize(points[end], _dimension);
                        end++;
                    }

                    var length = ShardLogFormat.EncodeUpserts(ref _buffer, points, start, end - start, _dimension);
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
}
