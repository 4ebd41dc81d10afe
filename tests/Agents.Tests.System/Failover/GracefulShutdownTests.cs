using System.Text;
using Agents.Client;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Failover;

/// <summary>SIGTERM a silo of three on PostgreSQL mid-work: it drains what it holds, leaves, and exits cleanly.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class GracefulShutdownTests(PostgresServer postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task ASiloStoppedGracefullyDeliversItsQueuedMessagesAndFinishesItsBatches()
    {
        var database = await postgres.CreateDatabaseAsync();
        // Agents hold messages for up to five seconds, so the stop comes while the victim's outboxes are full.
        var slowFlush = new Dictionary<string, string> { ["P2P_MESSAGE_FLUSH_INTERVAL"] = "5s", ["P2P_MESSAGE_BATCH_SIZE"] = "1000" };
        await using var cluster = await ProcessCluster.StartAsync(database, 3, output, slowFlush);
        var (client, silos) = (cluster.Client, cluster.Silos);

        var victim = silos[2];
        string sender = "", receiver = "", keeper = "";
        for (var i = 0; sender.Length == 0 || receiver.Length == 0 || keeper.Length == 0; i++)
        {
            var id = $"agent-{i}";
            var onVictim = (await client.Agent(id).GetProfileAsync()).Silo.Contains($":{11111 + victim.Instance}@", StringComparison.Ordinal);
            if (onVictim && sender.Length == 0)
            {
                sender = id;
            }
            else if (onVictim && keeper.Length == 0)
            {
                keeper = id;
            }
            else if (!onVictim && receiver.Length == 0)
            {
                receiver = id;
            }
        }

        // An agent on the victim holding 50 acknowledged, unread messages: they must outlive its silo's shutdown.
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => client.Agent(receiver).SendAsync(keeper, "kept", Encoding.UTF8.GetBytes($"k{i}"))));

        const int tasks = 30_000;
        var jobId = await client.StartJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 20));
        var submitting = Task.Run(async () =>
        {
            await client.AppendAsync(jobId, Enumerable.Range(0, tasks).Select(i => new JobTask(i, $"doc-{i}", Encoding.UTF8.GetBytes(DocumentSource.Generate(i, 1024, 9)))));
            await client.SealAsync(jobId);
        });
        while ((await client.GetStatusAsync(jobId)).CountedTasks < tasks / 20)
        {
            await Task.Delay(50);
        }

        // Sent straight to the grain (no client retries): these must be delivered by the drain itself.
        var sends = Enumerable.Range(0, 200).Select(i => client.Agent(sender).SendAsync(receiver, "note", Encoding.UTF8.GetBytes($"m{i}"))).ToList();
        await Task.Delay(500);
        Assert.DoesNotContain(sends, s => s.IsCompleted);
        Assert.Empty(await client.Agent(receiver).ReadInboxAsync());

        victim.Terminate();
        Assert.Equal(0, await victim.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(sends);
        var inbox = await client.Agent(receiver).ReadInboxAsync();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}").Order(), inbox.Select(m => Encoding.UTF8.GetString(m.Body)).Order());
        var kept = await client.Agent(keeper).ReadInboxAsync();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"k{i}").Order(), kept.Select(m => Encoding.UTF8.GetString(m.Body)).Order());
        Assert.DoesNotContain($":{11111 + victim.Instance}@", (await client.Agent(keeper).GetProfileAsync()).Silo, StringComparison.Ordinal);

        await submitting;
        var result = await client.WaitAsync(jobId, cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(180)).Token);
        output.WriteLine($"job: {result.Status.SucceededTasks} ok, {result.Status.RedispatchedBatches} batches re-dispatched; shares {string.Join(", ", result.PerSilo.Select(p => $"{p.Silo}={p.Batches}"))}");
        Assert.Equal(JobState.Completed, result.Status.State);
        Assert.Equal(tasks, result.Status.SucceededTasks);
        Assert.Equal((long)tasks * (tasks - 1) / 2, result.TaskIdChecksum);
        Assert.Contains(result.PerSilo, p => p.Silo.Contains($":{11111 + victim.Instance}@", StringComparison.Ordinal));
        output.WriteLine(victim.Output);
        cluster.Passed();
    }
}
