using System.Text;
using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Engine.Embeddings;
using Agents.Engine.Text;
using Agents.Engine.Vectors;
using Agents.GrainInterfaces;
using BenchmarkDotNet.Attributes;

namespace Agents.Benchmarks;

/// <summary>The suite names, as BenchmarkDotNet categories (<c>--anyCategories cpu_intensive_tasks</c>).</summary>
public static class Suites
{
    public const string CpuIntensiveTasks = "cpu_intensive_tasks";
    public const string MemoryOperations = "memory_operations";
    public const string NetworkCommunication = "network_communication";
    public const string E2eWorkflows = "e2e_workflows";
}

/// <summary>cpu_intensive_tasks: sentence embeddings one call per text (the baseline), eight to a call, and through the micro-batcher.</summary>
[BenchmarkCategory(Suites.CpuIntensiveTasks)]
[JsonExporterAttribute.Full]
public class EmbeddingBenchmarks
{
    private const int Texts = 16;
    private string[] _texts = [];
    private SentenceEmbedder _embedder = null!;
    private EmbeddingService _service = null!;

    [GlobalSetup]
    public void Setup()
    {
        _texts = Enumerable.Range(0, Texts).Select(i => Inputs.DocumentSource.Generate(i, 100)).ToArray();
        var tokenizer = WordPieceTokenizer.FromMiniLm();
        _embedder = new SentenceEmbedder(tokenizer, SentenceEmbedder.ReadMiniLmModel(), 1);
        _service = new EmbeddingService(EmbeddingOptions.For(Environment.ProcessorCount, Environment.ProcessorCount), tokenizer);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _embedder.Dispose();
        _service.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Texts)]
    public int OneTextPerCall() => _texts.Sum(t => _embedder.Embed([t]).Length);

    [Benchmark(OperationsPerInvoke = Texts)]
    public int EightTextsPerCall() => _texts.Chunk(8).Sum(c => _embedder.Embed(c).Length);

    [Benchmark(OperationsPerInvoke = Texts)]
    public async Task<int> MicroBatcherAllCores() => (await Task.WhenAll(_texts.Select(t => _service.EmbedAsync([t])))).Length;
}

/// <summary>memory_operations: search over 10,000 × 384 clustered vectors — exact scan (baseline), HNSW, int8 HNSW — and appends.</summary>
[BenchmarkCategory(Suites.MemoryOperations)]
[JsonExporterAttribute.Full]
public class VectorBenchmarks
{
    private const int Points = 10_000;
    private const int Dimension = 384;
    private VectorArena _arena = null!;
    private HnswIndex _hnsw = null!;
    private HnswIndex _int8 = null!;
    private float[][] _queries = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var centres = Enumerable.Range(0, 50).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
        float[] Sample() => centres[random.Next(centres.Length)].Select(c => c + (float)(((random.NextDouble() * 2) - 1) * 0.5)).ToArray();
        _arena = new VectorArena(Dimension);
        for (var i = 0; i < Points; i++)
        {
            _arena.Add(Sample());
        }

        _queries = Enumerable.Range(0, 64).Select(_ => Sample()).ToArray();
        _hnsw = new HnswIndex(_arena, DistanceMetric.L2, new HnswParameters(EfConstruction: 100));
        _int8 = new HnswIndex(_arena, DistanceMetric.L2, new HnswParameters(EfConstruction: 100, Quantize: true));
        for (var slot = 0; slot < Points; slot++)
        {
            _hnsw.Add(slot);
            _int8.Add(slot);
        }
    }

    private float[] Query => _queries[_next++ % _queries.Length];

    [Benchmark(Baseline = true)]
    public int ExactScan()
    {
        var top = new TopK(10);
        ExactSearch.Scan(_arena, DistanceMetric.L2, Query, 0, _arena.Count, null, top);
        return top.Count;
    }

    [Benchmark]
    public int HnswEf64() => _hnsw.Search(Query, 10, 64).Count;

    [Benchmark]
    public int HnswInt8Ef64() => _int8.Search(Query, 10, 64).Count;

    [Benchmark(OperationsPerInvoke = 1000)]
    public int Append1000()
    {
        var arena = new VectorArena(Dimension);
        for (var i = 0; i < 1000; i++)
        {
            arena.Add(_queries[i % _queries.Length]);
        }

        return arena.Count;
    }
}

