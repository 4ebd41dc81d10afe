using System.Diagnostics;
using Agents.Engine.Text;

namespace Agents.Cli;

/// <summary>A benchmark's options, each checked: what to run, where, and what to write.</summary>
/// <param name="Connection">The cluster, or the embedded silo, the workload runs on.</param>
/// <param name="Settings">The settings of the client and the embedded or started silos.</param>
/// <param name="IsCluster"><c>--mode cluster</c>.</param>
/// <param name="Spec">The job of a text, embedding or e2e run; its task type names the workload.</param>
/// <param name="Tasks">Tasks, messages or points to run.</param>
/// <param name="Documents">The documents of a job run.</param>
/// <param name="Warmup">Tasks run (and not measured) before a job run.</param>
/// <param name="DocumentSize">Bytes per generated document.</param>
/// <param name="Vector">The options of a vector-store or vector-search run.</param>
/// <param name="NodeCounts">The silos expected, or started for each count in turn.</param>
/// <param name="StartsSilos">True when this command starts the silos of each count.</param>
/// <param name="Pin">Pin each started silo to its own core.</param>
/// <param name="CpuLimit">Cores each started silo is capped at.</param>
/// <param name="Output">The result JSON to write.</param>
/// <param name="Quiet">Print the result as JSON, and nothing else.</param>
/// <param name="Repeat">Runs of each node count (<c>--repeat</c>), each on freshly started silos when this command starts them.</param>
internal sealed record BenchmarkPlan(
    Target Connection, AgentsSettings Settings, bool IsCluster, JobSpec Spec, int Tasks, IEnumerable<JobTask> Documents, int Warmup, int DocumentSize,
    VectorBenchmark.Options? Vector, IReadOnlyList<int>? NodeCounts, bool StartsSilos, bool Pin, double? CpuLimit, string? Output, bool Quiet, int Repeat = 1);

/// <summary>
/// Runs a benchmark: for each node count the silos started (with <c>--nodes</c>), the workload measured, and its result
/// printed and written; the exit code is non-zero when a run had errors.
/// </summary>
internal sealed class BenchmarkRun(BenchmarkPlan plan)
{
    // Which of the plan's repeated runs is going on (1-based).
    private int _run = 1;

    /// <summary>
    /// Runs the plan: each repeat goes through the node counts in turn (so drift over time falls on every count alike),
    /// and each run of a count is written to a file of its own.
    /// </summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        for (_run = 1; _run <= plan.Repeat; _run++)
        {
            failures += await RunOnceAsync(cancellationToken) == 0 ? 0 : 1;
        }

