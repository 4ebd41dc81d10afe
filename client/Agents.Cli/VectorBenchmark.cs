using System.Diagnostics;
using Agents.Engine;
using Agents.Hosting;
using Agents.Engine.Vectors;

namespace Agents.Cli;

/// <summary>
/// <c>benchmark --task-type vector-store|vector-search</c>: acknowledged upserts/s, or queries/s with latency and
/// recall@k, on a TEXMEX dataset (<c>--dataset DIR</c> with base.fvecs, query.fvecs, groundtruth.ivecs) or on
/// generated clustered data whose ground truth is computed exactly.
/// </summary>
public static class VectorBenchmark
{
    /// <summary>Options of a vector benchmark.</summary>
    public sealed record Options(
        string TaskType, int Points, int Queries, int Dimension, int K, int? Ef, int Shards, VectorIndexKind Index, int Concurrency, string? Dataset, int Seed = 42, bool Quantize = false, int QueryBatch = 1);

    /// <summary>
    /// Checks what can be checked before anything starts: the data set's files are there, or the generated data fits in
    /// memory (it is held whole).
    /// </summary>
    public static void Check(Options o)
    {
        if (o.Dataset is { } dir)
        {
            if (!Directory.Exists(dir))
            {
                throw new DirectoryNotFoundException($"--dataset folder '{dir}' does not exist.");
            }

            foreach (var f in DatasetFiles(dir).Where(f => !File.Exists(f)))
            {
                throw new FileNotFoundException($"--dataset '{dir}' lacks {Path.GetFileName(f)} (TEXMEX layout: base.fvecs, query.fvecs, groundtruth.ivecs).");
            }

            return;
        }

        var bytes = ((long)o.Points + o.Queries) * o.Dimension * sizeof(float);
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available / 2)
        {
            throw new ArgumentException(
                $"--tasks {o.Points} and --queries {o.Queries} vectors of --dimension {o.Dimension} need {ValueParsers.FormatSize(bytes)} to generate, " +
                $"more than half of the {ValueParsers.FormatSize(available)} available: use fewer, or --dataset.");
        }
    }

    /// <summary>Runs the benchmark and returns its figures; <paramref name="cpu"/>, when given, is read over the measured phase only.</summary>
    public static async Task<(double Seconds, int Operations, double[] LatenciesMs, double? Recall, double BytesPerVector, IReadOnlyList<NodeFigures> PerNode)> RunAsync(
        AgentsClient client, Options o, Action<string> say, CancellationToken cancellationToken, CpuWindow? cpu = null, bool quiet = false)
    {
        var (points, queries, truth) = Load(o, say);
        var dimension = points[0].Length;
        var name = $"bench-{Guid.NewGuid():N}"[..24];
        await client.CreateCollectionAsync(new CollectionSpec(name, dimension, VectorMetric.L2, o.Shards, o.Index, Quantize: o.Quantize), cancellationToken);
        try
        {
            // The client streams batches of write_buffer_size bytes per shard, several in flight; each is timed to its acknowledgement.
            var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
            var store = o.TaskType == "vector-store" ? cpu : null;
            store?.Start();
            var clock = Stopwatch.StartNew();
            await ProgressReporter.RunAsync($"benchmark {o.TaskType}: upsert", "vectors", quiet, report => client.UpsertAsync(
                name,
                points.Select((v, i) => new PointInput(i.ToString(System.Globalization.CultureInfo.InvariantCulture), v)),
                new ProgressReporter.Reported<long>(n => report(n, points.Count)),
                batchAcknowledged: t => latencies.Add(t.TotalMilliseconds),
                cancellationToken));
            var upsertSeconds = clock.Elapsed.TotalSeconds;
            store?.Stop();
            say($"{points.Count} vectors of {dimension} acknowledged durable in {upsertSeconds:F2} s ({points.Count / upsertSeconds:F0}/s)");
            var info = await WaitIndexedAsync(client, name, say, cancellationToken);
            // Heap bytes: floats, graph and codes. A quantized collection's floats are memory-mapped and reported apart.
            var bytesPerVector = info.Shards.Sum(s => (double)s.VectorBytes + s.IndexBytes) / Math.Max(1, info.Points);
            var rawBytes = dimension * (double)sizeof(float);
            var mapped = info.Shards.Sum(s => (double)s.MappedBytes) / Math.Max(1, info.Points);
            say($"memory: {bytesPerVector:F0} bytes per vector on the heap ({bytesPerVector / rawBytes:F3} x the {rawBytes:F0} raw float bytes)" +
                (mapped > 0 ? $", {mapped:F0} more memory-mapped" : ""));
            var perNode = info.Shards.GroupBy(s => s.Silo).Select(g => new NodeFigures(g.Key, (int)g.Sum(s => s.Points), 0)).ToList();
            if (o.TaskType == "vector-store")
            {
                return (upsertSeconds, points.Count, [.. latencies], null, bytesPerVector, perNode);
            }

            // Queries from several concurrent callers, each timed; recall against the ground truth. More queries than the
            // data set holds go round it again, so a fast path is measured for longer than a fraction of a second.
            var total = Math.Max(o.Queries, queries.Count);
            var results = new string[total][];
            var queryLatencies = new double[total];
            var next = -1;
            var answered = 0;
            cpu?.Start();
            clock.Restart();
            await ProgressReporter.RunAsync($"benchmark {o.TaskType}", "queries", quiet, async report =>
            {
                await Task.WhenAll(Enumerable.Range(0, o.Concurrency).Select(async _ =>
                {
                    int q;
                    if (o.QueryBatch > 1)
                    {
                        // A batch of queries per shard call; each query's latency is its batch's.
                        while ((q = Interlocked.Add(ref next, o.QueryBatch) - o.QueryBatch + 1) < total)
                        {
                            var count = Math.Min(o.QueryBatch, total - q);
                            var t0 = Stopwatch.GetTimestamp();
                            var batch = await client.SearchBatchAsync(name, Enumerable.Range(q, count).Select(i => queries[i % queries.Count]).ToList(), o.K, o.Ef, batchSize: count, cancellationToken: cancellationToken);
                            var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                            for (var i = 0; i < count; i++)
                            {
                                queryLatencies[q + i] = ms;
                                results[q + i] = batch[i].Select(h => h.Id).ToArray();
                            }

                            report(Interlocked.Add(ref answered, count), total);
                        }

                        return;
                    }

                    while ((q = Interlocked.Increment(ref next)) < total)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        var hits = await client.SearchAsync(name, queries[q % queries.Count], o.K, o.Ef, filter: null, withPayloads: false, cancellationToken);
                        queryLatencies[q] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                        results[q] = hits.Select(h => h.Id).ToArray();
                        report(Interlocked.Increment(ref answered), total);
                    }
                }));
                return answered;
            });
            var searchSeconds = clock.Elapsed.TotalSeconds;
            cpu?.Stop();
            double found = 0;
            for (var q = 0; q < total; q++)
            {
                var expected = truth[q % queries.Count].Take(o.K).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
                found += results[q].Count(expected.Contains);
            }

            var recall = found / (total * (double)o.K);
            say($"{total} queries in {searchSeconds:F2} s ({total / searchSeconds:F0}/s), recall@{o.K} {recall:F4}" +
                (o.QueryBatch > 1 ? $", {o.QueryBatch} queries per shard call" : ""));
            return (searchSeconds, total, queryLatencies, recall, bytesPerVector, perNode);
        }
        finally
        {
            await client.DropCollectionAsync(name, CancellationToken.None);
        }
    }

    private static async Task<CollectionInfo> WaitIndexedAsync(AgentsClient client, string name, Action<string> say, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var info = await client.DescribeCollectionAsync(name, cancellationToken);
            if (info.Indexed >= info.Points || info.Spec.Index == VectorIndexKind.Flat)
            {
                say($"indexed {info.Indexed} points ({clock.Elapsed.TotalSeconds:F1} s after the last acknowledgement)");
                return info;
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private static string[] DatasetFiles(string dir) =>
        [Path.Combine(dir, "base.fvecs"), Path.Combine(dir, "query.fvecs"), Path.Combine(dir, "groundtruth.ivecs")];

    private static (List<float[]> Points, List<float[]> Queries, int[][] Truth) Load(Options o, Action<string> say)
    {
        if (o.Dataset is { } dir)
        {
            Check(o);
            var files = DatasetFiles(dir);
            var (basePath, queryPath, truthPath) = (files[0], files[1], files[2]);
            var points = VectorFiles.ReadFvecs(basePath).Take(o.Points > 0 ? o.Points : int.MaxValue).ToList();
            var queries = VectorFiles.ReadFvecs(queryPath).Take(o.Queries).ToList();
            var truth = VectorFiles.ReadIvecs(truthPath).Take(queries.Count).ToArray();
            if (points.Count == 0 || queries.Count == 0)
            {
                throw new InvalidDataException($"--dataset '{dir}': {(points.Count == 0 ? basePath : queryPath)} holds no vectors.");
            }

            if (queries[0].Length != points[0].Length)
            {
                throw new InvalidDataException($"--dataset '{dir}': the queries have {queries[0].Length} dimensions, the base vectors {points[0].Length}.");
            }

            if (o.Points > 0 && o.Points < VectorFiles.ReadFvecs(basePath).Count())
            {
                // The shipped ground truth is for the whole base set: recompute it for the subset.
                truth = GroundTruth(points, queries, o.K);
            }
            else if (truth.Length < queries.Count)
            {
                throw new InvalidDataException($"--dataset '{dir}': {truthPath} has {truth.Length} rows for {queries.Count} queries.");
            }

            return (points, queries, truth);
        }

        var generated = Clustered(o.Points + o.Queries, o.Dimension, o.Seed);
        var basePoints = generated.Take(o.Points).ToList();
        var queryPoints = generated.Skip(o.Points).ToList();
        say($"computing exact ground truth for {queryPoints.Count} queries over {basePoints.Count} vectors");
        return (basePoints, queryPoints, GroundTruth(basePoints, queryPoints, o.K));
    }

    /// <summary>Gaussian clusters around random centres: closer to real embeddings than uniform noise.</summary>
    public static List<float[]> Clustered(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var centres = Enumerable.Range(0, 100).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)Normal()).ToArray()).ToArray();
        return Enumerable.Range(0, count).Select(_ =>
        {
            var c = centres[random.Next(centres.Length)];
            return c.Select(x => x + (float)(0.5 * Normal())).ToArray();
        }).ToList();
    }

    private static int[][] GroundTruth(List<float[]> points, List<float[]> queries, int k)
    {
        var truth = new int[queries.Count][];
        Parallel.For(0, queries.Count, q =>
        {
            var top = new TopK(k);
            for (var i = 0; i < points.Count; i++)
            {
                top.Offer(i, DistanceKernels.Score(Agents.Engine.Vectors.DistanceMetric.L2, queries[q], points[i]));
            }

            truth[q] = top.ToSortedArray().Select(h => h.Slot).ToArray();
        });
        return truth;
    }
}
