using System.Text;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Jobs;

[Collection(nameof(ThreeSiloCollection))]
public sealed class BadInputTests(ThreeSiloCluster fixture)
{
    [Fact]
    public async Task BadDocumentsFailAloneWithClearMessagesAndTheClusterKeepsRunning()
    {
        var good = Encoding.UTF8.GetBytes(DocumentSource.Generate(1, 500));
        var tasks = new List<JobTask>
        {
            new(0, "good.txt", good),
            new(1, "empty.txt", []),
            new(2, "huge.txt", Encoding.UTF8.GetBytes(new string('a', 50 * 1024 * 1024))),
            new(3, "latin1.txt", [0x48, 0x69, 0x20, 0xE9, 0x74, 0xE9, 0xFF]),
            new(4, "blank.txt", Encoding.UTF8.GetBytes(" \n\t \n")),
            new(5, "good2.txt", good),
        };

        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 2), tasks);

        Assert.Equal(JobState.Completed, result.Status.State);
        Assert.Equal(2, result.Status.SucceededTasks);
        Assert.Equal(4, result.Status.FailedTasks);
        var errors = result.Failures.ToDictionary(f => f.Name, f => f.Error);
        Assert.Contains("empty", errors["empty.txt"], StringComparison.OrdinalIgnoreCase);
        Assert.Contains("50.0 MB", errors["huge.txt"], StringComparison.Ordinal);
        Assert.Contains("text.max_document_size", errors["huge.txt"], StringComparison.Ordinal);
        Assert.Contains("UTF-8", errors["latin1.txt"], StringComparison.Ordinal);
        Assert.Contains("whitespace", errors["blank.txt"], StringComparison.OrdinalIgnoreCase);

        // The cluster still serves work afterwards.
        var after = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), [new JobTask(0, "ok", good)]);
        Assert.Equal(1, after.Status.SucceededTasks);
    }

    [Theory]
    [InlineData("summarise", "unknown")]
    [InlineData("messaging", "not runnable")]
    [InlineData("", "required")]
    public async Task UnknownTaskTypeIsRejectedWithItsName(string taskType, string says)
    {
        var job = fixture.Client.GetGrain<IJobGrain>(Guid.NewGuid());
        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.CreateAsync(new JobSpec(taskType, Distribution.RoundRobin)));
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.Contains(TaskTypes.TextProcessing, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TasksOutOfOrderAreRejected()
    {
        var job = fixture.Client.GetGrain<IJobGrain>(Guid.NewGuid());
        await job.CreateAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin));
        var silo = (await job.PlaceBatchesAsync(0, 1))[0];
        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.AddBatchesAsync([new JobBatch(0, silo, 5, 1)]));
        Assert.Contains("continue from 0", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => job.AddBatchesAsync([new JobBatch(1, silo, 0, 1)]));
        Assert.Contains("continue from 0", e.Message, StringComparison.Ordinal);

        // The client checks the ids it is given before it stores anything.
        var client = Agents.Client.AgentsClient.FromCluster(fixture.Client);
        e = await Assert.ThrowsAsync<ArgumentException>(() => client.AppendAsync(job.GetPrimaryKey(), [new JobTask(3, "x", [0x41])]));
        Assert.Contains("continue from 0", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await job.GetStatusAsync()).TotalTasks);
    }

    [Fact]
    public async Task RetriedDeclarationIsNotCountedTwice()
    {
        var id = Guid.NewGuid();
        var job = fixture.Client.GetGrain<IJobGrain>(id);
        await job.CreateAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin));
        var silo = (await job.PlaceBatchesAsync(0, 1))[0];
        await fixture.Client.GetGrain<IJobBatchGrain>(JobBatchKey.Of(id, 0, silo))
            .StoreAsync([new(0, "a", "Alpha beta gamma."u8.ToArray()), new(1, "b", "Delta epsilon."u8.ToArray())]);
        await job.AddBatchesAsync([new JobBatch(0, silo, 0, 2)]);
        await job.AddBatchesAsync([new JobBatch(0, silo, 0, 2)]);
        Assert.Equal(2, (await job.GetStatusAsync()).TotalTasks);

        await job.StartAsync();
        await job.SealAsync();
        var status = await job.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, status.SucceededTasks);
    }

    [Fact]
    public async Task ABatchThatWasNeverStoredFailsItsTasksByName()
    {
        // A client that declares a batch it did not store: the job runs out its attempts and fails those tasks, once.
        var job = fixture.Client.GetGrain<IJobGrain>(Guid.NewGuid());
        await job.CreateAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin));
        var silo = (await job.PlaceBatchesAsync(0, 1))[0];
        await job.AddBatchesAsync([new JobBatch(0, silo, 0, 3)]);
        await job.StartAsync();
        await job.SealAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await job.GetStatusAsync()).IsFinished)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job did not finish in time");
            await Task.Delay(20);
        }

        var result = (await job.GetResultAsync())!;
        Assert.Equal(3, result.Status.FailedTasks);
        Assert.Contains("never stored", result.Failures[0].Error, StringComparison.Ordinal);
        Assert.Equal(0L + 1 + 2, result.TaskIdChecksum);
    }

    [Fact]
    public async Task UnknownJobSaysSo()
    {
        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => fixture.Client.GetGrain<IJobGrain>(Guid.NewGuid()).GetStatusAsync());
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }
}
