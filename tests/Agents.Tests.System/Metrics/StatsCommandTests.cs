using System.Text;
using System.Text.Json;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Metrics;

/// <summary>
/// <c>p2p-ai-agents stats</c> against a real silo process, its output piped as a script would read it: whole headers,
/// one row per silo, rates over the window asked for, and a bad window refused.
/// </summary>
public sealed class StatsCommandTests
{
    [Fact]
    public async Task PipedStatsPrintsWholeColumnsAndRatesOverTheWindow()
    {
        var instance = SiloProcess.FreeInstance();
        var dataDir = Directory.CreateTempSubdirectory("agents-stats-silo-").FullName;
        await using var silo = SiloProcess.Start(["--data-dir", dataDir], instance, new Dictionary<string, string> { ["P2P_METRICS_INTERVAL"] = "200ms" });
        await using (var client = await ClusterProcesses.ConnectGatewayAsync(instance, silo))
        {
            var tasks = Enumerable.Range(0, 200).Select(i => new JobTask(i, $"d{i}", Encoding.UTF8.GetBytes($"Document {i} about silos and their statistics."))).ToList();
            var result = await client.WaitAsync(await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks));
            Assert.Equal(200, result.Status.SucceededTasks);
        }

        var gateway = $"127.0.0.1:{30000 + instance}";
        var run = await CliProcess.RunAsync(["stats", "--gateway", gateway, "--window", "1m"]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();

        var header = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["silo", "cpu", "%", "memory", "tasks/s", "ms/task", "p50", "ms", "p99", "ms", "active", "embed/s", "search/s", "msg/s", "vectors", "gen2", "GCs"], header);
        var row = Assert.Single(lines, l => l.StartsWith($"127.0.0.1:{11111 + instance}@", StringComparison.Ordinal));
        Assert.Equal(14, row.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("1 live silo(s), rates over the last 60 s:", lines[^1], StringComparison.Ordinal);
        Assert.Contains("200 tasks and 0 vectors in all", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain('…', run.Stdout);

        var json = await CliProcess.RunAsync(["stats", "--gateway", gateway, "--window", "30s", "--json"]);
        Assert.True(json.ExitCode == 0, json.Stderr);
        using var view = JsonDocument.Parse(json.Stdout);
        Assert.Equal("00:00:30", view.RootElement.GetProperty("window").GetString());
        var node = Assert.Single(view.RootElement.GetProperty("nodes").EnumerateArray());
        Assert.InRange(node.GetProperty("last").GetProperty("cpuRatio").GetDouble(), 0, 1);
        Assert.Equal(JsonValueKind.Null, node.GetProperty("last").GetProperty("taskLatencyHistogram").ValueKind);
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("abc")]
    [InlineData("11m")]
    public async Task ABadWindowIsRefusedBeforeConnecting(string window)
    {
        // Nothing listens on this gateway: the window is checked first.
        var run = await CliProcess.RunAsync(["stats", "--gateway", "127.0.0.1:1", "--window", window], timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("--window", run.Stderr, StringComparison.Ordinal);
    }
}
