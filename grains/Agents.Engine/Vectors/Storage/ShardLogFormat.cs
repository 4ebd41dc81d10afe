using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Agents.Engine.Vectors.Storage;

/// <summary>
/// The bytes of a shard log (little-endian): a 12-byte header (magic "AVSL", format version, dimension), then records of
/// [type: 1 byte][payload length: int32][XxHash32 of type + length][payload][XxHash32 of payload].
/// </summary>
/// <remarks>
/// The record header's own checksum lets a damaged length be told from a torn tail, so damage can never pass for a tail
/// and silently cut off the acknowledged records behind it. An upsert record holds
/// [count: int32] then per point [id length: uint16][id: UTF-8][vector: raw float32 × dimension][payload length: int32][payload];
/// a delete record holds [count: int32] then per id [id length: uint16][id: UTF-8].
/// </remarks>
internal static class ShardLogFormat
{
    /// <summary>Bytes of the log header.</summary>
    public const int HeaderSize = 12;

    /// <summary>Bytes a record adds to its payload: the record header and the payload's checksum.</summary>
    public const int RecordOverhead = 13;

    /// <summary>Bytes of a record header: type, payload length and their checksum.</summary>
    public const int RecordHeaderSize = 9;

    /// <summary>The version of the log layout this code reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>A record's length is an int32; staying well below it keeps one batch within one array.</summary>
    public const int MaxRecordPayload = 1 << 30;

    /// <summary>The record type of a batch of upserts.</summary>
    public const byte UpsertRecord = 1;

    /// <summary>The record type of a batch of deletes.</summary>
    public const byte DeleteRecord = 2;

    /// <summary>"AVSL", little-endian.</summary>
    public const uint LogMagic = 0x4C535641;

    /// <summary>Receives the entries of decoded records, in log order.</summary>
    public interface IRecordVisitor
    {
        /// <summary>An upserted point: its id, its vector's raw float bytes and its payload.</summary>
        void Upsert(string id, ReadOnlySpan<byte> vector, ReadOnlySpan<byte> payload);

        /// <summary>A deleted id.</summary>
        void Delete(string id);
    }

    /// <summary>The header of a new log of <paramref name="dimension"/>-float vectors.</summary>
    public static byte[] Header(int dimension)
    {
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, LogMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), dimension);
        return header;
    }

    /// <summary>Bytes one point takes in an upsert record.</summary>
    public static long PointSize(StoredPoint point, int dimension) =>
        2L + StorageValidation.StrictUtf8.GetByteCount(point.Id) + dimension * sizeof(float) + 4 + point.Payload.Length;

    /// <summary>
    /// Encodes <paramref name="count"/> points from <paramref name="start"/> as one sealed upsert record at the start of
    /// <paramref name="buffer"/> (grown if needed) and returns its length in bytes.
    /// </summary>
    public static int EncodeUpserts(ref byte[] buffer, IReadOnlyList<StoredPoint> points, int start, int count, int dimension)
    {
        long size = 4;
        for (var i = start; i < start + count; i++)
        {
            size += PointSize(points[i], dimension);
        }

        var span = RecordBuffer(ref buffer, size).AsSpan(RecordHeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(span, count);
        var at = 4;
        for (var i = start; i < start + count; i++)
        {
            var point = points[i];
            at = WriteId(span, at, point.Id);
            MemoryMarshal.AsBytes(point.Vector.AsSpan()).CopyTo(span[at..]);
            at += dimension * sizeof(float);
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], point.Payload.Length);
            at += 4;
            point.Payload.CopyTo(span[at..]);
            at += point.Payload.Length;
        }

        return Seal(buffer, UpsertRecord, (int)size);
    }

    /// <summary>Encodes <paramref name="ids"/> as one sealed delete record at the start of <paramref name="buffer"/> (grown if needed) and returns its length.</summary>
    public static int EncodeDeletes(ref byte[] buffer, string[] ids)
    {
        long size = 4;
        foreach (var id in ids)
        {
            size += 2 + StorageValidation.StrictUtf8.GetByteCount(id);
        }

        var span = RecordBuffer(ref buffer, size).AsSpan(RecordHeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(span, ids.Length);
        var at = 4;
        foreach (var id in ids)
        {
            at = WriteId(span, at, id);
        }

        return Seal(buffer, DeleteRecord, (int)size);
    }

    /// <summary>Reads a record header; false when its type, length or checksum is not that of an intact header.</summary>
    public static bool TryReadRecordHeader(ReadOnlySpan<byte> header, out byte type, out int size)
    {
        type = header[0];
        size = BinaryPrimitives.ReadInt32LittleEndian(header[1..]);
        return type is UpsertRecord or DeleteRecord
            && size is >= 4 and <= MaxRecordPayload
            && XxHash32.HashToUInt32(header[..5]) == BinaryPrimitives.ReadUInt32LittleEndian(header[5..]);
    }

    /// <summary>True when a record's payload matches the checksum that follows it.</summary>
    public static bool PayloadMatches(ReadOnlySpan<byte> payloadAndHash) =>
        XxHash32.HashToUInt32(payloadAndHash[..^4]) == BinaryPrimitives.ReadUInt32LittleEndian(payloadAndHash[^4..]);

    /// <summary>Hands the entries of a verified record's <paramref name="payload"/> to <paramref name="visitor"/>.</summary>
    public static void Decode(byte type, ReadOnlySpan<byte> payload, int dimension, IRecordVisitor visitor, string path, long offset)
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
                throw Corrupt(path, offset, $"the record has {payload.Length - at} bytes after its last entry");
            }
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or ArgumentException or DecoderFallbackException)
        {
            throw Corrupt(path, offset, $"the record's entries do not match its length ({e.Message})");
        }
    }

    /// <summary>The error for a log that is damaged at <paramref name="offset"/>.</summary>
    public static InvalidDataException Corrupt(string path, long offset, string why) =>
        new($"Shard log '{path}' is corrupt at offset {offset}: {why}.");

    private static int WriteId(Span<byte> span, int at, string id)
    {
        var written = StorageValidation.StrictUtf8.GetBytes(id, span[(at + 2)..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)written);
        return at + 2 + written;
    }

    private static byte[] RecordBuffer(ref byte[] buffer, long payloadSize)
    {
        if (payloadSize > MaxRecordPayload)
        {
            throw new ArgumentException($"The batch encodes to {payloadSize} bytes, more than the {MaxRecordPayload} a log record holds; split it. Nothing was written.");
        }

        var needed = (int)payloadSize + RecordOverhead;
        if (buffer.Length < needed)
        {
            buffer = GC.AllocateUninitializedArray<byte>(Math.Max(needed, Math.Min(buffer.Length * 2, MaxRecordPayload + RecordOverhead)));
        }

        return buffer;
    }

    private static int Seal(byte[] buffer, byte type, int payloadSize)
    {
        buffer[0] = type;
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(1), payloadSize);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(5), XxHash32.HashToUInt32(buffer.AsSpan(0, 5)));
        var end = RecordHeaderSize + payloadSize;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(end), XxHash32.HashToUInt32(buffer.AsSpan(RecordHeaderSize, payloadSize)));
        return end + 4;
    }
}
