namespace Agents.Grains.Jobs;

/// <summary>Runs CPU-bound batches on the thread pool, at most <c>worker_threads</c> at once per silo.</summary>
public sealed class WorkerPool(int workerThreads) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(workerThreads, workerThreads);
    private int _running;
    private int _peak;

    /// <summary>Batches this pool runs at once.</summary>
    public int Capacity { get; } = workerThreads;

    /// <summary>Batches running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>The most batches that ever ran at once.</summary>
    public int PeakRunning => Volatile.Read(ref _peak);

    /// <summary>Batches waiting for a slot.</summary>
    public int Waiting => Math.Max(0, _waiting);

    private int _waiting;

    /// <summary>Runs <paramref name="work"/> on the thread pool once a slot is free.</summary>
    public async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        try
        {
            var now = Interlocked.Increment(ref _running);
            int peak;
            while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
            {
            }

            return await Task.Run(work, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _slots.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _slots.Dispose();
}
