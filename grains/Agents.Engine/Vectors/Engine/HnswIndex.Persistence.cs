using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;


namespace Agents.Engine.Vectors;

/// <summary>
/// Binary persistence of the graph (not the vectors). Layout, little-endian: a 16-byte header (magic "HNSW", u16
/// version, u16 reserved, i64 payload length), the payload, then the XxHash64 of header and payload. The payload holds
/// metric, parameters, dimension, count, entry point, top level, tombstone counts, for a quantized index the learnt
/// range (the codes are re-encoded from the vectors on load), the node levels, the tombstone bitmap, every layer-0
/// list and every upper-layer list as <c>u16 length, i32 ids</c>.
/// </summary>
public sealed partial class HnswIndex
{
    private const uint Magic = 0x57534E48; // "HNSW" read as a little-endian u32.
    private const ushort FormatVersion = 2;
    private const int HeaderBytes = 16;

    /// <summary>Writes the graph (levels, links, entry point, tombstones, parameters, metric) to <paramref name="stream"/>.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var payload = new ArrayBufferWriter<byte>();
        lock (_writeLock)
        {
            var state = _state;
            var blocks = _blocks;
            var count = state.Count;
            WriteInt32(payload, (int)_metric);
            WriteInt32(payload, _parameters.M);
            WriteInt32(payload, _parameters.EfConstruction);
            WriteInt32(payload, _parameters.Ef);
            WriteInt32(payload, _parameters.Seed);
            WriteInt32(payload, _parameters.Quantize ? 1 : 0);
            WriteInt32(payload, _vectors.Dimension);
            WriteInt32(payload, count);
            WriteInt32(payload, state.EntryPoint);
            WriteInt32(payload, state.TopLevel);
            WriteInt32(payload, _deletedCount);
            WriteInt32(payload, _pendingTombstones);
            if (_parameters.Quantize)
            {
                var quantizer = _codes?.Quantizer;
                WriteInt32(payload, quantizer is null ? 0 : 1);
                WriteInt32(payload, BitConverter.SingleToInt32Bits(quantizer?.Low ?? 0));
                WriteInt32(payload, BitConverter.SingleToInt32Bits(quantizer?.High ?? 0));
                WriteInt32(payload, _trainedOn);
            }

            var levels = payload.GetSpan(count)[..count];
            for (var slot = 0; slot < count; slot++)
            {
                levels[slot] = (byte)LevelOf(blocks, slot);
            }

            payload.Advance(count);
            for (var word = 0; word < (count + 63) >> 6; word++)
            {
                var slot = word << 6;
                var bits = blocks[slot >> BlockShift].Deleted[(slot & BlockMask) >> 6];
                BinaryPrimitives.WriteUInt64LittleEndian(payload.GetSpan(8), bits);
                payload.Advance(8);
            }

            for (var level = 0; level <= Math.Max(state.TopLevel, 0); level++)
            {
                for (var slot = 0; slot < count; slot++)
                {
                    if (LevelOf(blocks, slot) < level)
                    {
                        continue;
                    }

                    var links = GetLinks(blocks, slot, level, out var offset)!;
                    var length = links[offset];
                    var span = payload.GetSpan(2 + (length * 4));
                    BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)length);
                    for (var i = 0; i < length; i++)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(span[(2 + (i * 4))..], links[offset + 1 + i]);
                    }

