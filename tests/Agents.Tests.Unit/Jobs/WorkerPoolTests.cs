using Agents.Grains.Jobs;

namespace Agents.Tests.Jobs;

public sealed class WorkerPoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task NeverRunsMoreThanWorkerThreadsAtOnce(int workerThreads)
    {
        using var pool = new WorkerPool(workerThreads);
        using var gate = new ManualResetEventSlim();
        var running = Enumerable.Range(0, 8).Select(_ => pool.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(10)))).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (pool.Running < workerThreads && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(workerThreads, pool.Running);
        gate.Set();
        await Task.WhenAll(running);
        Assert.Equal(workerThreads, pool.PeakRunning);
    }
}
