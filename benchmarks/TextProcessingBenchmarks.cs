using System.Text;
using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Engine.Text;
using Agents.GrainInterfaces;
using BenchmarkDotNet.Attributes;

namespace Agents.Benchmarks;

/// <summary>
/// Documents/s for ~2 KB documents: the raw pipeline on one thread (the baseline), the raw pipeline on every core,
/// and a text-processing job end to end through the embedded cluster, all in one run so their ratios compare.
/// </summary>
[BenchmarkCategory(Suites.CpuIntensiveTasks)]
[JsonExporterAttribute.Full]
[MemoryDiagnoser]
[GcServer(true)] // as the silo and the CLI run
public class TextProcessingBenchmarks
{
    /// <summary>Documents per invocation of each benchmark.</summary>
    public const int Documents = 4000;

    private byte[][] _documents = [];
    private TextPipeline _pipeline = null!;
    private AgentsClient _client = null!;
    private int _seed;

    [GlobalSetup]
    public async Task Setup()
    {
        _documents = Enumerable.Range(0, Documents)
            .Select(i => Encoding.UTF8.GetBytes(Inputs.DocumentSource.Generate(i, 2048)))
            .ToArray();
        _pipeline = new TextPipeline(new TextSettings());
        _client = await EmbeddedCluster.ConnectAsync(ClusterConnection.Embedded(), new AgentsSettings());
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _client.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Documents)]
    public long RawPipelineOneThread()
    {
        long tokens = 0;
        foreach (var document in _documents)
        {
            tokens += _pipeline.Process(document).Statistics.Tokens;
        }

        return tokens;
    }

    [Benchmark(OperationsPerInvoke = Documents)]
    public long RawPipelineAllCores()
    {
        long tokens = 0;
        Parallel.ForEach(_documents, d => Interlocked.Add(ref tokens, _pipeline.Process(d).Statistics.Tokens));
        return tokens;
    }

    [Benchmark(OperationsPerInvoke = Documents)]
    public async Task<long> EmbeddedClusterJob()
    {
        // Fresh content each invocation so the silo's document cache cannot answer for the pipeline.
        var seed = Interlocked.Increment(ref _seed);
        var tasks = _documents.Select((d, i) => new JobTask(i, "doc", Salt(d, seed)));
        var id = await _client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks);
        var result = await _client.WaitAsync(id);
        return result.Totals.Tokens;
    }

    private static byte[] Salt(byte[] document, int seed)
    {
        var copy = (byte[])document.Clone();
        var stamp = Encoding.ASCII.GetBytes(seed.ToString("D8", System.Globalization.CultureInfo.InvariantCulture));
        stamp.CopyTo(copy, 0);
        return copy;
    }
}