/// <summary>memory_operations: one 384-d distance on the scalar loop (baseline) and on SIMD.</summary>
[BenchmarkCategory(Suites.MemoryOperations)]
[JsonExporterAttribute.Full]
public class DistanceBenchmarks
{
    private readonly float[] _a = Enumerable.Range(0, 384).Select(i => MathF.Sin(i)).ToArray();
    private readonly float[] _b = Enumerable.Range(0, 384).Select(i => MathF.Cos(i)).ToArray();
    private readonly sbyte[] _ca = Enumerable.Range(0, 384).Select(i => (sbyte)((i * 7 % 255) - 127)).ToArray();
    private readonly sbyte[] _cb = Enumerable.Range(0, 384).Select(i => (sbyte)((i * 13 % 255) - 127)).ToArray();

    [Benchmark(Baseline = true)]
    public float L2Scalar() => DistanceKernels.ScoreScalar(DistanceMetric.L2, _a, _b);

    [Benchmark]
    public float L2Simd() => DistanceKernels.ScoreSimd(DistanceMetric.L2, _a, _b);

    [Benchmark]
    public float DotSimd() => DistanceKernels.ScoreSimd(DistanceMetric.Dot, _a, _b);

    [Benchmark]
    public int Int8DotSimd() => Int8Kernels.DotSimd(_ca, _cb);
}

/// <summary>network_communication: 1,000 plain grain calls (baseline), agent request/replies and batched one-way messages, on an embedded silo.</summary>
[BenchmarkCategory(Suites.NetworkCommunication)]
[JsonExporterAttribute.Full]
public class MessagingBenchmarks
{
    private const int Messages = 1000;
    private AgentsClient _client = null!;
    private IAgentBenchmarkGrain _sender = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _client = await EmbeddedCluster.ConnectAsync(ClusterConnection.Embedded(), new AgentsSettings());
        _sender = await _client.AgentBenchmarkAsync("bench-sender");
        await _sender.AskBurstAsync("bench-receiver", 100, 64, 16, raw: false);
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _client.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public async Task<int> RawGrainCalls() => (await _sender.AskBurstAsync("bench-receiver", Messages, 64, 16, raw: true)).Length;

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> AgentRequestReply() => (await _sender.AskBurstAsync("bench-receiver", Messages, 64, 16, raw: false)).Length;

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<long> BatchedOneWay() => await _sender.SendBurstAsync("bench-receiver", Messages, 64);
}

/// <summary>e2e_workflows: embedding the chunks of 20 documents directly (baseline) against ingesting them into a collection and asking 5 questions.</summary>
[BenchmarkCategory(Suites.E2eWorkflows)]
[JsonExporterAttribute.Full]
public class IngestSearchBenchmarks
{
    private const int Documents = 20;
    private AgentsClient _client = null!;
    private JobTask[] _documents = [];
    private int _run;

    [GlobalSetup]
    public async Task Setup()
    {
        _client = await EmbeddedCluster.ConnectAsync(ClusterConnection.Embedded(), new AgentsSettings());
        _documents = Enumerable.Range(0, Documents).Select(i => new JobTask(i, $"doc-{i}.txt", Encoding.UTF8.GetBytes(Inputs.DocumentSource.Generate(i, 600)))).ToArray();
        await _client.EmbedAsync(["warm the model"]);
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _client.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Documents)]
    public async Task<int> EmbedOnly() => (await _client.EmbedAsync(_documents.Select(d => Encoding.UTF8.GetString(d.Content)).ToList())).Length;

    [Benchmark(OperationsPerInvoke = Documents)]
    public async Task<int> IngestThenSearch()
    {
        var collection = $"bench-e2e-{Interlocked.Increment(ref _run)}-{Guid.NewGuid():N}"[..24];
        await _client.IngestAsync(collection, _documents);
        var found = 0;
        foreach (var question in new[] { "cluster memory", "vector search latency", "agent messages", "batch worker", "durable storage" })
        {
            found += (await _client.SearchTextAsync(collection, question, 3)).Length;
        }

        await _client.DropCollectionAsync(collection);
        return found;
    }
}
