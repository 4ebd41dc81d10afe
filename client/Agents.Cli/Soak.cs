using System.Diagnostics;
using System.Text;
using Agents.Engine;
using Agents.Hosting;

namespace Agents.Cli;

/// <summary>
/// <c>soak</c>: steady mixed load (text jobs, upserts over a fixed id space, searches, agent messages read back by
/// their receivers) for a set time, sampling every silo's resident memory. The data stays the same size, so memory
/// that keeps growing is a leak, not data: the result gives its least-squares slope after the warm-up, and none for a
/// run too short to have one.
/// </summary>
public static class Soak
{
    /// <summary>
    /// The least warm-up (JIT, caches, pools filling) left out of the memory slope: resident memory rises for minutes
    /// before it levels (docs/reliability.md), so a slope over less says nothing about leaks.
    /// </summary>
    public static readonly TimeSpan MinimumWarmUp = TimeSpan.FromMinutes(2);

    private const int Dimension = 64;
    private const int PointIds = 20_000;

    /// <summary>The figures of one run, written as JSON with <c>--output</c>.</summary>
    public sealed record Result(
        string Kind, double Seconds, int Nodes, IReadOnlyDictionary<string, long> Operations, IReadOnlyDictionary<string, double> OperationsPerSecond,
        long Errors, IReadOnlyList<string> ErrorSamples, IReadOnlyList<Sample> Samples, double? RssSlopeMbPerMinute, double RssStartMb, double RssEndMb,
        double? GcHeapSlopeMbPerMinute, double CollectionStartMb, double CollectionEndMb, double WarmUpSeconds);

    /// <summary>
    /// Resident memory of every silo and their managed heaps after the last collection (MB, from the metrics
    /// aggregator) at a moment of the run.
    /// </summary>
    public sealed record Sample(double AtSeconds, double RssMb, double GcHeapMb, long Operations);

