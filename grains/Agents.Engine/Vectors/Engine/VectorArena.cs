using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Agents.Engine.Vectors;

/// <summary>
/// Vectors of one dimension in contiguous float blocks, addressed by a dense slot number (0..Count-1). Slots are
/// never moved, so indexes hold slot numbers; growth adds blocks rather than copying the whole set. One writer adds
/// while any number of readers read slots below <see cref="Count"/>: the block table is replaced, never edited.
/// </summary>
/// <remarks>
/// Every vector starts on a 64-byte cache line, so a 512-bit load never straddles two lines: the heap blocks are
/// pinned arrays (they never move) addressed from their first aligned float, and mapped blocks are page-aligned.
/// The blocks are managed arrays, or, for a quantized index whose searches touch only the few vectors they rescore,
/// views of a memory-mapped scratch file (<see cref="MemoryMapped"/>): the operating system keeps the pages it needs
/// and may evict the rest, so the heap holds no floats. The file is a cache of the durable store, unlinked as soon as
/// it is open, so nothing is left behind by a crash.
/// </remarks>
public sealed unsafe class VectorArena : IDisposable
{
    // Small enough that the last, partly filled block costs little; large enough that lookups stay cheap.
    private const int SlotsPerBlock = 1024;
    private readonly FileStream? _file;
    private readonly List<(MemoryMappedFile File, MemoryMappedViewAccessor View)> _views = [];
    private const int Alignment = 64;
    private float[][] _blocks = [];

    // The first float of each block: a 64-byte aligned address inside a pinned array, or the start of a mapped view.
    private nint[] _starts = [];
    private int _count;

    /// <summary>An empty arena for vectors of <paramref name="dimension"/> floats.</summary>
    public VectorArena(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
    }

    private VectorArena(int dimension, FileStream file)
        : this(dimension) => _file = file;

    /// <summary>
    /// An empty arena whose blocks are mapped from a new scratch file in <paramref name="directory"/> (created if
    /// missing) rather than held on the heap.
    /// </summary>
    public static VectorArena MemoryMapped(int dimension, string directory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{Guid.NewGuid():N}.vectors");
        var options = OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None;
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1, options);
        if (!OperatingSystem.IsWindows())
        {
            // The open handle keeps the data; the name goes now so no crash can leave the file behind.
            File.Delete(path);
        }

        return new VectorArena(dimension, file);
    }

    /// <summary>True when the blocks live in a memory-mapped file.</summary>
    public bool IsMemoryMapped => _file is not null;

    /// <summary>Floats per vector.</summary>
    public int Dimension { get; }

    /// <summary>Slots in use.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes the blocks hold on the heap (none when memory-mapped).</summary>
    public long AllocatedBytes => (long)_blocks.Length * SlotsPerBlock * Dimension * sizeof(float);

    /// <summary>Bytes of the memory-mapped file (paged in and out by the operating system).</summary>
    public long MappedBytes => IsMemoryMapped ? (long)_starts.Length * SlotsPerBlock * Dimension * sizeof(float) : 0;

    /// <summary>The vector in slot <paramref name="slot"/>.</summary>
    public Span<float> this[int slot]
    {
        get
        {
            if ((uint)slot >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is not in use (count {Count}).");
            }

            return new Span<float>((float*)Volatile.Read(ref _starts)[slot / SlotsPerBlock] + ((long)(slot % SlotsPerBlock) * Dimension), Dimension);
        }
    }

    /// <summary>
    /// The first float of slot <paramref name="slot"/>, unchecked: for search loops that have already bounded the slot
    /// by a count read from <see cref="Count"/> (the block table is read after the count, so it covers the slot).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref float FirstFloat(int slot)
    {
        var block = (uint)slot / SlotsPerBlock;
        var offset = (nint)((uint)slot % SlotsPerBlock) * Dimension;
        return ref Unsafe.AsRef<float>((float*)Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Volatile.Read(ref _starts)), block) + offset);
    }

    /// <summary>Copies <paramref name="vector"/> into a new slot and returns it.</summary>
    public int Add(ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension)
        {
            throw new ArgumentException($"Vector has {vector.Length} dimensions; this arena holds {Dimension}.", nameof(vector));
        }

        var slot = _count;
        if (slot == _starts.Length * SlotsPerBlock)
        {
            if (_file is not null)
            {
                MapBlock();
            }
            else
            {
                AllocateBlock();
            }
        }

        vector.CopyTo(new Span<float>((float*)_starts[slot / SlotsPerBlock] + ((long)(slot % SlotsPerBlock) * Dimension), Dimension));

        // Publish the slot only once its floats are in place.
        Volatile.Write(ref _count, slot + 1);
        return slot;
    }

    /// <summary>Unmaps and closes the scratch file of a memory-mapped arena; no slot may be read afterwards.</summary>
    public void Dispose()
    {
        if (_file is null)
        {
            return;
        }

        Volatile.Write(ref _starts, []);
        Volatile.Write(ref _count, 0);
        foreach (var (file, view) in _views)
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        }

        _views.Clear();
        _file.Dispose();
    }

    private void AllocateBlock()
    {
        // Pinned (the pinned object heap never moves it), with room to start on a cache line.
        var block = GC.AllocateUninitializedArray<float>((SlotsPerBlock * Dimension) + (Alignment / sizeof(float)), pinned: true);
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(block));
        var aligned = (address + (Alignment - 1)) & ~(nint)(Alignment - 1);
        var blocks = new float[_blocks.Length + 1][];
        _blocks.CopyTo(blocks, 0);
        blocks[^1] = block;
        _blocks = blocks;
        AddStart(aligned);
    }

    private void AddStart(nint start)
    {
        var grown = new nint[_starts.Length + 1];
        _starts.CopyTo(grown, 0);
        grown[^1] = start;
        Volatile.Write(ref _starts, grown);
    }

    private void MapBlock()
    {
        var blockBytes = (long)SlotsPerBlock * Dimension * sizeof(float);
        var offset = _starts.Length * blockBytes;

        // Each block is its own view of the growing file, so the views already handed out stay valid.
        var file = MemoryMappedFile.CreateFromFile(_file!, null, offset + blockBytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        MemoryMappedViewAccessor view;
        try
        {
            view = file.CreateViewAccessor(offset, blockBytes, MemoryMappedFileAccess.ReadWrite);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _views.Add((file, view));
        AddStart((nint)(pointer + view.PointerOffset));
    }
}
