using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Text.Json;
using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Vectors;

namespace Agents.Cli;

/// <summary>The <c>p2p-ai-agents</c> command tree.</summary>
public static class Commands
{
    private static readonly Option<string?> ClusterOption = new("--cluster")
    {
        Description = "PostgreSQL connection string of the cluster (or P2P_CLUSTER); with neither this nor --gateway, an embedded silo runs in this process.",
        Recursive = true,
    };

    private static readonly Option<string[]> GatewayOption = new("--gateway")
    {
        Description = "A gateway host:port (repeatable; or P2P_GATEWAYS, comma-separated).",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<string?> ConfigOption = new("--config")
    {
        Description = "performance.yaml for the embedded silo and the client (or P2P_CONFIG).",
        Recursive = true,
    };

    private static readonly Option<string?> DataDirOption = new("--data-dir")
    {
        Description = "Where the embedded silo keeps collections (or P2P_DATA_DIR; default $XDG_DATA_HOME/p2p-ai-agents).",
        Recursive = true,
    };

    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print machine-readable JSON.", Recursive = true };

    /// <summary>The root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("p2p-ai-agents: run AI-agent workloads on an Orleans cluster.");
        root.Options.Add(ClusterOption);
        root.Options.Add(GatewayOption);
        root.Options.Add(ConfigOption);
        root.Options.Add(DataDirOption);
        root.Options.Add(JsonOption);
        root.Subcommands.Add(Benchmark());
        root.Subcommands.Add(Submit());
        root.Subcommands.Add(Ingest());
        root.Subcommands.Add(Stats());
        root.Subcommands.Add(Report());
        root.Subcommands.Add(Jobs());
        root.Subcommands.Add(Soak.Command(parse => Connection(parse, out _), JsonOption));
        root.Subcommands.Add(VectorCommands.Collection(parse => Connection(parse, out _), JsonOption));
        root.Subcommands.Add(VectorCommands.Vectors(parse => Connection(parse, out _), JsonOption));
        return root;
    }

