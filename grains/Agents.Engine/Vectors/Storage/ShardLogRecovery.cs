using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using static Agents.Engine.Vectors.Storage.ShardLogFormat;

namespace Agents.Engine.Vectors.Storage;

/// <summary>
/// Replays a shard log, verifying every record: on open, to find the live ids and where a torn append (a crash mid-write)
/// begins; on load and compaction, to read the live points back. Only the end of a log may be bad; a bad record with
/// intact data after it is corruption and throws <see cref="InvalidDataException"/>.
/// </summary>
internal static class ShardLogRecovery
{
    /// <summary>
    /// Verifies the log up to <paramref name="length"/>, leaving its live ids in <paramref name="live"/>, and returns
    /// where its intact records end (before a torn tail, if any); <paramref name="entries"/> counts every upsert and delete.
    /// </summary>
    public static long Recover(SafeFileHandle handle, string path, long length, int dimension, HashSet<string> live, out long entries)
    {
        var visitor = new LiveIdVisitor(live);
        var valid = Scan(handle, path, length, dimension, visitor, allowTornTail: true);
        entries = visitor.Entries;
        return valid;
    }

    /// <summary>The live points of a log already verified up to <paramref name="length"/> (last upsert wins, deletes applied), by id.</summary>
    public static List<StoredPoint> ReadLive(SafeFileHandle handle, string path, long length, int dimension)
    {
        var visitor = new PointVisitor(dimension);
        Scan(handle, path, length, dimension, visitor, allowTornTail: false);
        var points = visitor.Points.Values.ToList();
        points.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return points;
    }

    /// <summary>
    /// Verifies and decodes the records of a log up to <paramref name="length"/>, returning where the valid records end.
    /// Only the end may be bad (a torn append); a bad record with data after it is corruption.
    /// </summary>
    private static long Scan(SafeFileHandle handle, string path, long length, int dimension, IRecordVisitor visitor, bool allowTornTail)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        if (length < HeaderSize || RandomAccess.Read(handle, header, 0) < HeaderSize)
        {
            throw Corrupt(path, 0, "the header is incomplete");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LogMagic)
        {
            throw Corrupt(path, 0, "it is not a shard log (bad magic)");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (version != FormatVersion)
        {
            throw Corrupt(path, 4, $"format version {version} is not supported (expected {FormatVersion})");
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

                throw Corrupt(path, offset, "the record header is damaged");
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

                throw Corrupt(path, offset, "the record fails its checksum");
            }

            Decode(type, record.AsSpan(RecordHeaderSize, size), dimension, visitor, path, offset);
            offset += total;
        }

        return offset;

        long Torn(long at, string why) => allowTornTail ? at : throw Corrupt(path, at, why);
    }

    private static void ReadFully(SafeFileHandle handle, Span<byte> buffer, long offset)
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

    /// <summary>
    /// The offset of the first intact record at or after <paramref name="from"/>, or null. Only runs when a record
    /// header is damaged, to decide between a torn tail (nothing intact follows) and damage in the middle.
    /// </summary>
    private static long? FindValidRecord(SafeFileHandle handle, long from, long length)
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
