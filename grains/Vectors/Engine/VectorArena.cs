namespace Agents.Grains.Vectors.Engine;

/// <summary>
/// Vectors of one dimension in contiguous float blocks, addressed by a dense slot number (0..Count-1). Slots are
/// never moved, so indexes hold slot numbers; growth adds blocks rather than copying the whole set. One writer adds
/// while any number of readers read slots below <see cref="Count"/>: the block table is replaced, never edited.
/// </summary>
public sealed class VectorArena
{
    // Small enough that the last, partly filled block costs little; large enough that lookups stay cheap.
    private const int SlotsPerBlock = 1024;
    private float[][] _blocks = [];
    private int _count;

    /// <summary>An empty arena for vectors of <paramref name="dimension"/> floats.</summary>
    public VectorArena(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
    }

    /// <summary>Floats per vector.</summary>
    public int Dimension { get; }

    /// <summary>Slots in use.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held by the blocks.</summary>
    public long AllocatedBytes => (long)_blocks.Length * SlotsPerBlock * Dimension * sizeof(float);

    /// <summary>The vector in slot <paramref name="slot"/>.</summary>
    public Span<float> this[int slot]
    {
        get
        {
            if ((uint)slot >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is not in use (count {Count}).");
            }

            return Volatile.Read(ref _blocks)[slot / SlotsPerBlock].AsSpan(slot % SlotsPerBlock * Dimension, Dimension);
        }
    }

    /// <summary>Copies <paramref name="vector"/> into a new slot and returns it.</summary>
    public int Add(ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension)
        {
            throw new ArgumentException($"Vector has {vector.Length} dimensions; this arena holds {Dimension}.", nameof(vector));
        }

        var slot = _count;
        if (slot == _blocks.Length * SlotsPerBlock)
        {
            var grown = new float[_blocks.Length + 1][];
            _blocks.CopyTo(grown, 0);
            grown[^1] = GC.AllocateUninitializedArray<float>(SlotsPerBlock * Dimension);
            Volatile.Write(ref _blocks, grown);
        }

        vector.CopyTo(_blocks[slot / SlotsPerBlock].AsSpan(slot % SlotsPerBlock * Dimension, Dimension));
        // Publish the slot only once its floats are in place.
        Volatile.Write(ref _count, slot + 1);
        return slot;
    }
}
