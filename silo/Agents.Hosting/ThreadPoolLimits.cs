using Agents.Engine;
using Agents.Hosting;

namespace Agents.Hosting;

/// <summary>Applies <c>worker_threads</c> and <c>max_blocking_threads</c> to the process's thread pool.</summary>
public static class ThreadPoolLimits
{
    /// <summary>The minimum and maximum worker threads the settings ask for.</summary>
    public static (int Min, int Max) Compute(PerformanceSettings performance)
    {
        var max = Math.Max(performance.WorkerThreads + performance.MaxBlockingThreads, Environment.ProcessorCount);
        return (Math.Min(performance.WorkerThreads, max), max);
    }

    /// <summary>Sets the pool's minimum (threads started without delay) and maximum (cap including blocked threads).</summary>
    public static void Apply(PerformanceSettings performance)
    {
        var (min, max) = Compute(performance);
        ThreadPool.GetMinThreads(out _, out var minIo);
        ThreadPool.GetMaxThreads(out _, out var maxIo);
        // Raise the maximum first: the pool refuses a minimum above its current maximum.
        if (!ThreadPool.SetMaxThreads(max, Math.Max(maxIo, max)) || !ThreadPool.SetMinThreads(min, minIo))
        {
            throw new ConfigurationException(
                $"performance.worker_threads ({performance.WorkerThreads}) and performance.max_blocking_threads ({performance.MaxBlockingThreads}) could not be applied to the thread pool.");
        }
    }
}
