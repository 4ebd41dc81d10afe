using System.Text;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Jobs;

[Collection(nameof(ThreeSiloCollection))]
public sealed class JobDistributionTests(ThreeSiloCluster fixture)
{
    private static List<JobTask> Documents(int count, int seed) =>
        Enumerable.Range(0, count).Select(i => new JobTask(i, $"doc-{i}", Encoding.UTF8.GetBytes(DocumentSource.Generate(i, 600, seed)))).ToList();

    [Fact]
    public async Task RoundRobinGivesEverySiloAnEqualShare()
    {
        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 10), Documents(900, 1));

        Assert.Equal(JobState.Completed, result.Status.State);
        Assert.Equal(900, result.Status.SucceededTasks);
        Assert.Equal(3, result.PerSilo.Count);
        foreach (var silo in result.PerSilo)
        {
            // 90 batches over 3 silos: 30 each, within ±10%.
            Assert.InRange(silo.Batches, 27, 33);
        }

        Assert.Equal(900L * 899 / 2, result.TaskIdChecksum);
    }

    [Fact]
    public async Task DocumentsGoStraightToTheSilosThatRunThemNotThroughTheJob()
    {
        var tasks = Documents(600, 5);
        var documentBytes = tasks.Sum(t => (long)t.Content.Length);
        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 10), tasks);
        Assert.Equal(600, result.Status.SucceededTasks);

        var traffic = JobTrafficRecorder.Of(result.Status.JobId);
        // Every document reached a batch on the silo the job placed it on, and the job grain saw only batch ids and sums.
        Assert.Equal(documentBytes, traffic.DocumentBytes);
        Assert.Equal(60, traffic.BatchesOnTheirSilo);
        Assert.Equal(0, traffic.BatchesElsewhere);
        Assert.True(traffic.JobGrainBytes > 0, "the recorder saw the job grain's calls");
        Assert.True(traffic.JobGrainBytes < documentBytes / 50, $"the job grain was sent {traffic.JobGrainBytes} bytes for {documentBytes} bytes of documents");
        Assert.Equal(3, result.PerSilo.Count);
    }

    [Theory]
    [InlineData(Distribution.Random)]
    [InlineData(Distribution.LeastLoaded)]
    public async Task OtherDistributionsReachEverySilo(Distribution distribution)
    {
        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, distribution, 10), Documents(900, 2));

        Assert.Equal(900, result.Status.SucceededTasks);
        Assert.Equal(3, result.PerSilo.Count);
        // Every silo takes part; how much depends on each silo's speed (least-loaded) or on chance (random).
        Assert.All(result.PerSilo, s => Assert.True(s.Batches >= 1, $"{s.Silo} got no batch under {distribution}"));
        Assert.Equal(900, result.PerSilo.Sum(s => s.Tasks));
    }

    [Fact]
    public async Task ResultSumsThePipelineAndCountsEachTaskOnce()
    {
        var tasks = Documents(120, 3);
        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 7), tasks);

        Assert.Equal(120, result.Status.CountedTasks);
        Assert.Equal((120 + 6) / 7, result.Status.TotalBatches);
        Assert.Equal(result.Status.TotalBatches, result.Status.CompletedBatches);
        Assert.True(result.Totals.Tokens > result.Totals.Words / 2, "tokens are counted");
        Assert.True(result.Totals.Sentences >= 120, "every document has sentences");
        Assert.True(result.Totals.Chunks >= 120, "every document has a chunk");
        Assert.NotEmpty(result.TopKeywords);
        Assert.True(result.Latency.P50 > 0 && result.Latency.P99 >= result.Latency.P50);
    }

    [Fact]
    public async Task RepeatedDocumentsHitTheCache()
    {
        var same = Encoding.UTF8.GetBytes(DocumentSource.Generate(7, 800, 99));
        var tasks = Enumerable.Range(0, 60).Select(i => new JobTask(i, $"copy-{i}", same)).ToList();
        var result = await fixture.RunJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 10), tasks);

        Assert.Equal(60, result.Status.SucceededTasks);
        // Only copies processed at the same moment miss: at most one per worker thread of each silo (3 x 2).
        Assert.InRange(result.Totals.CacheHits, 54, 59);
    }

    [Fact]
    public async Task CancelStopsDispatchingAndKeepsCountedTasks()
    {
        var client = Agents.Client.AgentsClient.FromCluster(fixture.Client);
        var id = Guid.NewGuid();
        var job = fixture.Client.GetGrain<IJobGrain>(id);
        await job.CreateAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 5));
        await client.AppendAsync(id, Documents(3000, 4));
        await job.StartAsync();
        var cancelled = await job.CancelAsync();
        Assert.Equal(JobState.Cancelled, cancelled.State);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        JobResult result;
        do
        {
            result = (await job.GetResultAsync())!;
            await Task.Delay(50);
        }
        while (result.Status.CompletedBatches < result.PerSilo.Sum(s => s.Batches) && DateTime.UtcNow < deadline);

        Assert.Equal(JobState.Cancelled, result.Status.State);
        Assert.True(result.Status.CountedTasks < 3000, "a cancelled job does not run every batch");
        Assert.Equal(result.Status.CountedTasks, result.PerSilo.Sum(s => s.Tasks));
    }
}
