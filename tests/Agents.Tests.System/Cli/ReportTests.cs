using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Agents.Cli;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// <c>p2p-ai-agents report</c> over a folder of results, written the way <c>benchmark --output</c> writes them; the
/// page is laid out by a real headless Chromium, which measures every chart it drew: its size, and each text it set
/// (axis ticks, legend entries) with where it stands.
/// </summary>
public sealed partial class ReportTests
{
    private static BenchmarkResult Result(string type, int nodes, double throughput, string mode = "cluster", double? recall = null, int run = 1, int runs = 1) => new(
        mode, type, 10_000, nodes, "round-robin", DateTimeOffset.UtcNow.AddMinutes(run), 10_000 / throughput, throughput,
        new LatencyMs(0.2 * nodes, 0.5 + (0.01 * run), 1.5 + (0.1 * run), 3), 0,
        mode == "cluster" ? [.. Enumerable.Range(0, nodes).Select(i => new NodeFigures($"127.0.0.1:{11111 + i}@1", 10_000 / nodes, throughput / nodes))] : [],
        new MemoryFigures(300L << 20, recall is null ? null : 1698), MachineInfo.Current(), new Dictionary<string, string> { ["warmup_tasks"] = "2000" },
        RecallAtK: recall, K: recall is null ? null : 10)
    {
        Commit = "0123456789abcdef0123456789abcdef01234567",
        Run = run,
        Runs = runs,
    };

    /// <summary>A one-silo-per-count cluster run capped at 0.35 cores, with each started silo's CPU and peak memory.</summary>
    private static BenchmarkResult Capped(int nodes, double throughput, int run, int runs) => Result("text-processing", nodes, throughput, run: run, runs: runs) with
    {
        CpuLimit = 0.35,
        Silos = [.. Enumerable.Range(0, nodes).Select(i => new SiloFigures(1000 + i, 11111 + i, 30000 + i, 0.3 * 10_000 / throughput, PeakWorkingSetBytes: (180L + (10 * i)) << 20))],
        CpuSecondsTotal = nodes * 0.3 * 10_000 / throughput,
        CpuSecondsPerTask = nodes * 0.3 / throughput,
    };