    private static Command Benchmark()
    {
        var mode = new Option<string>("--mode") { Description = "single-node or cluster.", DefaultValueFactory = _ => "single-node" };
        mode.AcceptOnlyFromAmong("single-node", "cluster");
        var tasks = new Option<int>("--tasks") { Description = "Tasks to run.", DefaultValueFactory = _ => 1000 };
        var taskType = new Option<string>("--task-type") { Description = "Task type.", DefaultValueFactory = _ => TaskTypes.TextProcessing };
        var distribution = new Option<string>("--distribution") { Description = "round-robin, random or least-loaded.", DefaultValueFactory = _ => "round-robin" };
        var input = new Option<string?>("--input") { Description = "A folder of text files (repeated to make --tasks); generated documents otherwise." };
        var output = new Option<string?>("--output") { Description = "Write the result JSON here." };
        var nodes = new Option<string?>("--nodes")
        {
            Description = "Cluster mode: start this many silo processes here (or each count of a range such as 1..3), joined through --cluster, " +
                "or with neither --cluster nor --gateway forming a cluster of their own (no database); with --gateway, the silos expected.",
        };
        var pin = new Option<bool>("--pin") { Description = "With --nodes: pin each started silo to its own core (taskset)." };
        var cpuLimit = new Option<string?>("--cpu-limit") { Description = "With --nodes: cap each started silo at this many cores (e.g. 0.35) in a CPU cgroup of its own; needs root." };
        var batch = new Option<int>("--batch-size") { Description = "Tasks per batch; 0 takes message_batch_size.", DefaultValueFactory = _ => 0 };
        var docBytes = new Option<int>("--document-size") { Description = "Bytes per generated document.", DefaultValueFactory = _ => 2048 };
        var warmup = new Option<int>("--warmup") { Description = "Tasks run (and not measured) first, so the figures are of warm code.", DefaultValueFactory = _ => 2000 };
        var dataset = new Option<string?>("--dataset") { Description = "vector-*: a folder with base.fvecs, query.fvecs, groundtruth.ivecs (TEXMEX)." };
        var queries = new Option<int>("--queries") { Description = "vector-search: queries to run.", DefaultValueFactory = _ => 1000 };
        var dimension = new Option<int>("--dimension") { Description = "vector-*: dimension of generated vectors.", DefaultValueFactory = _ => 384 };
        var k = new Option<int>("-k", "--k") { Description = "vector-search: neighbours per query (recall@k).", DefaultValueFactory = _ => 10 };
        var ef = new Option<int?>("--ef") { Description = "vector-search: HNSW search breadth." };
        var shards = new Option<int>("--shards") { Description = "vector-*: shards of the benchmark collection; 0 (the default) is two per active silo.", DefaultValueFactory = _ => ShardRouter.ClusterDefaultShards };
        var index = new Option<string>("--index") { Description = "vector-*: hnsw or flat.", DefaultValueFactory = _ => "hnsw" };
        var quantize = new Option<bool>("--quantize") { Description = "vector-*: int8 codes in the graph, full vectors memory-mapped and used to rescore." };
        var concurrency = new Option<int>("--concurrency") { Description = "vector-search: queries in flight.", DefaultValueFactory = _ => 2 * Environment.ProcessorCount };
        var command = new Command("benchmark", "Run a workload through the cluster and report throughput, latency and memory.")
        {
            mode, tasks, taskType, distribution, input, output, nodes, pin, cpuLimit, batch, docBytes, warmup, dataset, queries, dimension, k, ef, shards, index, quantize, concurrency,
        };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            // Every option is checked before anything starts, whatever the task type.
            var type = parse.GetValue(taskType)!;
            if (!TaskTypes.All.Contains(type))
            {
                throw new ArgumentException($"--task-type '{type}' is unknown; use one of: {string.Join(", ", TaskTypes.All)}.");
            }

            var isCluster = parse.GetValue(mode) == "cluster";
            var isVector = type is "vector-store" or "vector-search";
            var taskCount = parse.GetValue(tasks);
            if (taskCount <= 0 && !(isVector && parse.GetValue(dataset) is not null))
            {
                throw new ArgumentException($"--tasks must be positive; got {taskCount}.");
            }

            var distributionKind = DistributionNames.Parse(parse.GetValue(distribution));
            AtLeast(parse.GetValue(batch), "--batch-size", 0);
            AtLeast(parse.GetValue(warmup), "--warmup", 0);
            AtLeast(parse.GetValue(queries), "--queries", 1);
            InRange(parse.GetValue(dimension), "--dimension", 1, ShardRouter.MaxDimension);
            InRange(parse.GetValue(k), "-k", 1, VectorShardGrain.MaxK);
            InRange(parse.GetValue(ef) ?? 1, "--ef", 1, VectorShardGrain.MaxEf);
            InRange(parse.GetValue(shards), "--shards", ShardRouter.ClusterDefaultShards, ShardRouter.MaxShards);
            AtLeast(parse.GetValue(concurrency), "--concurrency", 1);
            if (parse.GetValue(index) is not ("hnsw" or "flat"))
            {
                throw new ArgumentException($"--index '{parse.GetValue(index)}' is unknown: use hnsw or flat.");
            }

            if (parse.GetValue(quantize) && parse.GetValue(index) != "hnsw")
            {
                throw new ArgumentException("--quantize applies to the hnsw index; a flat index always scans the full vectors.");
            }

            var nodeCounts = ParseNodes(parse.GetValue(nodes));
            if (!isCluster && nodeCounts is not null && nodeCounts is not [1])
            {
                throw new ArgumentException($"--nodes {parse.GetValue(nodes)} needs --mode cluster: a single-node run has one silo.");
            }

            var cores = parse.GetValue(cpuLimit) is { } limit ? CpuCgroup.ParseCores(limit) : (double?)null;
            var files = parse.GetValue(input) is { } dir ? DocumentSource.ListFiles(PathOf(dir, "--input")) : null;
            var outputPath = OutputFile(parse.GetValue(output), "--output");
            var connection = ModeConnection(parse, isCluster, nodeCounts is not null, out var settings);
            // Silos are started here with --nodes, unless --gateway names a cluster that already runs.
            var startsSilos = isCluster && nodeCounts is not null && (connection.PostgreSql is not null || connection.IsEmbedded);
            if (nodeCounts is { Count: > 1 } && !startsSilos)
            {
                throw new ArgumentException("--nodes with a range starts silo processes for each count: drop --gateway (the silos then form a cluster of their own) or give --cluster \"<postgres connection string>\".");
            }

            if (cores is not null && !startsSilos)
            {
                throw new ArgumentException("--cpu-limit caps the silos this command starts: give --mode cluster --nodes N, without --gateway.");
            }

            if (cores is not null)
            {
                // Before anything starts: no controller is a bad-input error, not a half-started cluster.
                CpuCgroup.FindHierarchy();
            }

            InRange(parse.GetValue(docBytes), "--document-size", 1, (int)Math.Min(int.MaxValue, settings.Text.MaxDocumentSize));
            VectorBenchmark.Options? vectorOptions = null;
            if (isVector)
            {
                vectorOptions = new VectorBenchmark.Options(
                    type, taskCount, parse.GetValue(queries), parse.GetValue(dimension), parse.GetValue(k), parse.GetValue(ef), parse.GetValue(shards),
                    parse.GetValue(index)!, parse.GetValue(concurrency), parse.GetValue(dataset) is { } d ? PathOf(d, "--dataset") : null, Quantize: parse.GetValue(quantize));
                VectorBenchmark.Check(vectorOptions);
            }

            var spec = new JobSpec(type, distributionKind, parse.GetValue(batch), "benchmark");
            if (!isVector && type != "messaging")
            {
                TaskTypes.EnsureRunnable(spec.TaskType);
            }

            var source = files is null
                ? DocumentSource.GenerateTasks(taskCount, parse.GetValue(docBytes))
                : DocumentSource.ReadTasks(files, taskCount);
            var quiet = parse.GetValue(JsonOption);
            if (startsSilos)
            {
                // Real silo processes for each node count: start, run, collect, stop, one count after another.
                var failures = 0;
                var reference = new ScaleReference();
                foreach (var count in nodeCounts!)
                {
                    await using var launcher = await SiloLauncher.StartAsync(
                        new(count, connection.PostgreSql, parse.GetValue(pin), cores), line => { if (!quiet) Console.WriteLine(line); }, ct);
                    // A development cluster of the started silos is reached through their gateways.
                    var joined = connection.PostgreSql is null ? connection.WithGateways(launcher.Gateways) : connection;
                    if (connection.PostgreSql is null)
                    {
                        // A gateway's port opens before its silo is active; through the primary, wait until every silo is.
                        await using var probe = await connection.WithGateways([launcher.Gateways[0]]).ConnectAsync(ct);
                        await WaitForSilosAsync(probe, count, ct);
                    }

                    var path = outputPath is { } o && nodeCounts.Count > 1
                        ? Path.Combine(Path.GetDirectoryName(o) ?? "", $"{Path.GetFileNameWithoutExtension(o)}-{count}-nodes{Path.GetExtension(o)}")
                        : outputPath;
                    var exit = await RunTypeAsync(joined, count, path, launcher, reference);
                    failures += exit == 0 ? 0 : 1;
                }

                return failures == 0 ? 0 : 1;
            }

            return await RunTypeAsync(connection, nodeCounts?[0], outputPath, null, new ScaleReference());

            async Task<int> RunTypeAsync(Target connection, int? expected, string? outputPath, SiloLauncher? launcher, ScaleReference reference) =>
                vectorOptions is not null ? await RunVectorBenchmarkAsync(parse, vectorOptions, connection, settings, isCluster, outputPath, expected, launcher, reference, ct)
                : type == "messaging" ? await RunMessagingBenchmarkAsync(parse, taskCount, connection, settings, isCluster, outputPath, expected, launcher, reference, ct)
                : await RunOnceAsync(connection, expected, outputPath, launcher, reference);

            async Task<int> RunOnceAsync(Target connection, int? expected, string? outputPath, SiloLauncher? launcher, ScaleReference reference)
            {
                await using var client = await connection.ConnectAsync(ct);
                var silos = await WaitForSilosAsync(client, expected, ct);
                var documents = source.ToList();
                string? benchCollection = null;
                if (spec.TaskType == TaskTypes.Ingest)
                {
                    // e2e writes somewhere: a collection of its own, dropped afterwards.
                    benchCollection = $"bench-e2e-{Guid.NewGuid():N}"[..24];
                    await client.CreateCollectionAsync(new CollectionSpec(benchCollection, IEmbeddingGrain.Dimension, VectorMetric.Cosine, Shards: Math.Max(2, silos.Count)), ct);
                    spec = spec with { Collection = benchCollection };
                }

                if (parse.GetValue(warmup) is > 0 and var warm)
                {
                    // Distinct documents (another seed), so the measured run meets none of them in the cache.
                    var warmTasks = DocumentSource.GenerateTasks(warm, parse.GetValue(docBytes), seed: 7919).ToList();
                    await RunJobAsync(client, spec with { Label = "warm-up" }, warmTasks, quiet: true, ct);
                }

                // The floor for a silo's CPU per task: the bare pipeline on this process's thread, on the run's own documents.
                var raw = launcher is not null && spec.TaskType == TaskTypes.TextProcessing ? RawPipelineSecondsPerTask(settings, documents) : (double?)null;

                // CPU of the started silos over the measured job alone: read after the warm-up and as the job ends.
                var window = new CpuWindow(launcher);
                window.Start();
                var startedAt = DateTimeOffset.UtcNow;
                var clock = Stopwatch.StartNew();
                var (jobId, result) = await RunJobAsync(client, spec, documents, quiet, ct);
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
                    isCluster ? "cluster" : "single-node", spec.TaskType, status.TotalTasks, silos.Count, spec.Distribution.ToName(),
                    startedAt, seconds, throughput,
                    new LatencyMs(result.Latency.P50, result.Latency.P95, result.Latency.P99, result.Latency.Max),
                    status.FailedTasks,
                    result.PerSilo.Select(s => new NodeFigures(
                        s.Silo, s.Tasks, s.Tasks / seconds, cpu?.FirstOrDefault(c => s.Silo.Contains($":{c.SiloPort}@", StringComparison.Ordinal))?.CpuSeconds)).ToList(),
                    new MemoryFigures(Process.GetCurrentProcess().PeakWorkingSet64),
                    MachineInfo.Current(),
                    ConfigSummary(settings, spec, parse.GetValue(warmup)),
                    new JobResultSummary(
                        jobId, status.SucceededTasks, status.FailedTasks, status.TotalBatches, status.RedispatchedBatches,
                        result.Totals.Tokens, result.Totals.Chunks, result.Totals.Sentences, result.Totals.Words,
                        result.TopKeywords.Select(k => k.Term).ToList(), result.TaskIdChecksum,
                        result.Totals.Embeddings, result.Totals.Embeddings / seconds),
                    Metrics: isCluster ? await AggregatorViewAsync(client, silos.Count, ct) : null), status.CountedTasks) with
                {
                    RawPipelineSecondsPerTask = raw,
                    CpuOverRawPipeline = raw is > 0 ? cpuTotal / Math.Max(1, status.CountedTasks) / raw : null,
                    // Against the one-silo run of this invocation; a one-silo run is its own reference.
                    Efficiency = reference.Efficiency("throughput", expected, launcher is not null, silos.Count, throughput),
                };
                if (outputPath is { } path)
                {
                    await report.WriteAsync(path);
                }

