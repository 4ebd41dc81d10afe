using System.Text;
using System.Text.Json;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>The command as a user runs it: a real process hosting its own embedded silo.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task BenchmarkWritesTheDesignsJsonSchema()
    {
        var output = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}", "single-node.json");
        var run = await CliProcess.RunAsync(
            ["benchmark", "--mode", "single-node", "--tasks", "300", "--task-type", "text-processing", "--warmup", "50", "--output", output]);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("300 text-processing tasks", run.Stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var root = json.RootElement;
        Assert.Equal("single-node", root.GetProperty("mode").GetString());
        Assert.Equal("text-processing", root.GetProperty("taskType").GetString());
        Assert.Equal(300, root.GetProperty("tasks").GetInt32());
        Assert.Equal(1, root.GetProperty("nodes").GetInt32());
        Assert.Equal("round-robin", root.GetProperty("distribution").GetString());
        Assert.True(root.GetProperty("durationSeconds").GetDouble() > 0);
        Assert.True(root.GetProperty("throughputPerSecond").GetDouble() > 0);
        foreach (var p in new[] { "p50", "p95", "p99", "max" })
        {
            Assert.True(root.GetProperty("latencyMs").GetProperty(p).GetDouble() > 0, p);
        }

        Assert.Equal(0, root.GetProperty("errors").GetInt32());
        Assert.Equal(300, root.GetProperty("perNode")[0].GetProperty("tasks").GetInt32());
        Assert.True(root.GetProperty("memory").GetProperty("peakWorkingSetBytes").GetInt64() > 0);
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("machine").GetProperty("cores").GetInt32());
        Assert.True(root.GetProperty("config").TryGetProperty("message_batch_size", out _));
        Assert.Equal(300L * 299 / 2, root.GetProperty("job").GetProperty("taskIdChecksum").GetInt64());
    }

    [Fact]
    public async Task SubmitReportsEachBadFileAndProcessesTheRest()
    {
        var dir = Directory.CreateTempSubdirectory("submit-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "a.txt"), "Orleans silos host grains. Grains process documents in batches.");
        await File.WriteAllTextAsync(Path.Combine(dir, "b.txt"), "Vector search finds the nearest neighbours of a query.");
        await File.WriteAllBytesAsync(Path.Combine(dir, "c.txt"), []);
        await File.WriteAllBytesAsync(Path.Combine(dir, "d.txt"), [0xC3, 0x28, 0x41]);

        var run = await CliProcess.RunAsync(["submit", "--input", dir]);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("4/4 tasks (2 failed)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("c.txt", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("d.txt", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("UTF-8", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "benchmark", "--task-type", "summarise" }, "summarise")]
    [InlineData(new[] { "benchmark", "--distribution", "sideways" }, "sideways")]
    [InlineData(new[] { "benchmark", "--tasks", "0" }, "--tasks")]
    [InlineData(new[] { "benchmark", "--mode", "cluster" }, "--cluster")]
    [InlineData(new[] { "submit", "--input", "/nonexistent/folder" }, "/nonexistent/folder")]
    [InlineData(new[] { "benchmark", "--config", "/nonexistent/performance.yaml" }, "/nonexistent/performance.yaml")]
    public async Task BadArgumentsGetAClearError(string[] arguments, string named)
    {
        var run = await CliProcess.RunAsync(arguments);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(named, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownVariableStopsTheCommandNamingIt()
    {
        var run = await CliProcess.RunAsync(["benchmark", "--tasks", "10"], new Dictionary<string, string> { ["P2P_WORKER_THRAEDS"] = "2" });
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("P2P_WORKER_THRAEDS", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageBatchSizeFromTheEnvironmentSizesTheBatches()
    {
        var dir = Directory.CreateTempSubdirectory("batches-").FullName;
        for (var i = 0; i < 12; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(dir, $"{i:D2}.txt"), $"Document number {i}. It has two sentences.", Encoding.UTF8);
        }

        var run = await CliProcess.RunAsync(["submit", "--input", dir, "--json"], new Dictionary<string, string> { ["P2P_MESSAGE_BATCH_SIZE"] = "5" });

        Assert.True(run.ExitCode == 0, run.Stderr);
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(3, json.RootElement.GetProperty("status").GetProperty("totalBatches").GetInt32());
    }
}

/// <summary>A client reaching a standalone silo through its gateway port.</summary>
public sealed class GatewayClientTests
{
    [Fact]
    public async Task BenchmarkRunsThroughAStaticGateway()
    {
        var instance = SiloProcess.FreeInstance();
        await using var silo = SiloProcess.Start([], instance);
        var gateway = $"127.0.0.1:{30000 + instance}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        CliProcess.Outcome run;
        do
        {
            Assert.False(silo.HasExited, silo.Output);
            run = await CliProcess.RunAsync(["benchmark", "--mode", "cluster", "--gateway", gateway, "--tasks", "200", "--warmup", "0", "--nodes", "1"]);
        }
        while (run.ExitCode != 0 && DateTime.UtcNow < deadline);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains($"cluster via gateways {gateway}", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("200 text-processing tasks on 1 silo(s)", run.Stdout, StringComparison.Ordinal);
    }
}

/// <summary>Collections from the command line, kept under a data directory between commands.</summary>
public sealed class VectorCliTests
{
    [Fact]
    public async Task CreateUpsertSearchDescribeAndDropFromTheCommandLine()
    {
        var dataDir = Directory.CreateTempSubdirectory("cli-vectors-").FullName;
        var file = Path.Combine(dataDir, "points.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            """{"id":"north","vector":[0,1,0],"payload":{"kind":"dir"}}""",
            """{"id":"east","vector":[1,0,0],"payload":{"kind":"dir"}}""",
            """{"id":"up","vector":[0,0,1],"payload":{"kind":"axis"}}""",
        ]);
        string[] Args(params string[] a) => [.. a, "--data-dir", dataDir];

        var create = await CliProcess.RunAsync(Args("collection", "create", "compass", "--dimension", "3", "--metric", "cosine", "--shards", "2"));
        Assert.True(create.ExitCode == 0, create.Stderr);
        var upsert = await CliProcess.RunAsync(Args("vectors", "upsert", "compass", "--input", file));
        Assert.True(upsert.ExitCode == 0, upsert.Stderr);
        Assert.Contains("3 points upserted", upsert.Stdout, StringComparison.Ordinal);

        var search = await CliProcess.RunAsync(Args("vectors", "search", "compass", "--vector", "0.1,0.9,0", "-k", "2"));
        Assert.True(search.ExitCode == 0, search.Stderr);
        // Piped: a header row, then the hits best first.
        Assert.StartsWith("north", search.Stdout.Split('\n')[1], StringComparison.Ordinal);

        var filtered = await CliProcess.RunAsync(Args("vectors", "search", "compass", "--vector", "0.1,0.9,0", "-k", "1", "--filter", "kind=axis"));
        Assert.StartsWith("up", filtered.Stdout.Split('\n')[1], StringComparison.Ordinal);

        var describe = await CliProcess.RunAsync(Args("collection", "describe", "compass"));
        Assert.Contains("3 points", describe.Stdout, StringComparison.Ordinal);

        var wrong = await CliProcess.RunAsync(Args("vectors", "search", "compass", "--vector", "1,2"));
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("dimension", wrong.Stderr, StringComparison.Ordinal);

        var unknown = await CliProcess.RunAsync(Args("collection", "describe", "nowhere"));
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("nowhere", unknown.Stderr, StringComparison.Ordinal);

        var drop = await CliProcess.RunAsync(Args("collection", "drop", "compass", "--yes"));
        Assert.True(drop.ExitCode == 0, drop.Stderr);
        var list = await CliProcess.RunAsync(Args("collection", "list"));
        Assert.Contains("0 collection(s)", list.Stdout, StringComparison.Ordinal);
        Directory.Delete(dataDir, recursive: true);
    }
}