    [Fact]
    public async Task ReportDrawsEveryChartWithNiceTicksLegendsAndSpreadsInHeadlessChromium()
    {
        var dir = Directory.CreateTempSubdirectory("agents-report-").FullName;
        try
        {
            // An embedded single-node run far faster than the capped cluster's one silo: it must not become the baseline.
            await Result("text-processing", 1, 10_000, mode: "single-node").WriteAsync(Path.Combine(dir, "single-node.json"));
            foreach (var run in new[] { 1, 2 })
            {
                await Capped(1, 1_000 + (20 * run), run, 2).WriteAsync(Path.Combine(dir, $"scale-1-nodes-run-{run}.json"));
                await Capped(2, 1_800 + (20 * run), run, 2).WriteAsync(Path.Combine(dir, $"scale-2-nodes-run-{run}.json"));
                await Capped(3, 2_400 + (20 * run), run, 2).WriteAsync(Path.Combine(dir, $"scale-3-nodes-run-{run}.json"));
            }

            await Result("vector-search", 1, 2_850, mode: "single-node", recall: 0.995).WriteAsync(Path.Combine(dir, "vectors", "search.json"));
            await File.WriteAllTextAsync(Path.Combine(dir, "notes.json"), "{\"hello\": 1}");
            var html = Path.Combine(dir, "report.html");

            var outcome = await CliProcess.RunAsync(["report", "--input", dir, "--output", html]);

            Assert.True(outcome.ExitCode == 0, outcome.Stderr);
            Assert.Contains("skipped notes.json", outcome.Stdout, StringComparison.Ordinal);
            // Two runs of each count are one configuration, shown as mean ± spread.
            Assert.Contains("text-processing, cluster, 2 nodes, 0.35 cores each: 1830 ± 14/s over 2 runs (1820-1840)", outcome.Stdout, StringComparison.Ordinal);
            // Efficiency against the cluster's own one-silo runs (1,030/s), not the embedded run's 10,000/s.
            Assert.Contains("2 node(s) 1830 ± 14/s, efficiency 0.89 ± 0.01", outcome.Stdout, StringComparison.Ordinal);
            var page = await File.ReadAllTextAsync(html);
            Assert.DoesNotContain("<script", page, StringComparison.Ordinal);
            Assert.Empty(Regex.Matches(page, "https?://(?!www\\.w3\\.org/)"));

            var figures = await RenderAsync(html);

            Assert.Equal(
                ["chart-throughput-text-processing", "chart-efficiency", "chart-latency", "chart-recall", "chart-silo-cpu", "chart-memory", "chart-nodes"],
                figures.Select(f => f.Id));
            foreach (var f in figures)
            {
                Assert.True(f.Width > 500 && f.Height > 200, $"{f.Id} is drawn {f.Width}x{f.Height}");
            }

            // The page is used to its width: the rightmost charts end near its right edge.
            Assert.All(figures.Where(f => f.Id is "chart-efficiency" or "chart-latency"), f => Assert.True(f.PageWidth - f.Right < 60, $"{f.Id} ends at {f.Right} of {f.PageWidth}"));

            var throughput = figures.Single(f => f.Id == "chart-throughput-text-processing");
            Assert.Equal([1, 2, 3], AxisTicks(throughput, bottom: true));
            AssertNiceSteps(AxisTicks(throughput, bottom: false), throughput.Id);
            Assert.Contains("text-processing, cluster, 0.35 cores each", throughput.Texts.Select(t => t.Text));
            Assert.Contains("text-processing, single-node", throughput.Texts.Select(t => t.Text));

            var efficiency = figures.Single(f => f.Id == "chart-efficiency");
            Assert.Equal([1, 2, 3], AxisTicks(efficiency, bottom: true));
            AssertNiceSteps(AxisTicks(efficiency, bottom: false), efficiency.Id);
            Assert.Contains("ideal (1.0)", efficiency.Texts.Select(t => t.Text));

            var latency = figures.Single(f => f.Id == "chart-latency");
            Assert.Contains("p50", latency.Texts.Select(t => t.Text));
            Assert.Contains("p99", latency.Texts.Select(t => t.Text));
            Assert.Contains("latency (ms, log scale)", latency.Texts.Select(t => t.Text));
            // Every configuration is named once, and no two alike.
            var labels = latency.Texts.Select(t => t.Text).Where(t => t.StartsWith("text-processing,", StringComparison.Ordinal) || t.StartsWith("vector-search,", StringComparison.Ordinal)).ToList();
            Assert.Equal(5, labels.Count);
            Assert.Equal(labels.Count, labels.Distinct().Count());
            // Decades on the log axis.
            Assert.All(AxisTicks(latency, bottom: true), t => Assert.Equal(Math.Round(Math.Log10(t)), Math.Log10(t), 6));

            Assert.Contains("recall@10", figures.Single(f => f.Id == "chart-recall").Texts.Select(t => t.Text));
            var cpu = figures.Single(f => f.Id == "chart-silo-cpu");
            Assert.Contains("silo 3", cpu.Texts.Select(t => t.Text));
            Assert.Contains("cores busy", cpu.Texts.Select(t => t.Text));
            var memory = figures.Single(f => f.Id == "chart-memory");
            Assert.Contains("p2p-ai-agents process", memory.Texts.Select(t => t.Text));
            Assert.Contains("silo 3", memory.Texts.Select(t => t.Text));

            // The tables: one row per configuration, and each result with its date, commit and machine.
            Assert.Equal(5, Regex.Matches(Table(page, "configurations"), "<tr><td").Count);
            var rows = Table(page, "results");
            Assert.Equal(8, Regex.Matches(rows, "<tr><td").Count);
            Assert.Contains("0123456789ab", rows, StringComparison.Ordinal);
            Assert.Contains($"{Environment.ProcessorCount} cores", rows, StringComparison.Ordinal);
            Assert.Contains(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), rows, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ChartsAppearOnlyForDataPresentAndOlderResultsStillLoad()
    {
        var dir = Directory.CreateTempSubdirectory("agents-report-few-").FullName;
        try
        {
            await Result("text-processing", 1, 5_000, mode: "single-node").WriteAsync(Path.Combine(dir, "new.json"));
            // A result written before the commit, repeat, host, CPU model and silo memory fields existed.
            var old = JsonNode.Parse(Result("embedding", 1, 50, mode: "single-node").ToJson())!.AsObject();
            old.Remove("commit");
            old.Remove("run");
            old.Remove("runs");
            old["machine"]!.AsObject().Remove("host");
            old["machine"]!.AsObject().Remove("cpu");
            await File.WriteAllTextAsync(Path.Combine(dir, "old.json"), old.ToJsonString());
            var html = Path.Combine(dir, "report.html");

            var outcome = await CliProcess.RunAsync(["report", "--input", dir, "--output", html]);

            Assert.True(outcome.ExitCode == 0, outcome.Stderr);
            Assert.Contains("report of 2 results", outcome.Stdout, StringComparison.Ordinal);
            var figures = await RenderAsync(html);
            // No scaling, recall, silo or per-node charts without such results: only what the two runs have.
            Assert.Equal(["chart-latency", "chart-memory"], figures.Select(f => f.Id));
            Assert.All(figures, f => Assert.True(f.Width > 500 && f.Texts.Count > 4, $"{f.Id} is drawn {f.Width} wide with {f.Texts.Count} texts"));
            Assert.Contains("unknown", Table(await File.ReadAllTextAsync(html), "results"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task BenchmarkRepeatWritesEachRunAndTheReportGroupsThem()
    {
        var dir = Directory.CreateTempSubdirectory("agents-report-repeat-").FullName;
        try
        {
            var bench = await CliProcess.RunAsync(
                ["benchmark", "--tasks", "200", "--warmup", "0", "--repeat", "2", "--output", Path.Combine(dir, "single.json"), "--data-dir", Path.Combine(dir, "data")],
                timeout: TimeSpan.FromMinutes(3));
            Assert.True(bench.ExitCode == 0, bench.Stdout + bench.Stderr);
            var runs = new[] { "single-run-1.json", "single-run-2.json" }.Select(f => BenchmarkResult.Parse(File.ReadAllText(Path.Combine(dir, f)))!).ToList();
            Assert.Equal([1, 2], runs.Select(r => r.Run));
            Assert.All(runs, r => Assert.Equal(2, r.Runs));
            Assert.All(runs, r => Assert.NotNull(r.Machine.Host));

            var report = await CliProcess.RunAsync(["report", "--input", dir, "--output", Path.Combine(dir, "report.html")]);

            Assert.True(report.ExitCode == 0, report.Stderr);
            Assert.Contains("text-processing, single-node, 1 node: ", report.Stdout, StringComparison.Ordinal);
            Assert.Contains("/s over 2 runs", report.Stdout, StringComparison.Ordinal);
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

    /// <summary>Ticks a step of 1, 2 or 5 times a power of ten apart, evenly.</summary>
    private static void AssertNiceSteps(IReadOnlyList<double> ticks, string chart)
    {
        Assert.True(ticks.Count >= 3, $"{chart}: ticks {string.Join(", ", ticks)}");
        var step = ticks[1] - ticks[0];
        Assert.All(ticks.Zip(ticks.Skip(1)), p => Assert.Equal(step, p.Second - p.First, step * 1e-6));
        var mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step)));
        Assert.True(new[] { 1.0, 2.0, 5.0 }.Any(m => Math.Abs(m - mantissa) < 1e-6), $"{chart}: step {step} in {string.Join(", ", ticks)}");
    }

    /// <summary>
    /// The numbers set along an axis: the bottom one's stand on one line (the largest group of numbers of one height);
    /// the left one's are right-aligned on one edge.
    /// </summary>
    private static List<double> AxisTicks(Figure figure, bool bottom)
    {
        var numbers = figure.Texts.Where(t => double.TryParse(t.Text.Replace(",", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out _)).ToList();
        var axis = bottom
            ? numbers.GroupBy(t => Math.Round(t.Middle)).MaxBy(g => g.Count())!
            : numbers.GroupBy(t => Math.Round(t.Right)).MaxBy(g => g.Count())!;
        return [.. axis.Select(t => double.Parse(t.Text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture)).Order()];
    }

    private static string Table(string page, string id)
    {
        var at = page.IndexOf($"<table id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(at >= 0, $"table {id} is missing");
        return page[at..page.IndexOf("</table>", at, StringComparison.Ordinal)];
    }

    /// <summary>A text Chromium set: its content, its right edge and its vertical middle (CSS pixels).</summary>
    private sealed record Label(string Text, double Right, double Middle);

    /// <summary>A chart as Chromium laid it out: its box, the page's width and every text it drew with a width.</summary>
    private sealed record Figure(string Id, double Width, double Height, double Right, double PageWidth, List<Label> Texts);

    // Run in the page after it loads: writes each figure's box and its drawn texts into the DOM that --dump-dom prints.
    private const string Measure = """
        <script>
        addEventListener('load', () => {
          const page = document.documentElement.clientWidth;
          const rows = [...document.querySelectorAll('figure')].map(f => {
            const svg = f.querySelector('svg');
            const box = (svg ?? f).getBoundingClientRect();
            const texts = svg ? [...svg.querySelectorAll('text')].filter(t => t.getComputedTextLength() > 0).map(t => {
              const r = t.getBoundingClientRect();
              return t.textContent.trim() + '\u001f' + r.right.toFixed(1) + '\u001f' + ((r.top + r.bottom) / 2).toFixed(1);
            }) : [];
            return [f.id, box.width.toFixed(1), box.height.toFixed(1), f.getBoundingClientRect().right.toFixed(1), page, texts.join('\u001e')].join('\t');
          });
          const out = document.createElement('pre');
          out.id = 'measured';
          out.textContent = rows.join('\n');
          document.body.append(out);
        });
        </script>
        """;

    /// <summary>The report's figures as headless Chromium draws them in a 1600-pixel-wide window (no network).</summary>
    private static async Task<List<Figure>> RenderAsync(string html)
    {
        var browser = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed: apt-get install -y chromium (.ci/run does).");
        // A copy of the page with the measuring script: the report itself carries no script.
        var measured = Path.Combine(Path.GetDirectoryName(html)!, "measured.html");
        await File.WriteAllTextAsync(measured, (await File.ReadAllTextAsync(html)).Replace("</body>", Measure + "</body>", StringComparison.Ordinal));
        var profile = Directory.CreateTempSubdirectory("agents-chromium-").FullName;
        var start = new ProcessStartInfo(browser) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1600,1200", $"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom", new Uri(measured).AbsoluteUri })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var dom = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Directory.Delete(profile, recursive: true);
        var match = MeasuredBlock().Match(dom);
        Assert.True(match.Success, $"Chromium did not lay the page out: {dom.Length} characters, {await stderr}");
        return [.. System.Net.WebUtility.HtmlDecode(match.Groups[1].Value).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var f = line.Split('\t');
            double N(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            var texts = f[5].Split('\u001e', StringSplitOptions.RemoveEmptyEntries).Select(t => t.Split('\u001f')).Select(t => new Label(t[0], N(t[1]), N(t[2]))).ToList();
            return new Figure(f[0], N(f[1]), N(f[2]), N(f[3]), N(f[4]), texts);
        })];
    }

    [GeneratedRegex("<pre id=\"measured\">(.*?)</pre>", RegexOptions.Singleline)]
    private static partial Regex MeasuredBlock();
}