                    payload.Advance(2 + (length * 4));
                }
            }
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], payload.WrittenCount);
        var hash = new XxHash64();
        hash.Append(header);
        hash.Append(payload.WrittenSpan);
        Span<byte> checksum = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, hash.GetCurrentHashAsUInt64());
        stream.Write(header);
        stream.Write(payload.WrittenSpan);
        stream.Write(checksum);
    }

    /// <summary>
    /// Reads a graph written by <see cref="Save"/> over <paramref name="vectors"/> (which must already hold the slots)
    /// without rebuilding it. A truncated, corrupt or mismatched stream throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static HnswIndex Load(Stream stream, VectorArena vectors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(vectors);
        Span<byte> header = stackalloc byte[HeaderBytes];
        ReadExactly(stream, header, "header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new InvalidDataException("Not an HNSW index stream (bad magic number).");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"Unsupported HNSW index format version {version} (this build reads {FormatVersion}).");
        }

        var length = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (length < 0 || length > Array.MaxLength - 8)
        {
            throw new InvalidDataException($"Corrupt HNSW index header: payload length {length}.");
        }

        if (stream.CanSeek && stream.Length - stream.Position < length + 8)
        {
            throw new InvalidDataException(
                $"Truncated HNSW index stream: {length + 8} bytes expected after the header, {stream.Length - stream.Position} present.");
        }

        var buffer = new byte[length + 8];
        ReadExactly(stream, buffer, "payload");
        var payload = buffer.AsSpan(0, (int)length);
        var hash = new XxHash64();
        hash.Append(header);
        hash.Append(payload);
        if (hash.GetCurrentHashAsUInt64() != BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan((int)length)))
        {
            throw new InvalidDataException("HNSW index checksum mismatch: the stream is corrupt.");
        }

        return Parse(payload, vectors);
    }

    private static HnswIndex Parse(ReadOnlySpan<byte> payload, VectorArena vectors)
    {
        var reader = new PayloadReader(payload);
        var metric = (DistanceMetric)reader.Int32();
        if (!Enum.IsDefined(metric))
        {
            throw new InvalidDataException($"HNSW index names an unknown metric {(int)metric}.");
        }

        var parameters = new HnswParameters(reader.Int32(), reader.Int32(), reader.Int32(), reader.Int32(), reader.Int32() switch
        {
            0 => false,
            1 => true,
            var other => throw new InvalidDataException($"HNSW index has an invalid quantize flag {other}."),
        });
        try
        {
            parameters.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"HNSW index holds invalid parameters: {e.Message}", e);
        }

        var dimension = reader.Int32();
        var count = reader.Int32();
        var entryPoint = reader.Int32();
        var topLevel = reader.Int32();
        var deletedCount = reader.Int32();
        var pending = reader.Int32();
        ScalarQuantizer? quantizer = null;
        var trainedOn = 0;
        if (parameters.Quantize)
        {
            var trained = reader.Int32();
            var low = BitConverter.Int32BitsToSingle(reader.Int32());
            var high = BitConverter.Int32BitsToSingle(reader.Int32());
            trainedOn = reader.Int32();
            if (trained is not (0 or 1) || (trained == 0 && count > 0) || trainedOn < 0 || (trained == 1 && trainedOn < 1))
            {
                throw new InvalidDataException($"HNSW index has an inconsistent quantizer (trained {trained}, on {trainedOn} vectors, count {count}).");
            }

            try
            {
                quantizer = trained == 1 ? new ScalarQuantizer(metric, dimension, low, high) : null;
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"HNSW index holds an invalid quantizer: {e.Message}", e);
            }
        }
        if (dimension != vectors.Dimension)
        {
            throw new InvalidDataException($"HNSW index was built for {dimension}-dimensional vectors; the arena holds {vectors.Dimension}.");
        }

        if (count < 0 || count > vectors.Count)
        {
            throw new InvalidDataException($"HNSW index covers {count} slots; the arena holds {vectors.Count}.");
        }

        if (count == 0 ? entryPoint != -1 : (uint)entryPoint >= (uint)count)
        {
            throw new InvalidDataException($"HNSW index entry point {entryPoint} is out of range (count {count}).");
        }

        if (deletedCount < 0 || deletedCount > count || pending < 0 || pending > deletedCount)
        {
            throw new InvalidDataException($"HNSW index tombstone counts are inconsistent ({deletedCount} deleted, {pending} pending, count {count}).");
        }

        var index = new HnswIndex(vectors, metric, parameters);
        if (count > 0)
        {
            index.EnsureCapacity(count - 1);
        }

        var blocks = index._blocks;
        var levels = reader.Bytes(count);
        var maxLevelSeen = -1;
        for (var slot = 0; slot < count; slot++)
        {
            int level = levels[slot];
            if (level > MaxLevel)
            {
                throw new InvalidDataException($"HNSW index node {slot} has level {level} (at most {MaxLevel}).");
            }

            maxLevelSeen = Math.Max(maxLevelSeen, level);
            var block = blocks[slot >> BlockShift];
            block.Levels[slot & BlockMask] = (byte)level;
            if (level > 0)
            {
                block.Upper[slot & BlockMask] = new int[level * index._strideUp];
                index._upperBytes += 24 + (level * index._strideUp * 4L);
            }
        }

        if (count > 0 && (topLevel != maxLevelSeen || LevelOf(blocks, entryPoint) != topLevel))
        {
            throw new InvalidDataException($"HNSW index top level {topLevel} does not match its nodes (highest {maxLevelSeen}).");
        }

        var tombstones = 0;
        for (var word = 0; word < (count + 63) >> 6; word++)
        {
            var bits = reader.UInt64();
            var valid = Math.Min(64, count - (word << 6));
            if (valid < 64 && bits >> valid != 0)
            {
                throw new InvalidDataException("HNSW index tombstone bitmap marks slots beyond its count.");
            }

            var slot = word << 6;
            blocks[slot >> BlockShift].Deleted[(slot & BlockMask) >> 6] = bits;
            tombstones += BitOperations.PopCount(bits);
        }

        if (tombstones != deletedCount)
        {
            throw new InvalidDataException($"HNSW index says {deletedCount} slots are deleted but its bitmap marks {tombstones}.");
        }

        for (var level = 0; level <= Math.Max(topLevel, 0); level++)
        {
            var max = level == 0 ? index._m0 : index._m;
            for (var slot = 0; slot < count; slot++)
            {
                if (LevelOf(blocks, slot) < level)
                {
                    continue;
                }

                var links = index.GetLinks(blocks, slot, level, out var offset)!;
                int length = reader.UInt16();
                if (length > max)
                {
                    throw new InvalidDataException($"HNSW index node {slot} has {length} links on layer {level} (at most {max}).");
                }

                for (var i = 0; i < length; i++)
                {
                    var other = reader.Int32();
                    if ((uint)other >= (uint)count || LevelOf(blocks, other) < level)
                    {
                        throw new InvalidDataException($"HNSW index node {slot} links to invalid node {other} on layer {level}.");
                    }

                    links[offset + 1 + i] = other;
                }

                links[offset] = length;
            }
        }

        if (!reader.AtEnd)
        {
            throw new InvalidDataException("HNSW index payload has trailing bytes.");
        }

        if (quantizer is not null)
        {
            // Codes are not stored: encoding the vectors again is fast and keeps the stream a quarter of the size.
            var codes = new QuantizedCodes(quantizer);
            for (var slot = 0; slot < count; slot++)
            {
                codes.Add(vectors[slot]);
            }

            index._codes = codes;
            index._trainedOn = trainedOn;
        }

        index._deletedCount = deletedCount;
        index._pendingTombstones = pending;
        // Levels of later inserts need not repeat the original sequence; seeding from the count keeps reloads deterministic.
        index._random = new Random(unchecked(parameters.Seed + (count * 7919)));
        index._state = new GraphState(blocks, count, entryPoint, topLevel);
        return index;
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string part)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = stream.Read(buffer[total..]);
            if (read == 0)
            {
                throw new InvalidDataException($"Truncated HNSW index stream: the {part} ends after {total} of {buffer.Length} bytes.");
            }

            total += read;
        }
    }

    private static void WriteInt32(ArrayBufferWriter<byte> writer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }

    /// <summary>Sequential little-endian reads that fail with <see cref="InvalidDataException"/> past the end.</summary>
    private ref struct PayloadReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position == _data.Length;

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public ulong UInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public ReadOnlySpan<byte> Bytes(int length) => Take(length);

        private ReadOnlySpan<byte> Take(int length)
        {
            if (length < 0 || _data.Length - _position < length)
            {
                throw new InvalidDataException($"HNSW index payload ends early at byte {_position}.");
            }

            var span = _data.Slice(_position, length);
            _position += length;
            return span;
        }
    }
}
