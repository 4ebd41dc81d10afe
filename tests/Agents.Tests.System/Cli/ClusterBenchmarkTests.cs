using System.Diagnostics;
using System.Text.Json;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// <c>benchmark --mode cluster --nodes 2</c> on a real PostgreSQL: the command starts two silo processes, runs the job
/// through them, writes per-node figures (from the job and from the metrics aggregator), and leaves no silo behind.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class ClusterBenchmarkTests(PostgresServer postgres)
{
    [Fact]
    public async Task TwoNodeRunStartsRunsCollectsAndStops()
    {
        var database = await postgres.CreateDatabaseAsync();
        var output = Path.Combine(Directory.CreateTempSubdirectory("agents-cluster-bench-").FullName, "cluster-2-nodes.json");
        var before = SiloPids();

        var outcome = await CliProcess.RunAsync(
            ["benchmark", "--mode", "cluster", "--nodes", "2", "--tasks", "2000", "--warmup", "0", "--distribution", "round-robin", "--output", output],
            new Dictionary<string, string> { ["P2P_CLUSTER"] = database },
            TimeSpan.FromMinutes(3));

        Assert.True(outcome.ExitCode == 0, $"exit {outcome.ExitCode}\n{outcome.Stdout}\n{outcome.Stderr}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var root = json.RootElement;
        Assert.Equal("cluster", root.GetProperty("mode").GetString());
        Assert.Equal(2, root.GetProperty("nodes").GetInt32());
        var perNode = root.GetProperty("perNode").EnumerateArray().ToList();
        Assert.Equal(2, perNode.Count);
        Assert.Equal(2000, perNode.Sum(n => n.GetProperty("tasks").GetInt32()));
        Assert.All(perNode, n => Assert.True(n.GetProperty("tasks").GetInt32() > 0));
        Assert.True(root.GetProperty("metrics").GetProperty("nodes").GetArrayLength() >= 1);
        Assert.Contains("silo 2/2", outcome.Stderr, StringComparison.Ordinal);

        // Every silo the command started has exited.
        Assert.Empty(SiloPids().Except(before));
    }

    private static HashSet<int> SiloPids() => Process.GetProcessesByName("dotnet")
        .Where(p =>
        {
            try
            {
                return File.ReadAllText($"/proc/{p.Id}/cmdline").Contains("Agents.Silo.dll", StringComparison.Ordinal)
                    && File.ReadAllText($"/proc/{p.Id}/environ").Contains("P2P_CLUSTER", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
        })
        .Select(p => p.Id)
        .ToHashSet();
}