    /// <summary>
    /// Runs the load for <paramref name="length"/> and measures it: resident memory of the processes
    /// <paramref name="pids"/> (the silos), or as the metrics aggregator reports it when they are elsewhere.
    /// </summary>
    public static async Task<Result> RunAsync(AgentsClient client, TimeSpan length, int nodes, IReadOnlyList<int>? pids, Action<string> say, CancellationToken cancellationToken)
    {
        var collection = $"soak-{Guid.NewGuid():N}"[..13];
        await client.CreateCollectionAsync(new CollectionSpec(collection, Dimension, Shards: 2), cancellationToken);
        await client.UpsertAsync(collection, Enumerable.Range(0, PointIds).Select(i => Point(i, 0)), cancellationToken: cancellationToken);
        var collectionStart = ShardMegabytes(await client.DescribeCollectionAsync(collection, cancellationToken));

        var counts = new Dictionary<string, long> { ["jobs"] = 0, ["upserts"] = 0, ["searches"] = 0, ["messages"] = 0 };
        var errors = new List<string>();
        long errorCount = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task LoopAsync(string kind, Func<int, Task> operation)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    await operation(n);
                    lock (counts)
                    {
                        counts[kind]++;
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    lock (errors)
                    {
                        errorCount++;
                        if (errors.Count < 20)
                        {
                            errors.Add($"{kind}: {e.GetType().Name}: {e.Message}");
                        }
                    }
                }
            }
        }

        var loops = new List<Task>
        {
            LoopAsync("jobs", async n =>
            {
                var tasks = Enumerable.Range(0, 200).Select(i => new JobTask(i, $"soak-{n}-{i}", Encoding.UTF8.GetBytes(DocumentSource.Generate(n * 200 + i, 1024, 11))));
                var id = await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 20, "soak"), tasks, stop.Token);
                var result = await client.WaitAsync(id, cancellationToken: stop.Token);
                if (result.Status.SucceededTasks != 200)
                {
                    throw new InvalidOperationException($"a soak job finished with {result.Status.SucceededTasks} of 200 tasks: {result.Status.State}");
                }
            }),
            LoopAsync("upserts", async n =>
            {
                // The same id space over and over: a steady amount of data, rewritten.
                var batch = Enumerable.Range(0, 100).Select(i => Point((n * 100 + i) % PointIds, n + 1)).ToList();
                await client.UpsertAsync(collection, batch, cancellationToken: stop.Token);
            }),
            LoopAsync("searches", async n =>
            {
                var hits = await client.SearchAsync(collection, Point(n % PointIds, n).Vector, 10, cancellationToken: stop.Token);
                if (hits.Length != 10)
                {
                    throw new InvalidOperationException($"a search of {PointIds} points found {hits.Length} of 10 neighbours");
                }
            }),
        };
        for (var pair = 0; pair < 4; pair++)
        {
            var (from, to) = ($"soak-sender-{pair}", $"soak-reader-{pair}");
            loops.Add(LoopAsync("messages", n => client.SendAsync(from, to, "note", Encoding.UTF8.GetBytes($"{n}"), stop.Token)));
            loops.Add(LoopAsync("inbox reads", async _ =>
            {
                await client.Agent(to).ReadInboxAsync(10_000);
                await Task.Delay(100, stop.Token);
            }));
        }

        counts["inbox reads"] = 0;
        var samples = new List<Sample>();
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(Math.Clamp(length.TotalSeconds / 60, 1, 10));
        while (clock.Elapsed < length)
        {
            await Task.Delay(interval, cancellationToken);
            long total;
            lock (counts)
            {
                total = counts.Where(c => c.Key != "inbox reads").Sum(c => c.Value);
            }

            var view = await client.GetMetricsAsync(cancellationToken);
            var heap = view.Nodes.Sum(n => n.Last.GcHeapBytes) / 1048576.0;
            var rss = pids?.Sum(ResidentMegabytes) ?? view.WorkingSetBytes / 1048576.0;
            samples.Add(new Sample(clock.Elapsed.TotalSeconds, rss, heap, total));
            say($"  {clock.Elapsed.TotalSeconds,6:F0} s  {samples[^1].RssMb,7:F1} MB resident  {heap,7:F1} MB managed  {total,9} operations  {Interlocked.Read(ref errorCount)} errors");
        }

        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var seconds = clock.Elapsed.TotalSeconds;
        // Overwrites tombstone the old slot (reclaimed when a shard reloads): the collection's own growth, apart from leaks.
        var collectionEnd = ShardMegabytes(await client.DescribeCollectionAsync(collection, cancellationToken));
        await client.DropCollectionAsync(collection, cancellationToken);
        var warmUp = WarmUp(length);
        return new Result(
            "soak", seconds, nodes, counts, counts.ToDictionary(c => c.Key, c => c.Value / seconds), errorCount, errors, samples,
            SteadySlope(samples, warmUp, s => s.RssMb), samples.FirstOrDefault()?.RssMb ?? 0, samples.LastOrDefault()?.RssMb ?? 0,
            SteadySlope(samples, warmUp, s => s.GcHeapMb), collectionStart, collectionEnd, warmUp.TotalSeconds);
    }

    /// <summary>The warm-up of a run of <paramref name="length"/>: its first fifth, and at least <see cref="MinimumWarmUp"/>.</summary>
    public static TimeSpan WarmUp(TimeSpan length) => length / 5 > MinimumWarmUp ? length / 5 : MinimumWarmUp;

    /// <summary>
    /// The slope (MB/min) of <paramref name="value"/> over the samples after <paramref name="warmUp"/>; null when fewer than
    /// three samples follow it (a run no longer than its warm-up has no slope to give).
    /// </summary>
    public static double? SteadySlope(IReadOnlyList<Sample> samples, TimeSpan warmUp, Func<Sample, double> value)
    {
        var steady = samples.Where(s => s.AtSeconds > warmUp.TotalSeconds).Select(s => (s.AtSeconds / 60, value(s))).ToList();
        return steady.Count >= 3 ? Slope(steady) : null;
    }

    /// <summary>The least-squares slope of y over x (0 for fewer than two points).</summary>
    public static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return 0;
        }

        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    private static double ShardMegabytes(CollectionInfo info) => info.Shards.Sum(s => s.VectorBytes + s.IndexBytes) / 1048576.0;

    private static double ResidentMegabytes(int pid)
    {
        // VmRSS in /proc/PID/status, in kB.
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return 0;
    }

    private static PointInput Point(int id, int version)
    {
        var random = new Random(id * 31 + version);
        return new PointInput($"p{id}", Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
    }
}
