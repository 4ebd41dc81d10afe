using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Agents.Client;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Failover;

/// <summary>
/// Three real silo processes on a real PostgreSQL with the silo's default settings, under a job, ingest, searches and
/// agent messaging at once; one silo (hosting senders, shards and job work) is SIGKILLed. Every acknowledged point and
/// message survives, the job completes exactly, no call fails with anything but a retryable error, and every kind of
/// work is served again within 5 s of the kill.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class KillUnderLoadTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const int Dimension = 32;
    private static readonly TimeSpan RecoveryTarget = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task NothingAcknowledgedIsLostAndServiceResumesWithinFiveSeconds()
    {
        await using var cluster = await ProcessCluster.StartAsync(await postgres.CreateDatabaseAsync(), 3, output);
        var (client, silos) = (cluster.Client, cluster.Silos);

        // The victim hosts shards of the collection (preloaded so searches find something), senders, and job batches,
        // but no receiver: an unread inbox lives in its silo's memory.
        const string collection = "live";
        var info = await client.CreateCollectionAsync(new CollectionSpec(collection, Dimension, Shards: 6));
        var victimInstance = info.Shards.GroupBy(s => InstanceOf(s.Silo)).MaxBy(g => g.Count())!.Key;
        var victim = silos.Single(s => s.Instance == victimInstance);
        var receivers = new List<string>();
        var senders = new List<string>();
        for (var i = 0; receivers.Count < 2 || senders.Count(s => s.EndsWith("@victim", StringComparison.Ordinal)) < 2; i++)
        {
            var id = $"agent-{i}";
            var onVictim = InstanceOf((await client.Agent(id).GetProfileAsync()).Silo) == victim.Instance;
            if (!onVictim && receivers.Count < 2)
            {
                receivers.Add(id);
            }
            else
            {
                senders.Add(onVictim ? $"{id}@victim" : id);
            }
        }

        var random = new Random(5);
        Assert.Equal(1000, await client.UpsertAsync(collection, Enumerable.Range(0, 1000).Select(i => Point($"pre-{i}", random))));

        using var stop = new CancellationTokenSource();
        var loops = new List<Loop>();
        var ingested = new ConcurrentBag<string>();
        var attempted = 0;
        var delivered = new ConcurrentDictionary<string, ConcurrentBag<int>>();
        loops.Add(new Loop("ingest", async n =>
        {
            var batch = Enumerable.Range(0, 20).Select(j => Point($"live-{n}-{j}", new Random(n * 100 + j))).ToList();
            Interlocked.Add(ref attempted, batch.Count);
            await client.UpsertAsync(collection, batch, cancellationToken: stop.Token);
            batch.ForEach(p => ingested.Add(p.Id));
        }));
        for (var s = 0; s < 2; s++)
        {
            loops.Add(new Loop("search", async n =>
            {
                var hits = await client.SearchAsync(collection, Point("q", new Random(n)).Vector, 5, cancellationToken: stop.Token);
                Assert.Equal(5, hits.Length);
            }));
        }

        foreach (var sender in senders)
        {
            var id = sender.Split('@')[0];
            var to = receivers[senders.IndexOf(sender) % receivers.Count];
            delivered[id] = [];
            loops.Add(new Loop(sender.EndsWith("@victim", StringComparison.Ordinal) ? "messaging (sender on the victim)" : "messaging", async n =>
            {
                await client.SendAsync(id, to, "note", Encoding.UTF8.GetBytes($"{id}:{n}"), stop.Token);
                delivered[id].Add(n);
            }));
        }

        var running = loops.Select(l => l.RunAsync(stop.Token)).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (loops.Any(l => l.Completed < 5))
        {
            Assert.True(DateTime.UtcNow < deadline, "the load did not get going");
            await Task.Delay(50);
        }

        // A job spread over all three silos, under way when the kill comes.
        const int tasks = 40_000;
        var jobId = await client.StartJobAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 20));
        var submitting = Task.Run(async () =>
        {
            await client.AppendAsync(jobId, Enumerable.Range(0, tasks).Select(i => new JobTask(i, $"doc-{i}", Encoding.UTF8.GetBytes(DocumentSource.Generate(i, 1024, 3)))));
            await client.SealAsync(jobId);
        });
        var status = await client.GetStatusAsync(jobId);
        while (status.CountedTasks < tasks / 20)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job did not get going");
            await Task.Delay(50);
            status = await client.GetStatusAsync(jobId);
        }

        Assert.True(status.CountedTasks < tasks * 8 / 10, $"the job was at {status.CountedTasks}/{tasks} before the kill; make it longer");
        var killedAt = Stopwatch.GetTimestamp();
        victim.Kill();
        output.WriteLine($"killed instance {victim.Instance} at job {status.CountedTasks}/{tasks}; senders {string.Join(", ", senders)}");

        // Keep the load on for long enough to see recovery, then stop and check what was acknowledged.
        await Task.Delay(TimeSpan.FromSeconds(12));
        stop.Cancel();
        await Task.WhenAll(running);

        var failures = loops.SelectMany(l => l.Failures).ToList();
        foreach (var f in failures)
        {
            output.WriteLine($"escaped the retries: {f.GetType().Name}: {f.Message}");
        }

        Assert.All(failures, f => Assert.True(AgentsClient.IsTransient(f), $"not a retryable error: {f}"));
        var outages = loops.GroupBy(l => l.Kind).Select(kind => (kind.Key, Ok: kind.Sum(l => l.Completed), Outage: kind.Max(l => l.LongestGapAround(killedAt)))).ToList();
        foreach (var (kind, ok, outage) in outages)
        {
            output.WriteLine($"{kind}: {ok} ok, longest time without success around the kill {outage.TotalSeconds:F2} s");
        }

        Assert.All(outages, o => Assert.True(o.Outage <= RecoveryTarget, $"{o.Key} went {o.Outage.TotalSeconds:F2} s without a success (target {RecoveryTarget.TotalSeconds} s)"));

        await submitting;
        var result = await client.WaitAsync(jobId, cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(180)).Token);
        output.WriteLine($"job: {result.Status.SucceededTasks} ok, {result.Status.RedispatchedBatches} batches re-dispatched");
        Assert.Equal(JobState.Completed, result.Status.State);
        Assert.Equal(tasks, result.Status.SucceededTasks);
        Assert.Equal((long)tasks * (tasks - 1) / 2, result.TaskIdChecksum);

        var described = await client.DescribeCollectionAsync(collection);
        // Every acknowledged point is there; a batch cut off by the end of the run may have landed in part.
        Assert.InRange(described.Points, 1000 + ingested.Count, 1000 + attempted);
        foreach (var id in ingested)
        {
            Assert.NotNull(await client.GetPointAsync(collection, id));
        }

        var inbox = new List<AgentMessage>();
        foreach (var r in receivers)
        {
            inbox.AddRange(await client.Agent(r).ReadInboxAsync(1_000_000));
        }

        var received = inbox.Select(m => Encoding.UTF8.GetString(m.Body)).ToList();
        var lost = delivered.SelectMany(d => d.Value.Select(n => $"{d.Key}:{n}")).Except(received).ToList();
        output.WriteLine($"messages acknowledged {delivered.Sum(d => d.Value.Count)}, received {received.Count} ({received.Count - received.Distinct().Count()} repeats), lost {lost.Count}");
        Assert.Empty(lost);
        cluster.Passed();
    }

    private static int InstanceOf(string silo) =>
        int.Parse(silo.Split(':')[1].Split('@')[0], System.Globalization.CultureInfo.InvariantCulture) - HostSettings.SiloPortBase;

    private static PointInput Point(string id, Random random) =>
        new(id, Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());

    /// <summary>One client-side loop of one kind of operation, with the time of every success.</summary>
    private sealed class Loop(string kind, Func<int, Task> operation)
    {
        private readonly List<long> _successes = [];

        public string Kind => kind;

        public int Completed => Volatile.Read(ref _completed);

        public List<Exception> Failures { get; } = [];

        private int _completed;

        public async Task RunAsync(CancellationToken stop)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    await operation(n);
                    lock (_successes)
                    {
                        _successes.Add(Stopwatch.GetTimestamp());
                    }

                    Interlocked.Increment(ref _completed);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    Failures.Add(e);
                }
            }
        }

        /// <summary>The longest stretch without a success from the last one before the kill to the end.</summary>
        public TimeSpan LongestGapAround(long killedAt)
        {
            lock (_successes)
            {
                var last = _successes.LastOrDefault(t => t <= killedAt, killedAt);
                var after = _successes.Where(t => t > killedAt).Prepend(last).ToList();
                return after.Count < 2
                    ? TimeSpan.MaxValue
                    : after.Zip(after.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).Max();
            }
        }
    }
}
