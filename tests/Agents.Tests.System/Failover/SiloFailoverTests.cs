using System.Text;
using Agents.Client;
using Agents.Hosting;
using Agents.Tests.Infrastructure;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Agents.Tests.Failover;

/// <summary>Real silo processes on a real PostgreSQL: a job survives SIGKILL of a worker silo and of its own host silo.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class SiloFailoverTests(PostgresServer postgres, ITestOutputHelper output)
{
    // Long enough that the kill lands mid-job even when a status poll stalls while the new silos take their share of
    // the grain directory.
    private const int Tasks = 24_000;

    [Fact]
    public Task JobSurvivesTheDeathOfAWorkerSilo() => RunKillingAsync(killJobHost: false);

    [Fact]
    public Task JobSurvivesTheDeathOfTheSiloHostingItsJobGrain() => RunKillingAsync(killJobHost: true);

    [Fact]
    public async Task SiloWithAMalformedConfigurationStopsWithAClearMessage()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, "performance:\n  worker_threads: lots\n");
        try
        {
            await using var silo = SiloProcess.Start(["--config", path], SiloProcess.FreeInstance());
            Assert.Equal(2, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("performance.worker_threads", silo.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private async Task RunKillingAsync(bool killJobHost)
    {
        // The first silo applies the schema; the others join through the membership table.
        await using var cluster = await ProcessCluster.StartAsync(await postgres.CreateDatabaseAsync(), 3, output);
        var (client, silos) = (cluster.Client, cluster.Silos);

        var tasks = Enumerable.Range(0, Tasks)
            .Select(i => new JobTask(i, $"doc-{i}", Encoding.UTF8.GetBytes(DocumentSource.Generate(i, 2048, 7))))
            .ToList();
        // All input is in before the start, so every silo has batches in flight when one is killed.
        var jobId = Guid.NewGuid();
        var job = client.Cluster.GetGrain<IJobGrain>(jobId);
        await job.CreateAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 20));
        await client.AppendAsync(jobId, tasks);
        await job.StartAsync();
        await job.SealAsync();

        // Kill once the job is well under way, with batches in flight everywhere.
        var status = await client.GetStatusAsync(jobId);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (status.CountedTasks < Tasks / 10)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job made no progress");
            await Task.Delay(20);
            status = await client.GetStatusAsync(jobId);
        }

        Assert.True(status.CountedTasks < Tasks * 6 / 10, $"the job was at {status.CountedTasks}/{Tasks} before the kill; make it longer");
        var victim = killJobHost
            ? silos.Single(s => s.ProcessId == status.HostProcessId)
            : silos.First(s => s.ProcessId != status.HostProcessId);
        output.WriteLine($"killing silo pid {victim.ProcessId} (job host: {killJobHost}) at {status.CountedTasks}/{Tasks}");
        victim.Kill();

        var result = await client.WaitAsync(jobId, cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(180)).Token);
        output.WriteLine($"victim instance {victim.Instance} (port {11111 + victim.Instance}); shares: {string.Join(", ", result.PerSilo.Select(p => $"{p.Silo}={p.Batches}"))}");
        output.WriteLine($"done: {result.Status.SucceededTasks} ok, {result.Status.FailedTasks} failed, {result.Status.RedispatchedBatches} batches re-dispatched, host now {result.Status.HostProcessId}");

        Assert.Equal(JobState.Completed, result.Status.State);
        Assert.Equal(Tasks, result.Status.SucceededTasks);
        Assert.Equal(0, result.Status.FailedTasks);
        Assert.Equal((long)Tasks * (Tasks - 1) / 2, result.TaskIdChecksum);
        Assert.Equal(Tasks, result.PerSilo.Sum(s => s.Tasks));
        if (killJobHost)
        {
            Assert.NotEqual(victim.ProcessId, result.Status.HostProcessId);
        }

        // Batches lost with the silo ran again (or, when the job grain moved, ran from its durable state):
        // the exact counts and the checksum above are the proof, whichever path the cluster took.
        cluster.Passed();
    }
}
