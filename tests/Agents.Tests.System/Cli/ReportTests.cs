using System.Diagnostics;
using Agents.Cli;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// <c>p2p-ai-agents report</c> over a folder of results, written the way <c>benchmark --output</c> writes them; the
/// page is rendered by a real headless Chromium, whose DOM must hold every chart with its marks.
/// </summary>
public sealed class ReportTests
{
    private static BenchmarkResult Result(string type, int nodes, double throughput, double? recall = null, IReadOnlyList<NodeFigures>? perNode = null) => new(
        nodes > 1 ? "cluster" : "single-node", type, 10_000, nodes, "round-robin", DateTimeOffset.UtcNow, 1, throughput,
        new LatencyMs(0.2 * nodes, 0.5, 1.5, 3), 0, perNode ?? [], new MemoryFigures(300L << 20, recall is null ? null : 1698),
        MachineInfo.Current(), new Dictionary<string, string>(), RecallAtK: recall, K: recall is null ? null : 10);

    [Fact]
    public async Task ReportRendersEveryChartInHeadlessChromium()
    {
        var dir = Directory.CreateTempSubdirectory("agents-report-").FullName;
        try
        {
            await Result("text-processing", 1, 10_000).WriteAsync(Path.Combine(dir, "single-node.json"));
            await Result("text-processing", 2, 17_500, perNode: [new("127.0.0.1:11111@1", 5_100, 8_900), new("127.0.0.1:11112@2", 4_900, 8_600)]).WriteAsync(Path.Combine(dir, "cluster-2-nodes.json"));
            await Result("vector-search", 1, 2_850, recall: 0.995).WriteAsync(Path.Combine(dir, "vectors", "search.json"));
            await File.WriteAllTextAsync(Path.Combine(dir, "notes.json"), "{\"hello\": 1}");
            var html = Path.Combine(dir, "report.html");

            var outcome = await CliProcess.RunAsync(["report", "--input", dir, "--output", html]);

            Assert.Equal(0, outcome.ExitCode);
            Assert.Contains("scaling efficiency 0.88", outcome.Stdout, StringComparison.Ordinal);
            Assert.Contains("skipped notes.json", outcome.Stdout, StringComparison.Ordinal);
            var page = await File.ReadAllTextAsync(html);
            Assert.DoesNotContain("http://", page.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);

            var dom = await RenderAsync(html);
            foreach (var chart in new[] { "chart-throughput", "chart-latency", "chart-recall", "chart-nodes", "chart-memory" })
            {
                var at = dom.IndexOf($"id=\"{chart}\"", StringComparison.Ordinal);
                Assert.True(at >= 0, $"{chart} is missing from the rendered page");
                Assert.Contains("<svg", dom[at..], StringComparison.Ordinal);
            }

            Assert.Contains("class=\"series\"", dom, StringComparison.Ordinal);
            Assert.Contains("class=\"ideal\"", dom, StringComparison.Ordinal);
            Assert.Contains("class=\"point\"", dom, StringComparison.Ordinal);
            Assert.Equal(3 * 3 + 2 + 3, CountOf(dom, "class=\"bar\""));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ClusterRunsDrawEfficiencyAgainstNodesAndOlderResultsStillLoad()
    {
        var dir = Directory.CreateTempSubdirectory("agents-report-scale-").FullName;
        try
        {
            BenchmarkResult Cluster(int nodes, double throughput, double efficiency) => Result("text-processing", nodes, throughput) with
            {
                Mode = "cluster",
                CpuLimit = 0.35,
                Silos = [.. Enumerable.Range(0, nodes).Select(i => new SiloFigures(1000 + i, 11200 + i, 30200 + i, 2.5))],
                CpuSecondsTotal = 2.5 * nodes,
                CpuSecondsPerTask = 2.5 * nodes / 10_000,
                Efficiency = efficiency,
            };

            await Cluster(1, 1_000, 1.0).WriteAsync(Path.Combine(dir, "scale-1-nodes.json"));
            await Cluster(2, 1_800, 0.9).WriteAsync(Path.Combine(dir, "scale-2-nodes.json"));
            // A result written before the CPU and efficiency fields existed.
            var old = System.Text.Json.Nodes.JsonNode.Parse(Result("embedding", 1, 50).ToJson())!.AsObject();
            Assert.False(old.ContainsKey("efficiency"));
            await File.WriteAllTextAsync(Path.Combine(dir, "old.json"), old.ToJsonString());
            var html = Path.Combine(dir, "report.html");

            var outcome = await CliProcess.RunAsync(["report", "--input", dir, "--output", html]);

            Assert.True(outcome.ExitCode == 0, outcome.Stderr);
            Assert.DoesNotContain("skipped", outcome.Stdout, StringComparison.Ordinal);
            Assert.Contains("report of 3 results", outcome.Stdout, StringComparison.Ordinal);
            Assert.Contains("text-processing (cluster runs): 1 node(s) 1000/s, efficiency 1.00, 0.250 CPU ms/task (silos capped at 0.35 cores); " +
                "2 node(s) 1800/s, efficiency 0.90, 0.500 CPU ms/task", outcome.Stdout, StringComparison.Ordinal);
            var page = await File.ReadAllTextAsync(html);
            var chart = page[page.IndexOf("id=\"chart-efficiency\"", StringComparison.Ordinal)..];
            chart = chart[..chart.IndexOf("</figure>", StringComparison.Ordinal)];
            // One line for the one task type with cluster runs, through both node counts.
            Assert.Equal(1, CountOf(chart, "class=\"efficiency\""));
            Assert.Equal(2, CountOf(chart, "<circle"));
            Assert.Contains("efficiency 0.90", chart, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task AFolderWithoutResultsIsAClearError()
    {
        var dir = Directory.CreateTempSubdirectory("agents-report-empty-").FullName;
        var outcome = await CliProcess.RunAsync(["report", "--input", dir, "--output", Path.Combine(dir, "r.html")]);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("No benchmark results", outcome.Stderr, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>The DOM after Chromium has loaded the page (headless, no network).</summary>
    private static async Task<string> RenderAsync(string html)
    {
        var browser = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed: apt-get install -y chromium (.ci/run does).");
        var profile = Directory.CreateTempSubdirectory("agents-chromium-").FullName;
        var start = new ProcessStartInfo(browser) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", $"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom", new Uri(html).AbsoluteUri })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var dom = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Directory.Delete(profile, recursive: true);
        Assert.True(dom.Length > 0, $"Chromium rendered nothing: {await stderr}");
        return dom;
    }
}
