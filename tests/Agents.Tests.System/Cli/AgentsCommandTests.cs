using System.Text.Json;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary><c>agents list|ask|ask-any</c> as a user runs them: real processes, each hosting its own embedded silo.</summary>
public sealed class AgentsCommandTests
{
    [Fact]
    public async Task ListShowsTheSilosWorkersHoldingTheBuiltIns()
    {
        var run = await CliProcess.RunAsync(["agents", "list", "--capability", "embed", "--json"]);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        using var json = JsonDocument.Parse(run.Stdout);
        var agents = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, agents.Count); // agent_workers' default, one silo
        Assert.All(agents, a => Assert.StartsWith("worker-", a.GetProperty("agent").GetString(), StringComparison.Ordinal));
        Assert.All(agents, a => Assert.Contains("embed", a.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString())));
    }

    [Fact]
    public async Task AgentWorkersSetsHowManyWorkersASiloStarts()
    {
        var run = await CliProcess.RunAsync(["agents", "list", "--json"], new Dictionary<string, string> { ["P2P_AGENT_WORKERS"] = "3" });

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(3, json.RootElement.GetArrayLength());
        Assert.All(json.RootElement.EnumerateArray(), a => Assert.Equal(
            ["embed", "process-text", "search", "submit-job"], a.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()!).Order(StringComparer.Ordinal)));
    }

    [Fact]
    public async Task AskAnyAnswersWithTheCapabilitysReply()
    {
        var run = await CliProcess.RunAsync(["agents", "ask-any", "process-text", "--body", "{\"text\": \"Silos join a cluster. Grains live in silos.\"}", "--json"]);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(2, json.RootElement.GetProperty("statistics").GetProperty("sentences").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("chunks").GetArrayLength());
    }

    [Theory]
    [InlineData(new[] { "agents", "ask-any", "embed", "--body", "{\"texts\": [" }, 2, "--body is not JSON")]
    [InlineData(new[] { "agents", "ask-any", "process-text", "--body", "{\"text\": \" \"}" }, 2, "no text")]
    [InlineData(new[] { "agents", "ask", "nobody-here", "process-text", "--body", "{\"text\": \"a\"}" }, 2, "nobody-here")]
    [InlineData(new[] { "agents", "ask-any", "search", "--body", "{\"collection\": \"nothing-here\", \"text\": \"a\"}" }, 2, "'nothing-here' does not exist")]
    [InlineData(new[] { "agents", "ask-any", "embed", "--timeout", "soon" }, 2, "--timeout 'soon'")]
    [InlineData(new[] { "agents", "list", "--capability", "two words" }, 2, "'two words'")]
    public async Task BadInputExitsWithAMessageNamingIt(string[] arguments, int exitCode, string expected)
    {
        var run = await CliProcess.RunAsync(arguments);

        Assert.True(run.ExitCode == exitCode, $"exit {run.ExitCode}: {run.Stderr}{run.Stdout}");
        Assert.Contains(expected, run.Stderr, StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }
}
