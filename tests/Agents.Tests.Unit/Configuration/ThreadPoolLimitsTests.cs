using Agents.Engine;
using Agents.Hosting;

namespace Agents.Tests.Configuration;

// Changes the process's thread pool, so it runs alone and puts the pool back.
[Collection(nameof(ProcessWide))]
public sealed class ThreadPoolLimitsTests
{
    [Fact]
    public void ApplyChangesTheThreadPool()
    {
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.GetMaxThreads(out var maxWorkers, out var maxIo);
        try
        {
            ThreadPoolLimits.Apply(new PerformanceSettings { WorkerThreads = 6, MaxBlockingThreads = 200 });
            ThreadPool.GetMinThreads(out var min, out _);
            ThreadPool.GetMaxThreads(out var max, out _);
            Assert.Equal(6, min);
            Assert.Equal(206, max);
        }
        finally
        {
            ThreadPool.SetMaxThreads(maxWorkers, maxIo);
            ThreadPool.SetMinThreads(minWorkers, minIo);
        }
    }
}
