namespace Agents.Grains.Vectors;

/// <summary>
/// The silo's <c>vector_cache_size</c>: bytes its shards may hold in vectors and graphs. Shards reserve before they
/// write, so an upsert that would pass the bound is refused before anything is stored.
/// </summary>
public sealed class VectorMemoryBudget(long capacityBytes)
{
    private long _used;

    /// <summary>The bound in bytes; 0 means none.</summary>
    public long CapacityBytes { get; } = capacityBytes;

    /// <summary>Bytes reserved now.</summary>
    public long UsedBytes => Interlocked.Read(ref _used);

    /// <summary>Reserves <paramref name="bytes"/> or throws <see cref="InvalidOperationException"/> saying how full the silo is.</summary>
    public void Reserve(long bytes, string what)
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (CapacityBytes > 0 && used + bytes > CapacityBytes)
            {
                throw new InvalidOperationException(
                    $"performance.vector_cache_size ({ValueParsers.FormatSize(CapacityBytes)}) is full on this silo: its shards hold " +
                    $"{used / 1048576.0:F1} MB and {what} needs {bytes / 1048576.0:F1} MB more. Raise vector_cache_size, delete points or add silos.");
            }

            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return;
            }
        }
    }

    /// <summary>Reserves without a check: for points that are already durable and must be loaded.</summary>
    public void ForceReserve(long bytes) => Interlocked.Add(ref _used, bytes);

    /// <summary>Gives bytes back.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);

    /// <summary>
    /// The heap bytes a point of <paramref name="dimension"/> floats costs in a shard: its floats (or, quantized, its
    /// int8 codes and bias; the floats are then memory-mapped) plus graph links and bookkeeping.
    /// </summary>
    public static long BytesPerPoint(int dimension, bool quantized = false) => (quantized ? dimension + sizeof(float) : dimension * sizeof(float)) + 256;
}