        return failures == 0 ? 0 : 1;
    }

    /// <summary>One run of the plan, one node count after another.</summary>
    private async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var connection = plan.Connection;
        if (plan.StartsSilos)
        {
            // Real silo processes for each node count: start, run, collect, stop, one count after another.
            var failures = 0;
            var reference = new ScaleReference();
            foreach (var count in plan.NodeCounts!)
            {
                await using var launcher = await SiloLauncher.StartAsync(new(count, connection.PostgreSql, plan.Pin, plan.CpuLimit), Say, cancellationToken);
                // A development cluster of the started silos is reached through their gateways.
                var joined = connection.PostgreSql is null ? connection.WithGateways(launcher.Gateways) : connection;
                if (connection.PostgreSql is null)
                {
                    // A gateway's port opens before its silo is active; through the primary, wait until every silo is.
                    await using var probe = await connection.WithGateways([launcher.Gateways[0]]).ConnectAsync(cancellationToken);
                    await WaitForSilosAsync(probe, count, cancellationToken);
                }

                var exit = await RunTypeAsync(joined, count, OutputPath(plan.NodeCounts.Count > 1 ? count : null), launcher, reference, cancellationToken);
                failures += exit == 0 ? 0 : 1;
            }

            return failures == 0 ? 0 : 1;
        }

        return await RunTypeAsync(connection, plan.NodeCounts?[0], OutputPath(null), null, new ScaleReference(), cancellationToken);
    }

    /// <summary>The result file of this run: <c>--output</c>, with <c>-N-nodes</c> for a count of a range and <c>-run-R</c> for a repeat.</summary>
    private string? OutputPath(int? count) =>
        plan.Output is not { } o ? null
        : count is null && plan.Repeat == 1 ? o
        : Path.Combine(
            Path.GetDirectoryName(o) ?? "",
            $"{Path.GetFileNameWithoutExtension(o)}{(count is { } n ? $"-{n}-nodes" : "")}{(plan.Repeat > 1 ? $"-run-{_run}" : "")}{Path.GetExtension(o)}");

    /// <summary>The result stamped with what a reader needs to place it: the commit and which repeat it is.</summary>
    private BenchmarkResult Stamped(BenchmarkResult report) => report with { Commit = SourceCommit.Current, Run = _run, Runs = plan.Repeat };

    private async Task<int> RunTypeAsync(Target connection, int? expected, string? outputPath, SiloLauncher? launcher, ScaleReference reference, CancellationToken cancellationToken) =>
        plan.Vector is { } vector ? await RunVectorAsync(vector, connection, expected, outputPath, launcher, reference, cancellationToken)
        : plan.Spec.TaskType == "messaging" ? await RunMessagingAsync(connection, expected, outputPath, launcher, reference, cancellationToken)
        : await RunJobAsync(connection, expected, outputPath, launcher, reference, cancellationToken);

    /// <summary>A job of the plan's task type over its documents, after a warm-up job; e2e writes into a collection of its own.</summary>
    private async Task<int> RunJobAsync(Target connection, int? expected, string? outputPath, SiloLauncher? launcher, ScaleReference reference, CancellationToken cancellationToken)
    {
        await using var client = await ProgressReporter.ConnectAsync(connection, plan.Quiet, cancellationToken);
        var silos = await WaitForSilosAsync(client, expected, cancellationToken);
        var spec = plan.Spec;
        // Millions of generated documents take seconds to build: a Ctrl-C stops that too.
        var documents = plan.Documents.Select(d => { cancellationToken.ThrowIfCancellationRequested(); return d; }).ToList();
        string? benchCollection = null;
        if (spec.TaskType == TaskTypes.Ingest)
        {
            // e2e writes somewhere: a collection of its own, keyword-indexed as ingest makes them, dropped afterwards.
            benchCollection = $"bench-e2e-{Guid.NewGuid():N}"[..24];
            await client.CreateCollectionAsync(new CollectionSpec(benchCollection, IEmbeddingGrain.Dimension, VectorMetric.Cosine, Shards: Math.Max(2, silos.Count), TextFields: AgentsClient.IngestTextFields), cancellationToken);
            spec = spec with { Collection = benchCollection };
        }

        if (plan.Warmup is > 0 and var warm)
        {
            // Distinct documents (another seed), so the measured run meets none of them in the cache.
            var warmTasks = DocumentSource.GenerateTasks(warm, plan.DocumentSize, seed: 7919).ToList();
            await JobSubmission.RunAsync(client, spec with { Label = "warm-up" }, warmTasks, plan.Quiet, cancellationToken);
        }

        // The floor for a silo's CPU per task: the bare pipeline on this process's thread, on the run's own documents.
        var raw = launcher is not null && spec.TaskType == TaskTypes.TextProcessing ? RawPipelineSecondsPerTask(plan.Settings, documents) : (double?)null;

        // CPU of the started silos over the measured job alone: read after the warm-up and as the job ends.
        var window = new CpuWindow(launcher);
        window.Start();
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var (jobId, result) = await JobSubmission.RunAsync(client, spec, documents, plan.Quiet, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        window.Stop();
        var cpu = window.Silos;
        if (benchCollection is not null)
        {
            await client.DropCollectionAsync(benchCollection, CancellationToken.None);
        }

        var status = result.Status;
        var throughput = status.CountedTasks / seconds;
        var cpuTotal = window.Total;
        var report = window.Apply(new BenchmarkResult(
            plan.IsCluster ? "cluster" : "single-node", spec.TaskType, status.TotalTasks, silos.Count, spec.Distribution.ToName(),
            startedAt, seconds, throughput,
            new LatencyMs(result.Latency.P50, result.Latency.P95, result.Latency.P99, result.Latency.Max),
            status.FailedTasks,
            result.PerSilo.Select(s => new NodeFigures(
                s.Silo, s.Tasks, s.Tasks / seconds, cpu?.FirstOrDefault(c => s.Silo.Contains($":{c.SiloPort}@", StringComparison.Ordinal))?.CpuSeconds)).ToList(),
            new MemoryFigures(Process.GetCurrentProcess().PeakWorkingSet64),
            MachineInfo.Current(),
            ConfigSummary(plan.Settings, spec, plan.Warmup),
            new JobResultSummary(
                jobId, status.SucceededTasks, status.FailedTasks, status.TotalBatches, status.RedispatchedBatches,
                result.Totals.Tokens, result.Totals.Chunks, result.Totals.Sentences, result.Totals.Words,
                result.TopKeywords.Select(k => k.Term).ToList(), result.TaskIdChecksum,
                result.Totals.Embeddings, result.Totals.Embeddings / seconds),
            Metrics: plan.IsCluster ? await AggregatorViewAsync(client, silos.Count, cancellationToken) : null), status.CountedTasks) with
        {
            RawPipelineSecondsPerTask = raw,
            CpuOverRawPipeline = raw is > 0 ? cpuTotal / Math.Max(1, status.CountedTasks) / raw : null,
            // Against the one-silo run of this invocation; a one-silo run is its own reference.
            Efficiency = reference.Efficiency("throughput", expected, launcher is not null, silos.Count, throughput),
        };
        report = Stamped(report);
        if (outputPath is { } path)
        {
            await report.WriteAsync(path);
        }

        if (plan.Quiet)
        {
            Console.WriteLine(report.ToJson());
        }
        else
        {
            Console.WriteLine(
                $"{report.Tasks} {report.TaskType} tasks on {report.Nodes} silo(s) ({connection.Describe()}) in {seconds:F2} s: " +
                $"{report.ThroughputPerSecond:F0} tasks/s, latency p50 {report.LatencyMs.P50:F3} ms p95 {report.LatencyMs.P95:F3} ms " +
                $"p99 {report.LatencyMs.P99:F3} ms, {report.Errors} errors, peak working set {report.Memory.PeakWorkingSetBytes / (1024 * 1024)} MB" +
                (result.Totals.Embeddings > 0 ? $"; {result.Totals.Embeddings} embeddings ({result.Totals.Embeddings / seconds:F1}/s)" : "") +
                (report.CpuSecondsPerTask is { } perTask ? $"; silo CPU {report.CpuSecondsTotal:F2} s ({perTask * 1000:F3} ms/task)" : "") +
                (report.CpuLimit is { } capped ? $" capped at {capped} cores each" : "") +
                (report.CpuOverRawPipeline is { } overRaw ? $", {overRaw:F2} x the bare pipeline ({report.RawPipelineSecondsPerTask * 1000:F3} ms/task)" : "") +
                (report.Efficiency is { } efficiency ? $", efficiency {efficiency:F2}" : ""));
            foreach (var node in report.PerNode)
            {
                Console.WriteLine($"  {node.Silo}: {node.Tasks} tasks ({node.ThroughputPerSecond:F0}/s){(node.CpuSeconds is { } c ? $", {c:F2} CPU s" : "")}");
            }

            if (outputPath is { } written)
            {
                Console.WriteLine($"result written to {written}");
            }
        }

        return report.Errors == 0 ? 0 : 1;
    }

    /// <summary>Agent messages: batched one-way, request/reply and paced, over agent pairs spread on the silos.</summary>
    private async Task<int> RunMessagingAsync(Target connection, int? expected, string? output, SiloLauncher? launcher, ScaleReference reference, CancellationToken cancellationToken)
    {
        await using var client = await ProgressReporter.ConnectAsync(connection, plan.Quiet, cancellationToken);
        var silos = await WaitForSilosAsync(client, expected, cancellationToken);
        var startedAt = DateTimeOffset.UtcNow;
        // The headline phase (batched one-way) and request/reply each get a CPU window of their own.
        var batched = new CpuWindow(launcher);
        var ask = new CpuWindow(launcher);
        var f = await MessagingBenchmark.RunAsync(client, plan.Tasks, Math.Max(4, 2 * silos.Count), Say, cancellationToken, batched, ask);
        var config = MessagingBenchmark.Describe(f);
        config["messageBatchSize"] = plan.Settings.Performance.MessageBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        config["messageFlushInterval"] = plan.Settings.Performance.MessageFlushInterval.ToString();
        var askEfficiency = reference.Efficiency("requestReply", expected, launcher is not null, silos.Count, f.AskPerSecond);
        if (ask.Silos is not null)
        {
            config["requestReplySiloCpuSeconds"] = ask.Total!.Value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
            config["requestReplySiloCpuMsPerMessage"] = (ask.Total.Value * 1000 / Math.Max(1, f.AskMessages)).ToString("F4", System.Globalization.CultureInfo.InvariantCulture);
            config["requestReplyClientCpuSeconds"] = ask.ClientCpuSeconds!.Value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
        }

        if (askEfficiency is { } e)
        {
            config["requestReplyEfficiency"] = e.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
        }

        var report = batched.Apply(new BenchmarkResult(
            plan.IsCluster ? "cluster" : "single-node", "messaging", plan.Tasks, silos.Count, "agent pairs", startedAt, f.BatchedSeconds, f.BatchedPerSecond,
            f.BatchedLatency, 0, [], new MemoryFigures(Process.GetCurrentProcess().PeakWorkingSet64), MachineInfo.Current(), config), f.BatchedMessages) with
        {
            Efficiency = reference.Efficiency("throughput", expected, launcher is not null, silos.Count, f.BatchedPerSecond),
        };
        report = Stamped(report);
        if (output is not null)
        {
            await report.WriteAsync(output);
        }

        Console.WriteLine(plan.Quiet ? report.ToJson()
            : $"messaging on {report.Nodes} silo(s): batched {f.BatchedPerSecond:F0}/s (delivery p50 {f.BatchedLatency.P50:F2} ms p99 {f.BatchedLatency.P99:F2} ms)" +
              CpuSummary(report, "message") + "; " +
              $"request/reply {f.AskPerSecond:F0}/s (p50 {f.AskLatency.P50:F2} ms p99 {f.AskLatency.P99:F2} ms) = {f.AskPerSecond / f.RawPerSecond:F2} x raw grain calls {f.RawPerSecond:F0}/s" +
              (ask.Total is { } askCpu ? $", silo CPU {askCpu:F2} s ({askCpu * 1000 / Math.Max(1, f.AskMessages):F4} ms/message), client CPU {ask.ClientCpuSeconds:F2} s" : "") +
              (askEfficiency is { } ae ? $", efficiency {ae:F2}" : "") + "; " +
              $"at {f.PacedRate:F0}/s p50 {f.PacedLatency.P50:F2} ms p99 {f.PacedLatency.P99:F2} ms");
        return 0;
    }

    /// <summary>Vector upserts (vector-store) or searches (vector-search) on a collection of the benchmark's own.</summary>
    private async Task<int> RunVectorAsync(
        VectorBenchmark.Options options, Target connection, int? expected, string? output, SiloLauncher? launcher, ScaleReference reference, CancellationToken cancellationToken)
    {
        await using var client = await ProgressReporter.ConnectAsync(connection, plan.Quiet, cancellationToken);
        var silos = await WaitForSilosAsync(client, expected, cancellationToken);
        var startedAt = DateTimeOffset.UtcNow;
        // Over the measured phase only: the upserts for vector-store, the queries (not the ingest) for vector-search.
        var window = new CpuWindow(launcher);
        var (seconds, operations, latencies, recall, bytesPerVector, perNode) =
            await VectorBenchmark.RunAsync(client, options, Say, cancellationToken, window, plan.Quiet);
        var report = window.Apply(new BenchmarkResult(
            plan.IsCluster ? "cluster" : "single-node", options.TaskType, operations, silos.Count, "hash", startedAt, seconds, operations / seconds,
            Percentiles.Exact(latencies),
            0, perNode, new MemoryFigures(Process.GetCurrentProcess().PeakWorkingSet64, bytesPerVector), MachineInfo.Current(),
            new Dictionary<string, string>
            {
                ["points"] = options.Points.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["shards"] = (options.Shards == ShardRouter.ClusterDefaultShards ? ShardRouter.DefaultShards(silos.Count) : options.Shards).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["index"] = options.Index.ToName(),
                ["quantize"] = options.Quantize ? "int8, rescored on full vectors" : "off",
                ["ef"] = options.Ef?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "collection default (64)",
                ["concurrency"] = options.Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["dataset"] = options.Dataset ?? $"generated clustered, dimension {options.Dimension}",
                ["simd"] = plan.Settings.EnableSimd ? "on" : "off",
            },
            RecallAtK: recall, K: recall is null ? null : options.K), operations) with
        {
            Efficiency = reference.Efficiency("throughput", expected, launcher is not null, silos.Count, operations / seconds),
        };
        report = Stamped(report);
        if (output is not null)
        {
            await report.WriteAsync(output);
        }

        Console.WriteLine(plan.Quiet ? report.ToJson()
            : $"{report.TaskType} on {report.Nodes} silo(s): {report.ThroughputPerSecond:F0}/s, latency p50 {report.LatencyMs.P50:F2} ms p95 {report.LatencyMs.P95:F2} ms p99 {report.LatencyMs.P99:F2} ms" +
              (recall is { } r ? $", recall@{options.K} {r:F4}" : "") + $", {bytesPerVector:F0} bytes per vector in the shards" +
              CpuSummary(report, options.TaskType == "vector-search" ? "query" : "vector"));
        return 0;
    }

    /// <summary>The console's CPU part of a result: silo CPU per operation, the cap, the client's CPU and the efficiency.</summary>
    private static string CpuSummary(BenchmarkResult report, string per) =>
        (report.CpuSecondsPerTask is { } perOp ? $"; silo CPU {report.CpuSecondsTotal:F2} s ({perOp * 1000:F3} ms/{per})" : "") +
        (report.CpuLimit is { } capped ? $" capped at {capped} cores each" : "") +
        (report.ClientCpuSeconds is { } client ? $", client CPU {client:F2} s" : "") +
        (report.Efficiency is { } efficiency ? $", efficiency {efficiency:F2}" : "");

    /// <summary>The aggregator's view once every silo has reported to it (waiting up to 15 s, a few metrics intervals).</summary>
    private static async Task<ClusterMetricsView> AggregatorViewAsync(AgentsClient client, int silos, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var view = await client.GetMetricsAsync(cancellationToken);
            if (view.Nodes.Count >= silos || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>
    /// Seconds per document of the bare text pipeline on one thread, over up to 2,000 of <paramref name="documents"/>
    /// after a second of warm-up: what processing costs before any scheduling, messaging or storage.
    /// </summary>
    private static double RawPipelineSecondsPerTask(AgentsSettings settings, IReadOnlyList<JobTask> documents)
    {
        var pipeline = settings.Text.CreatePipeline();
        var sample = documents.Take(2000).ToList();

        // A second of warm-up, so the timed pass runs the optimised code a long-running silo runs.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(1))
        {
            foreach (var task in sample.Take(200))
            {
                Process(task);
            }
        }

        var clock = Stopwatch.StartNew();
        foreach (var task in sample)
        {
            Process(task);
        }

        return clock.Elapsed.TotalSeconds / Math.Max(1, sample.Count);

        void Process(JobTask task)
        {
            try
            {
                pipeline.Process(task.Content, TextPipeline.ContentHash(task.Content));
            }
            catch (DocumentRejectedException)
            {
                // A rejected document costs what its rejection costs, as it does in a silo.
            }
        }
    }


    /// <summary>The active silos, after waiting (up to a minute) for <paramref name="expected"/> of them when given.</summary>
    private static async Task<Dictionary<SiloAddress, SiloStatus>> WaitForSilosAsync(AgentsClient client, int? expected, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var silos = await client.Cluster.GetGrain<Orleans.Runtime.IManagementGrain>(0).GetHosts(onlyActive: true);
            if (expected is null || silos.Count == expected)
            {
                return silos;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new ArgumentException($"--nodes {expected} was asked, but the cluster has {silos.Count} active silos.");
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private static Dictionary<string, string> ConfigSummary(AgentsSettings s, JobSpec spec, int warmup) => new()
    {
        ["warmup_tasks"] = warmup.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["worker_threads"] = s.Performance.WorkerThreads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["message_batch_size"] = (spec.BatchSize > 0 ? spec.BatchSize : s.Performance.MessageBatchSize).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["document_cache_size"] = ValueParsers.FormatSize(s.Performance.DocumentCacheSize),
        ["chunk_tokens"] = s.Text.ChunkTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["chunk_overlap"] = s.Text.ChunkOverlap.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // What is happening, as progress: on stderr, so stdout holds only the result.
    private void Say(string line) => ProgressReporter.Say(line, plan.Quiet);
}
