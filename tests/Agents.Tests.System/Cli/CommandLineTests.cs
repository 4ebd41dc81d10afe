using System.Diagnostics;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// The command line's edges as a user meets them, in real processes: a line that does not parse, a cluster that
/// cannot be reached, the help, and the silo executable's own help and start-up line.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class CommandLineTests(PostgresServer postgres)
{
    [Theory]
    [InlineData(new[] { "benchmark", "--taks", "3" }, "did you mean '--tasks'?")]
    [InlineData(new[] { "vectors", "serach", "docs", "--text", "x" }, "did you mean 'search'?")]
    [InlineData(new[] { "bench" }, "did you mean 'benchmark'?")]
    [InlineData(new[] { "benchmark", "--tasks", "abc" }, "--tasks 'abc' is not a whole number")]
    [InlineData(new[] { "jobs", "status", "123" }, "'123' is not a job id")]
    [InlineData(new[] { "benchmark", "--distribution", "foo" }, "--distribution 'foo' is not one of round-robin, random or least-loaded")]
    [InlineData(new[] { "benchmark", "--mode", "foo" }, "--mode 'foo' is not single-node or cluster")]
    [InlineData(new[] { "benchmark", "--task-type", "embeding" }, "did you mean 'embedding'?")]
    [InlineData(new[] { "collection", "create", "c", "--dimension", "4", "--metric", "cosin" }, "did you mean 'cosine'?")]
    [InlineData(new[] { "collection", "create", "c", "--dimension", "4", "--index", "hnws" }, "did you mean 'hnsw'?")]
    [InlineData(new[] { "benchmark", "--tasks", "0" }, "--tasks must be positive")]
    [InlineData(new[] { "stats", "--data-dir", "/tmp" }, "unknown option '--data-dir'")]
    public async Task ABadCommandLineIsTwoLinesOnStderrAndExitCodeTwo(string[] arguments, string expected)
    {
        var run = await CliProcess.RunAsync(arguments, timeout: TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}{run.Stdout}");
        Assert.Equal("", run.Stdout);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Length, 1, 2);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.Contains("--help", run.Stderr, StringComparison.Ordinal);
        foreach (var leak in new[] { "System.", "(Parameter", "Usage:", "   at " })
        {
            Assert.DoesNotContain(leak, run.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task HelpListsTheAllowedValuesAndEndsWithExamples()
    {
        var benchmark = await CliProcess.RunAsync(["benchmark", "--help"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(0, benchmark.ExitCode);
        foreach (var values in new[] { "<single-node|cluster>", "<round-robin|random|least-loaded>", "<hnsw|flat>", "text-processing, embedding, vector-store, vector-search, messaging, e2e" })
        {
            Assert.Contains(values, benchmark.Stdout, StringComparison.Ordinal);
        }

        var examples = benchmark.Stdout[benchmark.Stdout.IndexOf("Examples:", StringComparison.Ordinal)..]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1).ToList();
        Assert.InRange(examples.Count, 2, 3);
        Assert.All(examples, e => Assert.StartsWith("p2p-ai-agents benchmark ", e, StringComparison.Ordinal));

        var create = await CliProcess.RunAsync(["collection", "create", "--help"], timeout: TimeSpan.FromSeconds(60));
        Assert.Contains("<cosine|dot|l2>", create.Stdout, StringComparison.Ordinal);
        Assert.Contains("Examples:", create.Stdout, StringComparison.Ordinal);
        var submit = await CliProcess.RunAsync(["submit", "--help"], timeout: TimeSpan.FromSeconds(60));
        Assert.Contains("<text-processing|embedding>", submit.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpOffersOnlyTheOptionsThatDoSomethingForTheCommand()
    {
        var report = await CliProcess.RunAsync(["report", "--help"], timeout: TimeSpan.FromSeconds(60));
        var soak = await CliProcess.RunAsync(["soak", "--help"], timeout: TimeSpan.FromSeconds(60));
        var search = await CliProcess.RunAsync(["vectors", "search", "--help"], timeout: TimeSpan.FromSeconds(60));

        foreach (var option in new[] { "--cluster", "--gateway", "--data-dir", "--config", "--json", "--connect-timeout" })
        {
            Assert.DoesNotContain(option, report.Stdout, StringComparison.Ordinal);
        }

        // A soak's collection is dropped at its end, so where an embedded silo keeps collections does not matter to it.
        Assert.DoesNotContain("--data-dir", soak.Stdout, StringComparison.Ordinal);
        foreach (var option in new[] { "--cluster", "--gateway", "--data-dir", "--connect-timeout", "--verbose" })
        {
            Assert.Contains(option, search.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ACommandWithoutItsSubcommandShowsItsHelp()
    {
        var run = await CliProcess.RunAsync(["vectors"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("search <collection>", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Examples:", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableGatewayGivesUpAfterTheConnectTimeoutWithExitCodeThree()
    {
        var gateway = $"127.0.0.1:{PostgresServer.FreePort()}";
        var clock = Stopwatch.StartNew();
        var run = await CliProcess.RunAsync(["stats", "--gateway", gateway, "--connect-timeout", "3s"], timeout: TimeSpan.FromSeconds(60));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3 + 5), $"took {clock.Elapsed}");
        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Equal("", run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"gateway {gateway} within 3 s", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheConnectTimeoutVariableBoundsTheWait()
    {
        var gateway = $"127.0.0.1:{PostgresServer.FreePort()}";
        var clock = Stopwatch.StartNew();
        var run = await CliProcess.RunAsync(
            ["jobs", "list", "--gateway", gateway], new Dictionary<string, string> { ["P2P_CONNECT_TIMEOUT"] = "2s" }, TimeSpan.FromSeconds(60));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2 + 5), $"took {clock.Elapsed}");
        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains("within 2 s", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("0s")]
    public async Task ABadConnectTimeoutIsBadInput(string value)
    {
        var option = await CliProcess.RunAsync(["stats", "--gateway", "127.0.0.1:1", "--connect-timeout", value], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, option.ExitCode);
        Assert.Contains($"--connect-timeout '{value}'", option.Stderr, StringComparison.Ordinal);

        var variable = await CliProcess.RunAsync(
            ["stats", "--gateway", "127.0.0.1:1"], new Dictionary<string, string> { ["P2P_CONNECT_TIMEOUT"] = value }, TimeSpan.FromSeconds(60));
        Assert.Equal(2, variable.ExitCode);
        Assert.Contains($"P2P_CONNECT_TIMEOUT: '{value}'", variable.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADatabaseThatIsNotListeningGivesUpWithExitCodeThree()
    {
        var port = PostgresServer.FreePort();
        var run = await CliProcess.RunAsync(
            ["stats", "--connect-timeout", "3s"],
            new Dictionary<string, string> { ["P2P_CLUSTER"] = $"Host=127.0.0.1;Port={port};Username=agents;Password=secret;Database=agents" },
            TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Equal("", run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"PostgreSQL 127.0.0.1:{port}/agents", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostgreSqlWithoutASiloGivesUpWithExitCodeThreeAndNothingOnStdout()
    {
        var database = await postgres.CreateDatabaseAsync();
        await ClusterSchema.ApplyAsync(database);
        var clock = Stopwatch.StartNew();
        var run = await CliProcess.RunAsync(["stats", "--cluster", database, "--connect-timeout", "4s"], timeout: TimeSpan.FromSeconds(60));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4 + 5), $"took {clock.Elapsed}");
        Assert.True(run.ExitCode == 3, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Equal("", run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"PostgreSQL 127.0.0.1:{postgres.Port}/", line, StringComparison.Ordinal);
        Assert.Contains("no live gateway", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSiloPrintsItsHelpAndExitsZero()
    {
        var run = await CliProcess.RunToolAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "Agents.Silo.dll"), "--help"], AppContext.BaseDirectory, timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Usage:", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("--instance N", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("Examples:", run.Stdout, StringComparison.Ordinal);

        var bad = await CliProcess.RunToolAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "Agents.Silo.dll"), "--instanse", "1"], AppContext.BaseDirectory, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("'--instanse'", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStartedSiloSaysWhereItsPortsAre()
    {
        var instance = SiloProcess.FreeInstance();
        var metrics = PostgresServer.FreePort();
        await using var silo = SiloProcess.Start(["--metrics-port", metrics.ToString(System.Globalization.CultureInfo.InvariantCulture)], instance);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!silo.Output.Contains("started:", StringComparison.Ordinal) && !silo.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var line = silo.Output.Split('\n').Single(l => l.Contains("started:", StringComparison.Ordinal));
        Assert.Contains($"gateway 127.0.0.1:{HostSettings.GatewayPortBase + instance}", line, StringComparison.Ordinal);
        Assert.Contains($"silo port 127.0.0.1:{HostSettings.SiloPortBase + instance}", line, StringComparison.Ordinal);
        Assert.Contains($"metrics http://127.0.0.1:{metrics}/metrics", line, StringComparison.Ordinal);
        Assert.Contains("dashboard off", line, StringComparison.Ordinal);
    }
}
