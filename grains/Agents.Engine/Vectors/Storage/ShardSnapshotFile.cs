using System.Buffers.Binary;
using System.IO.Hashing;

namespace Agents.Engine.Vectors.Storage;

/// <summary>
/// A shard's index snapshot on disk: a 32-byte header (magic "AVSS", format version, points covered, data length,
/// XxHash3 of the header's first 24 bytes and the data) and then the opaque snapshot bytes. Written to a temp file and
/// renamed into place, so a reader sees the old snapshot or the new one, never a mix.
/// </summary>
internal static class ShardSnapshotFile
{
    private const uint SnapshotMagic = 0x53535641; // "AVSS"
    private const int FormatVersion = 1;
    private const int HeaderSize = 32;

    /// <summary>Replaces the snapshot at <paramref name="path"/> durably with <paramref name="snapshot"/>, built over <paramref name="pointsCovered"/> points.</summary>
    public static void Write(string path, ReadOnlySpan<byte> snapshot, long pointsCovered)
    {
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, SnapshotMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), pointsCovered);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), snapshot.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(24), Hash(header, snapshot));
        DurableFile.Replace(path, header, snapshot);
    }

    /// <summary>The snapshot at <paramref name="path"/> and the points it covers; <see cref="InvalidDataException"/> when it is damaged.</summary>
    public static async Task<(byte[] Snapshot, long PointsCovered)> ReadAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, useAsync: true);
        var header = new byte[HeaderSize];
        if (stream.Length < HeaderSize)
        {
            throw Corrupt(path, "it is shorter than its header");
        }

        await stream.ReadExactlyAsync(header, cancellationToken);
        var length = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != SnapshotMagic || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4)) != FormatVersion)
        {
            throw Corrupt(path, "the header is not a snapshot header of this version");
        }

        if (length < 0 || length != stream.Length - HeaderSize)
        {
            throw Corrupt(path, $"the header says {length} bytes but the file holds {stream.Length - HeaderSize}");
        }

        var data = GC.AllocateUninitializedArray<byte>((int)length);
        await stream.ReadExactlyAsync(data, cancellationToken);
        if (Hash(header, data) != BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24)))
        {
            throw Corrupt(path, "it fails its checksum");
        }

        return (data, BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8)));
    }

    private static ulong Hash(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data)
    {
        var hash = new XxHash3();
        hash.Append(header[..24]);
        hash.Append(data);
        return hash.GetCurrentHashAsUInt64();
    }

    private static InvalidDataException Corrupt(string path, string why) =>
        new($"Index snapshot '{path}' is corrupt: {why}. Rebuild the index and save a new snapshot.");
}
