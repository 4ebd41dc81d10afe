using System.CommandLine;
using Agents.Grains.Vectors;

namespace Agents.Cli;

/// <summary>
/// <c>benchmark</c>: its options, each checked before anything starts; the run itself is <see cref="BenchmarkRun"/>.
/// </summary>
internal static class BenchmarkCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { Description = "single-node: an embedded silo in this process; cluster: the silos of --cluster, --gateway or --nodes.", DefaultValueFactory = _ => "single-node" }
            .OneOf(["single-node", "cluster"]);
        var tasks = new Option<int>("--tasks") { Description = "Tasks to run.", DefaultValueFactory = _ => 1000 };
        var taskType = new Option<string>("--task-type") { Description = "What each task does (retrieval: relevance of dense, keyword and hybrid search on --dataset).", DefaultValueFactory = _ => TaskTypes.TextProcessing }
            .OneOf([.. TaskTypes.All, RetrievalBenchmark.TaskType]);
        var distribution = new Option<string>("--distribution") { Description = "How batches are spread over the silos.", DefaultValueFactory = _ => "round-robin" }
            .OneOf(DistributionNames.All, DistributionNames.IsKnown);
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
        var dataset = new Option<string?>("--dataset") { Description = "vector-*: a folder with base.fvecs, query.fvecs, groundtruth.ivecs (TEXMEX); retrieval: a folder with corpus.jsonl, queries.jsonl, qrels/test.tsv (BEIR)." };
        var queries = new Option<int>("--queries") { Description = "vector-search: queries to run (a data set's queries are asked again in turn when there are more).", DefaultValueFactory = _ => 1000 };
        var dimension = new Option<int>("--dimension") { Description = "vector-*: dimension of generated vectors.", DefaultValueFactory = _ => 384 };
        var k = new Option<int>("-k", "--k") { Description = "vector-search: neighbours per query (recall@k).", DefaultValueFactory = _ => 10 };
        var ef = new Option<int?>("--ef") { Description = "vector-search: HNSW search breadth." };
        var shards = new Option<int>("--shards") { Description = "vector-*: shards of the benchmark collection; 0 (the default) is two per active silo.", DefaultValueFactory = _ => ShardRouter.ClusterDefaultShards };
        var index = new Option<string>("--index") { Description = "vector-*: the index of the benchmark collection.", DefaultValueFactory = _ => "hnsw" }
            .OneOf(IndexKindNames.All);
        var quantize = new Option<bool>("--quantize") { Description = "vector-*: int8 codes in the graph, full vectors memory-mapped and used to rescore." };
        var concurrency = new Option<int>("--concurrency") { Description = "vector-search: queries in flight.", DefaultValueFactory = _ => 2 * Environment.ProcessorCount };
        var queryBatch = new Option<int>("--query-batch") { Description = "vector-search: queries per shard call (1: one call per query).", DefaultValueFactory = _ => 1 };
        var repeat = new Option<int>("--repeat")
        {
            Description = "Run each configuration this many times, each to a file of its own (-run-R); the report shows their mean and spread.",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("benchmark", "Run a workload through the cluster and report throughput, latency and memory.")
        {
            mode, tasks, taskType, distribution, input, output, nodes, pin, cpuLimit, batch, docBytes, warmup, dataset, queries, dimension, k, ef, shards, index, quantize, concurrency, queryBatch, repeat,
        };
        command.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents benchmark --mode single-node --tasks 1000 --task-type text-processing --output results/single-node.json",
            "p2p-ai-agents benchmark --mode cluster --nodes 1..3 --tasks 10000 --distribution round-robin --output results/cluster.json",
            "p2p-ai-agents benchmark --task-type retrieval --dataset benchmarks/datasets/manpages");
        command.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            // Every option is checked before anything starts, whatever the task type.
            var type = parse.GetValue(taskType)!;
            if (!TaskTypes.All.Contains(type) && type != RetrievalBenchmark.TaskType)
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
            OptionChecks.AtLeast(parse.GetValue(batch), "--batch-size", 0);
            OptionChecks.AtLeast(parse.GetValue(warmup), "--warmup", 0);
            OptionChecks.AtLeast(parse.GetValue(queries), "--queries", 1);
            OptionChecks.InRange(parse.GetValue(dimension), "--dimension", 1, ShardRouter.MaxDimension);
            OptionChecks.InRange(parse.GetValue(k), "-k", 1, ShardRouter.MaxK);
            OptionChecks.InRange(parse.GetValue(ef) ?? 1, "--ef", 1, ShardRouter.MaxEf);
            OptionChecks.InRange(parse.GetValue(shards), "--shards", ShardRouter.ClusterDefaultShards, ShardRouter.MaxShards);
            OptionChecks.AtLeast(parse.GetValue(concurrency), "--concurrency", 1);
            OptionChecks.InRange(parse.GetValue(queryBatch), "--query-batch", 1, SearchBatchRequest.MaxQueries);
            OptionChecks.InRange(parse.GetValue(repeat), "--repeat", 1, 100);
            var indexKind = IndexKindNames.Parse(parse.GetValue(index), "--index");
            if (parse.GetValue(quantize) && indexKind != VectorIndexKind.Hnsw)
            {
                throw new ArgumentException("--quantize applies to the hnsw index; a flat index always scans the full vectors.");
            }

            var nodeCounts = ParseNodes(parse.GetValue(nodes));
            if (!isCluster && nodeCounts is not null && nodeCounts is not [1])
            {
                throw new ArgumentException($"--nodes {parse.GetValue(nodes)} needs --mode cluster: a single-node run has one silo.");
            }

            var cores = parse.GetValue(cpuLimit) is { } limit ? CpuCgroup.ParseCores(limit) : (double?)null;
            var files = parse.GetValue(input) is { } dir ? DocumentSource.ListFiles(OptionChecks.PathOf(dir, "--input")) : null;
            var outputPath = OptionChecks.OutputFile(parse.GetValue(output), "--output");
            var connection = GlobalOptions.ModeConnection(parse, isCluster, nodeCounts is not null, out var settings);
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

            OptionChecks.InRange(parse.GetValue(docBytes), "--document-size", 1, (int)Math.Min(int.MaxValue, settings.Text.MaxDocumentSize));
            if (type == RetrievalBenchmark.TaskType)
            {
                // Relevance on the embedded silo or a running cluster: one ingest, then every query in each mode.
                if (nodeCounts is not null || parse.GetValue(repeat) > 1)
                {
                    throw new ArgumentException("--task-type retrieval runs on the embedded silo or a running cluster (--gateway): drop --nodes and --repeat.");
                }

                var folder = parse.GetValue(dataset) ?? throw new ArgumentException("--task-type retrieval needs --dataset DIR (BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv).");
                FullyOptimisedRun.Ensure();
                return await RetrievalBenchmark.RunAsync(
                    connection, new(OptionChecks.PathOf(folder, "--dataset"), parse.GetValue(shards), parse.GetValue(ef)), outputPath, parse.GetValue(GlobalOptions.Json), cancellationToken);
            }

            VectorBenchmark.Options? vectorOptions = null;
            if (isVector)
            {
                // A data set is used whole unless --tasks says how many of its base vectors to take.
                var points = parse.GetValue(dataset) is not null && parse.GetResult(tasks) is null or { Implicit: true } ? 0 : taskCount;
                vectorOptions = new VectorBenchmark.Options(
                    type, points, parse.GetValue(queries), parse.GetValue(dimension), parse.GetValue(k), parse.GetValue(ef), parse.GetValue(shards),
                    indexKind, parse.GetValue(concurrency), parse.GetValue(dataset) is { } d ? OptionChecks.PathOf(d, "--dataset") : null, Quantize: parse.GetValue(quantize), QueryBatch: parse.GetValue(queryBatch));
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
            var plan = new BenchmarkPlan(
                connection, settings, isCluster, spec, taskCount, source, parse.GetValue(warmup), parse.GetValue(docBytes), vectorOptions,
                nodeCounts, startsSilos, parse.GetValue(pin), cores, outputPath, Quiet: parse.GetValue(GlobalOptions.Json), Repeat: parse.GetValue(repeat));
            FullyOptimisedRun.Ensure();
            return await new BenchmarkRun(plan).RunAsync(cancellationToken);
        }));
        return command;
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
}