                if (quiet)
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
        }));
        return command;
    }

    /// <summary>The console's CPU part of a result: silo CPU per operation, the cap, the client's CPU and the efficiency.</summary>
    private static string CpuSummary(BenchmarkResult report, string per) =>
        (report.CpuSecondsPerTask is { } perOp ? $"; silo CPU {report.CpuSecondsTotal:F2} s ({perOp * 1000:F3} ms/{per})" : "") +
        (report.CpuLimit is { } capped ? $" capped at {capped} cores each" : "") +
        (report.ClientCpuSeconds is { } client ? $", client CPU {client:F2} s" : "") +
        (report.Efficiency is { } efficiency ? $", efficiency {efficiency:F2}" : "");

    /// <summary>The aggregator's view once every silo has reported to it (waiting up to 15 s, a few metrics intervals).</summary>
    private static async Task<ClusterMetricsView> AggregatorViewAsync(AgentsClient client, int silos, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var view = await client.GetMetricsAsync(ct);
            if (view.Nodes.Count >= silos || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(250, ct);
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
                pipeline.Process(task.Content, Agents.Engine.Text.TextPipeline.ContentHash(task.Content));
            }
            catch (Agents.Engine.Text.DocumentRejectedException)
            {
                // A rejected document costs what its rejection costs, as it does in a silo.
            }
        }
    }

    /// <summary>"3" or "1..3" (each count in turn); null when not given.</summary>
    private static List<int>? ParseNodes(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var parts = text.Split("..");
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, out var n) && n is >= 1 and <= 64))
        {
            var (from, to) = (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture));
            if (from <= to)
            {
                return Enumerable.Range(from, to - from + 1).ToList();
            }
        }

        throw new ArgumentException($"--nodes '{text}' is not a node count (1..64) or a range such as 1..3.");
    }

    /// <summary>The active silos, after waiting (up to a minute) for <paramref name="expected"/> of them when given.</summary>
    private static async Task<Dictionary<SiloAddress, SiloStatus>> WaitForSilosAsync(AgentsClient client, int? expected, CancellationToken ct)
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

            await Task.Delay(500, ct);
        }
    }

    private static Command Report()
    {
        var input = new Option<string>("--input") { Description = "A folder of benchmark results (*.json from 'benchmark --output').", DefaultValueFactory = _ => "results" };
        var output = new Option<string>("--output") { Description = "The HTML page to write.", DefaultValueFactory = _ => "performance-report.html" };
        var command = new Command("report", "One self-contained HTML page with charts from a folder of benchmark results, and a summary here.") { input, output };
        command.SetAction((parse, _) => Run(parse, async () =>
        {
            var path = OutputFile(parse.GetValue(output), "--output")!;
            var (results, skipped) = PerformanceReport.Load(PathOf(parse.GetValue(input), "--input"));
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(path, PerformanceReport.Html(results));
            Console.Write(PerformanceReport.Summary(results));
            foreach (var file in skipped)
            {
                Console.WriteLine($"skipped {file}: not a benchmark result");
            }

            Console.WriteLine($"report of {results.Count} results written to {path}");
            return 0;
        }));
        return command;
    }

    private static Command Stats()
    {
        var watch = new Option<bool>("--watch") { Description = "Refresh every 2 seconds until interrupted." };
        var command = new Command("stats", "Per-node and cluster metrics from the aggregator grain.") { watch };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            await using var client = await Connection(parse, out _).ConnectAsync(ct);
            var json = parse.GetValue(JsonOption);
            if (!parse.GetValue(watch))
            {
                StatsView.Print(await client.GetMetricsAsync(ct), json);
                return 0;
            }

            while (!ct.IsCancellationRequested)
            {
                if (!json && ProgressReporter.IsInteractive)
                {
                    Spectre.Console.AnsiConsole.Clear();
                }

                StatsView.Print(await client.GetMetricsAsync(ct), json);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return 0;
        }));
        return command;
    }

    private static Command Ingest()
    {
        var collection = new Argument<string>("collection") { Description = "The collection to fill (created, cosine 384-d, if missing)." };
        var input = new Option<string>("--input") { Description = "A folder of text files, read recursively.", Required = true };
        var command = new Command("ingest", "Chunk, embed and upsert a folder of text files, spread over the cluster.") { collection, input };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            var name = CollectionName(parse, collection);
            var root = Path.GetFullPath(PathOf(parse.GetValue(input), "--input"));
            var files = DocumentSource.ListFiles(root);
            await using var client = await Connection(parse, out _).ConnectAsync(ct);
            var json = parse.GetValue(JsonOption);
            var clock = Stopwatch.StartNew();
            var jobId = await client.SubmitIngestAsync(name, DocumentSource.ReadTasks(files, root: root), ct);
            var result = await ProgressReporter.FollowAsync(client, jobId, json, ct);
            var seconds = clock.Elapsed.TotalSeconds;
            var status = result.Status;
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    jobId,
                    collection = parse.GetValue(collection),
                    documents = status.SucceededTasks,
                    failed = status.FailedTasks,
                    chunks = result.Totals.Embeddings,
                    seconds,
                    documentsPerSecond = status.SucceededTasks / seconds,
                    embeddingsPerSecond = result.Totals.Embeddings / seconds,
                    failures = result.Failures,
                }));
            }
            else
            {
                Console.WriteLine($"{status.SucceededTasks} documents ({result.Totals.Embeddings} chunks) ingested into {parse.GetValue(collection)} in {seconds:F1} s: " +
                    $"{status.SucceededTasks / seconds:F1} documents/s, {result.Totals.Embeddings / seconds:F1} embeddings/s" +
                    (status.FailedTasks > 0 ? $"; {status.FailedTasks} failed" : ""));
                foreach (var failure in result.Failures.Take(10))
                {
                    Console.WriteLine($"  {failure.Name}: {failure.Error}");
                }
            }

            return status.FailedTasks == 0 ? 0 : 1;
        }));
        return command;
    }

    private static Command Submit()
    {
        var taskType = new Option<string>("--task-type") { Description = "Task type.", DefaultValueFactory = _ => TaskTypes.TextProcessing };
        var input = new Option<string>("--input") { Description = "A folder of text files, one task per file.", Required = true };
        var distribution = new Option<string>("--distribution") { Description = "round-robin, random or least-loaded.", DefaultValueFactory = _ => "round-robin" };
        var batch = new Option<int>("--batch-size") { Description = "Tasks per batch; 0 takes message_batch_size.", DefaultValueFactory = _ => 0 };
        var detach = new Option<bool>("--detach") { Description = "Return once the job is started (cluster only; an embedded job lives as long as this process)." };
        var command = new Command("submit", "Submit a job and (unless --detach) wait for its result.") { taskType, input, distribution, batch, detach };
        command.SetAction((parse, ct) => Run(parse, async () =>
        {
            var folder = PathOf(parse.GetValue(input), "--input");
            var spec = new JobSpec(parse.GetValue(taskType)!, DistributionNames.Parse(parse.GetValue(distribution)), AtLeast(parse.GetValue(batch), "--batch-size", 0), Path.GetFileName(Path.GetFullPath(folder)));
            TaskTypes.EnsureRunnable(spec.TaskType);
            if (spec.TaskType == TaskTypes.Ingest)
            {
                throw new ArgumentException($"--task-type {TaskTypes.Ingest} upserts into a collection: use 'ingest <collection> --input {folder}'.");
            }

            var files = DocumentSource.ListFiles(folder);
            var connection = Connection(parse, out _);
            await using var client = await connection.ConnectAsync(ct);
            var json = parse.GetValue(JsonOption);
            if (parse.GetValue(detach) && !connection.IsEmbedded)
            {
                var started = await client.SubmitAsync(spec, DocumentSource.ReadTasks(files), ct);
                Console.WriteLine(json ? JsonSerializer.Serialize(new { jobId = started }) : $"job {started} started");
                return 0;
            }

            var (_, result) = await RunJobAsync(client, spec, DocumentSource.ReadTasks(files), json, ct);
            PrintResult(result, json);
            return result.Status.FailedTasks == 0 ? 0 : 1;
        }));
        return command;
    }

    private static Command Jobs()
    {
        var id = new Argument<Guid>("job-id") { Description = "The job's id." };
        var status = new Command("status", "Show a job's progress and result.") { id };
        status.SetAction((parse, ct) => Run(parse, async () =>
        {
            await using var client = await Connection(parse, out _).ConnectAsync(ct);
            PrintResult(await client.GetResultAsync(parse.GetValue(id), ct), parse.GetValue(JsonOption));
            return 0;
        }));

        var cancelId = new Argument<Guid>("job-id") { Description = "The job's id." };
        var cancel = new Command("cancel", "Stop a job; batches in flight finish and are counted.") { cancelId };
        cancel.SetAction((parse, ct) => Run(parse, async () =>
        {
            await using var client = await Connection(parse, out _).ConnectAsync(ct);
            PrintStatus(await client.CancelAsync(parse.GetValue(cancelId), ct), parse.GetValue(JsonOption));
            return 0;
        }));

        var max = new Option<int>("--max") { Description = "Most jobs listed.", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List the newest jobs.") { max };
        list.SetAction((parse, ct) => Run(parse, async () =>
        {
            var most = AtLeast(parse.GetValue(max), "--max", 1);
            await using var client = await Connection(parse, out _).ConnectAsync(ct);
            var jobs = await client.ListAsync(most, ct);
            if (parse.GetValue(JsonOption))
            {
                Console.WriteLine(JsonSerializer.Serialize(jobs, JsonOptions));
            }
            else
            {
                foreach (var job in jobs)
                {
                    Console.WriteLine($"{job.JobId}  {job.State,-9}  {job.TaskType,-16} {job.CountedTasks}/{job.TotalTasks}  {job.CreatedAt:u}  {job.Label}");
                }

                Console.WriteLine($"{jobs.Count} job(s)");
            }

            return 0;
        }));

        return new Command("jobs", "Inspect and cancel jobs.") { status, list, cancel };
    }

    /// <summary>
    /// The connection of a benchmark, checked against its <c>--mode</c>: cluster needs one to join (or silos to start,
    /// <paramref name="startsSilos"/>), single-node none.
    /// </summary>
    private static Target ModeConnection(ParseResult parse, bool isCluster, bool startsSilos, out AgentsSettings settings)
    {
        var connection = Connection(parse, out settings);
        if (isCluster == connection.IsEmbedded && !(isCluster && startsSilos))
        {
            throw new ArgumentException(isCluster
                ? "--mode cluster needs a cluster: give --cluster \"<postgres connection string>\", --gateway host:port, or --nodes N to start N silos here."
                : "--mode single-node runs an embedded silo; drop --cluster/--gateway or use --mode cluster.");
        }

        return connection;
    }

    private static async Task<int> RunMessagingBenchmarkAsync(
        ParseResult parse, int messages, Target connection, AgentsSettings settings, bool isCluster, string? output,
        int? expected, SiloLauncher? launcher, ScaleReference reference, CancellationToken ct)
    {
        var quiet = parse.GetValue(JsonOption);
        await using var client = await connection.ConnectAsync(ct);
        var silos = await WaitForSilosAsync(client, expected, ct);
        var startedAt = DateTimeOffset.UtcNow;
        // The headline phase (batched one-way) and request/reply each get a CPU window of their own.
        var batched = new CpuWindow(launcher);
        var ask = new CpuWindow(launcher);
        var f = await MessagingBenchmark.RunAsync(client, messages, Math.Max(4, 2 * silos.Count), line => { if (!quiet) Console.WriteLine(line); }, ct, batched, ask);
        var config = MessagingBenchmark.Describe(f);
        config["messageBatchSize"] = settings.Performance.MessageBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        config["messageFlushInterval"] = settings.Performance.MessageFlushInterval.ToString();
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
            isCluster ? "cluster" : "single-node", "messaging", messages, silos.Count, "agent pairs", startedAt, f.BatchedSeconds, f.BatchedPerSecond,
            f.BatchedLatency, 0, [], new MemoryFigures(Process.GetCurrentProcess().PeakWorkingSet64), MachineInfo.Current(), config), f.BatchedMessages) with
        {
            Efficiency = reference.Efficiency("throughput", expected, launcher is not null, silos.Count, f.BatchedPerSecond),
        };
        if (output is not null)
        {
            await report.WriteAsync(output);
        }

        Console.WriteLine(quiet ? report.ToJson()
            : $"messaging on {report.Nodes} silo(s): batched {f.BatchedPerSecond:F0}/s (delivery p50 {f.BatchedLatency.P50:F2} ms p99 {f.BatchedLatency.P99:F2} ms)" +
              CpuSummary(report, "message") + "; " +
              $"request/reply {f.AskPerSecond:F0}/s (p50 {f.AskLatency.P50:F2} ms p99 {f.AskLatency.P99:F2} ms) = {f.AskPerSecond / f.RawPerSecond:F2} x raw grain calls {f.RawPerSecond:F0}/s" +
              (ask.Total is { } askCpu ? $", silo CPU {askCpu:F2} s ({askCpu * 1000 / Math.Max(1, f.AskMessages):F4} ms/message), client CPU {ask.ClientCpuSeconds:F2} s" : "") +
              (askEfficiency is { } ae ? $", efficiency {ae:F2}" : "") + "; " +
              $"at {f.PacedRate:F0}/s p50 {f.PacedLatency.P50:F2} ms p99 {f.PacedLatency.P99:F2} ms");
        return 0;
    }

    private static async Task<int> RunVectorBenchmarkAsync(
        ParseResult parse, VectorBenchmark.Options options, Target connection, AgentsSettings settings, bool isCluster, string? output,
        int? expected, SiloLauncher? launcher, ScaleReference reference, CancellationToken ct)
    {
        var quiet = parse.GetValue(JsonOption);
        await using var client = await connection.ConnectAsync(ct);
        var silos = await WaitForSilosAsync(client, expected, ct);
        var startedAt = DateTimeOffset.UtcNow;
        // Over the measured phase only: the upserts for vector-store, the queries (not the ingest) for vector-search.
        var window = new CpuWindow(launcher);
        var (seconds, operations, latencies, recall, bytesPerVector, perNode) =
            await VectorBenchmark.RunAsync(client, options, line => { if (!quiet) Console.WriteLine(line); }, ct, window);
        Array.Sort(latencies);
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];
        var report = window.Apply(new BenchmarkResult(
            isCluster ? "cluster" : "single-node", options.TaskType, operations, silos.Count, "hash", startedAt, seconds, operations / seconds,
            new LatencyMs(Percentile(0.50), Percentile(0.95), Percentile(0.99), latencies.LastOrDefault()),
            0, perNode, new MemoryFigures(Process.GetCurrentProcess().PeakWorkingSet64, bytesPerVector), MachineInfo.Current(),
            new Dictionary<string, string>
            {
                ["points"] = options.Points.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["shards"] = (options.Shards == ShardRouter.ClusterDefaultShards ? ShardRouter.DefaultShards(silos.Count) : options.Shards).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["index"] = options.Index,
                ["quantize"] = options.Quantize ? "int8, rescored on full vectors" : "off",
                ["ef"] = options.Ef?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "collection default (64)",
                ["concurrency"] = options.Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["dataset"] = options.Dataset ?? $"generated clustered, dimension {options.Dimension}",
                ["simd"] = settings.EnableSimd ? "on" : "off",
            },
            RecallAtK: recall, K: recall is null ? null : options.K), operations) with
        {
            Efficiency = reference.Efficiency("throughput", expected, launcher is not null, silos.Count, operations / seconds),
        };
        if (output is not null)
        {
            await report.WriteAsync(output);
        }

        Console.WriteLine(quiet ? report.ToJson()
            : $"{report.TaskType} on {report.Nodes} silo(s): {report.ThroughputPerSecond:F0}/s, latency p50 {report.LatencyMs.P50:F2} ms p95 {report.LatencyMs.P95:F2} ms p99 {report.LatencyMs.P99:F2} ms" +
              (recall is { } r ? $", recall@{options.K} {r:F4}" : "") + $", {bytesPerVector:F0} bytes per vector in the shards" +
              CpuSummary(report, options.TaskType == "vector-search" ? "query" : "vector"));
        return 0;
    }

    /// <summary>Starts a job, streams its tasks while showing its progress, and returns its result.</summary>
    private static async Task<(Guid JobId, JobResult Result)> RunJobAsync(
        AgentsClient client, JobSpec spec, IEnumerable<JobTask> tasks, bool quiet, CancellationToken cancellationToken)
    {
        var jobId = await client.StartJobAsync(spec, cancellationToken);
        using var feedFailed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var feeding = Task.Run(async () =>
        {
            try
            {
                await client.AppendAsync(jobId, tasks, cancellationToken);
                await client.SealAsync(jobId, cancellationToken);
            }
            catch
            {
                // A job whose input never completes never finishes: stop following it.
                await feedFailed.CancelAsync();
                throw;
            }
        }, cancellationToken);
        try
        {
            var result = await ProgressReporter.FollowAsync(client, jobId, quiet, feedFailed.Token);
            await feeding;
            return (jobId, result);
        }
        catch (OperationCanceledException) when (feeding.IsFaulted)
        {
            await client.CancelAsync(jobId, CancellationToken.None);
            await feeding;
            throw;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static void PrintStatus(JobStatus s, bool json)
    {
        Console.WriteLine(json
            ? JsonSerializer.Serialize(s, JsonOptions)
            : $"job {s.JobId}: {s.State.ToString().ToLowerInvariant()}, {s.TaskType}, {s.CountedTasks}/{s.TotalTasks} tasks ({s.FailedTasks} failed), " +
              $"{s.CompletedBatches}/{s.TotalBatches} batches, {s.RedispatchedBatches} re-dispatched");
    }

    private static void PrintResult(JobResult r, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(r, JsonOptions));
            return;
        }

        PrintStatus(r.Status, false);
        var t = r.Totals;
        Console.WriteLine($"  {t.Words} words, {t.Sentences} sentences, {t.Tokens} tokens, {t.Chunks} chunks, {t.CacheHits} cache hits");
        Console.WriteLine($"  latency per task: p50 {r.Latency.P50:F3} ms, p95 {r.Latency.P95:F3} ms, p99 {r.Latency.P99:F3} ms, max {r.Latency.Max:F3} ms");
        if (r.TopKeywords.Count > 0)
        {
            Console.WriteLine($"  keywords: {string.Join(", ", r.TopKeywords.Take(10).Select(k => k.Term))}");
        }

        foreach (var silo in r.PerSilo)
        {
            Console.WriteLine($"  {silo.Silo}: {silo.Tasks} tasks in {silo.Batches} batches");
        }

        foreach (var failure in r.Failures)
        {
            Console.WriteLine($"  failed: task {failure.TaskId} ({failure.Name}): {failure.Error}");
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

    /// <summary>The cluster to use: options over <c>P2P_*</c> variables; neither means embedded.</summary>
    private static Target Connection(ParseResult parse, out AgentsSettings settings)
    {
        var environment = AgentsConfiguration.ReadEnvironment();
        var host = HostSettings.FromEnvironment(environment);
        if (host.Primary is not null)
        {
            // A command's own silo never joins a development cluster: a command reaches one through its gateways.
            throw new ArgumentException("P2P_PRIMARY is read by silo processes (Agents.Silo --primary); a command joins a cluster through --cluster or --gateway.");
        }

        if (parse.GetValue(DataDirOption) is { } dataDir)
        {
            host = host with { DataDirectory = dataDir };
        }

        settings = AgentsConfiguration.Load(parse.GetValue(ConfigOption) ?? host.ConfigPath, environment);
        var cluster = parse.GetValue(ClusterOption) ?? host.Cluster;
        if (!string.IsNullOrWhiteSpace(cluster))
        {
            // Checked before silo processes or a client are started with it.
            ClusterSchema.Connection(cluster, settings.Performance);
        }

        var gateways = parse.GetValue(GatewayOption) is { Length: > 0 } g ? g : host.Gateways;
        var connection = new ClusterConnection { PostgreSql = cluster, Gateways = gateways.ToList(), Tls = host.Tls }.WithSettings(settings);
        return new Target(connection, settings, host);
    }

    /// <summary>
    /// The collection name given to <paramref name="argument"/>, if valid. One that begins with '-' must come after
    /// <c>--</c>: otherwise it is most likely a mistyped option (and <c>collection drop --forse</c> would drop "--forse").
    /// </summary>
    internal static string CollectionName(ParseResult parse, Argument<string> argument)
    {
        var name = parse.GetValue(argument);
        if (name is ['-', ..] && !parse.Tokens.Any(t => t.Type == TokenType.DoubleDash))
        {
            throw new ArgumentException($"'{name}' is not an option of this command; to name a collection '{name}', put it after --.");
        }

        ShardRouter.ValidateName(name);
        return name!;
    }

    /// <summary><paramref name="value"/> of <paramref name="option"/>, if within <paramref name="min"/>..<paramref name="max"/>.</summary>
    internal static int InRange(int value, string option, int min, int max) =>
        value >= min && value <= max ? value : throw new ArgumentException($"{option} {value} is out of range: use {min}..{max}.");

    /// <summary><paramref name="value"/> of <paramref name="option"/>, if at least <paramref name="min"/>.</summary>
    internal static int AtLeast(int value, string option, int min) =>
        value >= min ? value : throw new ArgumentException($"{option} must be at least {min}; got {value}.");

    /// <summary>The path given to <paramref name="option"/>, if it is not empty.</summary>
    internal static string PathOf(string? path, string option) =>
        string.IsNullOrWhiteSpace(path) ? throw new ArgumentException($"{option} needs a path; got '{path}'.") : path;

    /// <summary>A file to write, checked before the work that fills it: not empty, not a folder; null when not given.</summary>
    internal static string? OutputFile(string? path, string option) =>
        path is null ? null
        : Directory.Exists(PathOf(path, option)) ? throw new ArgumentException($"{option} '{path}' is a folder; give the file to write.")
        : path;

    internal static async Task<int> Run(ParseResult parse, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is ConfigurationException or ArgumentException or KeyNotFoundException or IOException or InvalidOperationException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The cluster failed the call: say what and where in one line; the stack is for the silo's log.
            var inner = e.InnerException is { } i && i.Message != e.Message ? $" ({i.GetType().Name}: {i.Message})" : "";
            await Console.Error.WriteLineAsync($"error: {e.GetType().Name}: {e.Message.Split('\n')[0].Trim()}{inner}");
            return 1;
        }
    }
}
