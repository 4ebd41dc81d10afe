using System.Diagnostics;
using System.Text.Json;

namespace Agents.Tests.Benchmarks;

/// <summary>
/// Every BenchmarkDotNet suite (cpu_intensive_tasks, memory_operations, network_communication, e2e_workflows) runs
/// once, dry and in process, so the suites never rot; each writes its JSON report with a baseline and no failures.
/// </summary>
public sealed class SuiteSmokeTests
{
    [Fact]
    public async Task EverySuiteRunsDryAndWritesItsJsonReport()
    {
        var artifacts = Directory.CreateTempSubdirectory("agents-bdn-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = artifacts };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Agents.Benchmarks.dll"), "--filter", "*", "--job", "dry", "--inProcess", "--artifacts", artifacts })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{output[^Math.Min(output.Length, 4000)..]}\n{await stderr}");

        var reports = Directory.GetFiles(Path.Combine(artifacts, "results"), "*-report-full.json");
        var types = new HashSet<string>();
        foreach (var report in reports)
        {
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            var benchmarks = json.RootElement.GetProperty("Benchmarks").EnumerateArray().ToList();
            Assert.NotEmpty(benchmarks);
            Assert.All(benchmarks, b => Assert.True(b.GetProperty("Statistics").ValueKind == JsonValueKind.Object, $"{report}: a benchmark has no result"));
            types.UnionWith(benchmarks.Select(b => b.GetProperty("Type").GetString()!));
        }

        // One class or more per suite: cpu_intensive_tasks (text, embeddings), memory_operations (vectors, distances),
        // network_communication (messaging), e2e_workflows (ingest then search).
        Assert.Superset(
            new HashSet<string> { "TextProcessingBenchmarks", "EmbeddingBenchmarks", "VectorBenchmarks", "DistanceBenchmarks", "MessagingBenchmarks", "IngestSearchBenchmarks" },
            types);
        Directory.Delete(artifacts, recursive: true);
    }
}
