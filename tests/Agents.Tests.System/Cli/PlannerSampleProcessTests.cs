using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>The planner sample as its README runs it: one process, its own embedded silo, its own documents.</summary>
public sealed class PlannerSampleProcessTests
{
    [Fact]
    public async Task TheSampleLearnsItsDocumentsAndAnswersEachQuestionFromTheRightOne()
    {
        var data = Directory.CreateTempSubdirectory("planner-sample-").FullName;
        var run = await CliProcess.RunToolAsync(
            "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "Agents.Samples.Planner.dll"), Path.Combine(AppContext.BaseDirectory, "documents"),
                "How does a silo join the cluster?", "How is a collection split into shards?"],
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["P2P_DATA_DIR"] = data });

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("Learned 4 documents as 4 chunks", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("embed request(s) answered by worker-", run.Stderr, StringComparison.Ordinal);
        var lines = run.Stdout.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("silos.md#0", lines[Array.IndexOf(lines, "Q: How does a silo join the cluster?") + 1], StringComparison.Ordinal);
        Assert.Contains("vectors.md#0", lines[Array.IndexOf(lines, "Q: How is a collection split into shards?") + 1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingFolderIsNamed()
    {
        var run = await CliProcess.RunToolAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "Agents.Samples.Planner.dll"), "/nonexistent/notes"], AppContext.BaseDirectory,
            new Dictionary<string, string> { ["P2P_DATA_DIR"] = Directory.CreateTempSubdirectory("planner-sample-").FullName });

        Assert.Contains("'/nonexistent/notes' does not exist", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, run.ExitCode);
    }
}
