using System.Diagnostics;
using System.Globalization;
using Agents.Client;
using Agents.GrainInterfaces;
using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Agents.Benchmarks;

/// <summary>
/// <c>coordinator [--batches 20000] [--batch-size 50] [--silos 100]</c>: how many batches one job grain places,
/// dispatches and counts per second when its batches finish at once, in one embedded silo. The batch runner is replaced
/// by one that returns a full result (a latency per task, 20 keywords) without doing the work, and reports the capacity
/// of <c>--silos</c> silos of two worker threads, so the job keeps as many batches in flight as a cluster of that size.
/// Everything else is the product's path: the client cuts, places and stores the batches, the job grain dispatches and
/// counts them and writes its state every 250 ms. The process's CPU per batch is an upper bound of the job grain's own.
/// </summary>
public static class CoordinatorThroughput
{
    /// <summary>Runs the measurement; returns the exit code.</summary>
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var batches = Arg("--batches", 20_000);
        var batchSize = Arg("--batch-size", 50);
        var silos = Arg("--silos", 100);
        var data = Directory.CreateTempSubdirectory("agents-coordinator-");
        using var host = await SiloHost.BuildAsync(
            new HostSettings { DataDirectory = data.FullName }.WithFreePorts(),
            new AgentsSettings(),
            silo => silo.Services.AddSingleton<IBatchRunner>(new InstantBatchRunner(2 * silos)),
            embedded: true);
        await host.StartAsync();
        try
        {
            var client = AgentsClient.FromCluster(host.Services.GetRequiredService<Orleans.IClusterClient>());
            var body = "Word salad for the coordinator."u8.ToArray();
            IEnumerable<JobTask> Tasks(int n) => Enumerable.Range(0, n).Select(i => new JobTask(i, "t", body));

            // Warm-up: the same path, a tenth of the size.
            await RunJobAsync(client, batchSize, Tasks(batches * batchSize / 10));

            var (result, appendSeconds, cpuSeconds) = await RunJobAsync(client, batchSize, Tasks(batches * batchSize));
            var status = result.Status;
            var seconds = (status.FinishedAt!.Value - status.StartedAt!.Value).TotalSeconds;
            if (result.Status.CountedTasks != batches * batchSize)
            {
                Console.Error.WriteLine($"counted {result.Status.CountedTasks} of {batches * batchSize} tasks");
                return 1;
            }

            // What one write of such a job's state carries: the same lists a job of this many batches holds.
            var state = new JobGrainState();
            for (var i = 0; i < batches; i++)
            {
                state.BatchSizes.Add(batchSize);
                state.Counted.Add(true);
                state.BatchSilo.Add(i % silos);
            }

            state.Silos.AddRange(Enumerable.Range(0, silos).Select(i => $"127.0.0.1:{11111 + i}@123456789"));
            var stateBytes = host.Services.GetRequiredService<Orleans.Serialization.Serializer>().SerializeToArray(state).Length;

            var rate = batches / seconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{batches} batches of {batchSize} in {seconds:F2} s: {rate:F0} batches/s ({rate * batchSize:F0} tasks/s), " +
                $"{cpuSeconds / batches * 1e6:F0} us of CPU per batch (job grain and batch grains), {silos} silos' worth in flight; the client had stored and declared them in {appendSeconds:F2} s ({batches / appendSeconds:F0} batches/s); " +
                $"the job's state is {stateBytes / 1024.0:F0} KB at {batches} batches ({(double)stateBytes / batches:F1} bytes a batch, sums aside)"));
            return 0;
        }
        finally
        {
            await host.StopAsync();
            data.Delete(recursive: true);
        }
    }

    // The input is stored and declared first, then the job starts: the clock measures the job dispatching and counting.
    private static async Task<(JobResult Result, double AppendSeconds, double CpuSeconds)> RunJobAsync(AgentsClient client, int batchSize, IEnumerable<JobTask> tasks)
    {
        var clock = Stopwatch.StartNew();
        var id = Guid.NewGuid();
        var job = client.Cluster.GetGrain<IJobGrain>(id);
        await job.CreateAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, batchSize, "coordinator"));
        await client.AppendAsync(id, tasks);
        await job.SealAsync();
        var appended = clock.Elapsed.TotalSeconds;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await job.StartAsync();
        var result = await client.WaitAsync(id);
        return (result, appended, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    /// <summary>Finishes every batch at once with a result the size of a real one.</summary>
    private sealed class InstantBatchRunner(int capacity) : IBatchRunner
    {
        private static readonly KeywordCount[] Keywords = Enumerable.Range(0, 20).Select(i => new KeywordCount($"keyword{i}", 3)).ToArray();

        public int Capacity => capacity;

        public Task<BatchResult> RunAsync(BatchWork work, string silo)
        {
            var millis = new float[work.Tasks.Length];
            Array.Fill(millis, 0.1f);
            var totals = new TextTotals(work.Tasks.Length * 30L, work.Tasks.Length * 5L, work.Tasks.Length, work.Tasks.Length * 8L, work.Tasks.Length, 0);
            return Task.FromResult(new BatchResult(
                work.BatchIndex, silo, capacity, work.Tasks.Length, totals, [], Keywords, millis, work.Tasks.Sum(t => (long)t.Id), 0));
        }
    }
}
