using System.Globalization;
using System.Net;
using System.Text;

namespace Agents.Cli;

/// <summary>
/// <c>p2p-ai-agents report --input DIR --output FILE.html</c>: every benchmark result JSON of a folder as one
/// self-contained page (inline SVG charts and CSS, nothing fetched). Results that differ only in when they ran are one
/// configuration, shown as mean ± spread; scaling is held against the one-node runs of the same task type, mode and CPU
/// cap (an embedded single-node run is never a cluster's baseline). A chart appears only when there is data for it.
/// </summary>
public static class PerformanceReport
{
    /// <summary>Reads every <c>*.json</c> result under <paramref name="directory"/> (files that are not results are skipped and named).</summary>
    public static (List<(string File, BenchmarkResult Result)> Results, List<string> Skipped) Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Results folder '{directory}' does not exist.");
        }

        var results = new List<(string, BenchmarkResult)>();
        var skipped = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            try
            {
                if (BenchmarkResult.Parse(File.ReadAllText(file)) is { TaskType: not null } result)
                {
                    results.Add((Path.GetRelativePath(directory, file), result));
                    continue;
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }

            skipped.Add(Path.GetRelativePath(directory, file));
        }

        return results.Count == 0 ? throw new FileNotFoundException($"No benchmark results (*.json written by 'benchmark --output') in '{directory}'.") : (results, skipped);
    }

    /// <summary>The terminal summary: one line per configuration, then the scaling of each series.</summary>
    public static string Summary(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var text = new StringBuilder();
        foreach (var c in Configurations(results))
        {
            var r = c.First;
            text.Append(CultureInfo.InvariantCulture, $"{c.Label}: {c.Of(x => x.ThroughputPerSecond).Format("F0")}/s");
            if (c.Runs.Count > 1)
            {
                var t = c.Of(x => x.ThroughputPerSecond);
                text.Append(CultureInfo.InvariantCulture, $" over {c.Runs.Count} runs ({t.Min:F0}-{t.Max:F0})");
            }

            text.Append(CultureInfo.InvariantCulture, $", p50 {c.Of(x => x.LatencyMs.P50).Format("F2")} ms, p99 {c.Of(x => x.LatencyMs.P99).Format("F2")} ms");
            if (r.RecallAtK is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $", recall@{r.K} {c.Of(x => x.RecallAtK ?? 0).Format("F3")}");
            }

            var errors = c.Runs.Sum(x => x.Result.Errors);
            text.AppendLine(CultureInfo.InvariantCulture,
                $", client peak working set {c.Of(x => x.Memory.PeakWorkingSetBytes / 1048576.0).Format("F0")} MB{(errors > 0 ? $", {errors} errors" : "")} ({string.Join(", ", c.Runs.Select(x => x.File))})");
        }

        foreach (var s in Scaling(results).Where(s => s.Points.Count > 1))
        {
            text.Append(CultureInfo.InvariantCulture, $"{s.Label}: ").AppendLine(string.Join("; ", s.Points.Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{p.Nodes} node(s) {p.Throughput.Format("F0")}/s{(p.Efficiency is { } e ? $", efficiency {e.Format("F2")}" : "")}{(p.CpuMsPerTask is { } cpu ? $", {cpu:F3} CPU ms/task" : "")}"))));
        }

        return text.ToString();
    }

    /// <summary>The page.</summary>
    public static string Html(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var configurations = Configurations(results);
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Agents.Orleans performance report</title>
            <style>
            body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:20px 24px;color:#222}
            h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:28px 0 8px}
            .meta{font-size:13px;color:#444;margin:2px 0}
            .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
            figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px;background:#fff;min-width:0}
            figure.wide{grid-column:1/-1}
            figure svg{width:100%;height:auto;display:block}
            figcaption{font-size:13px;color:#555;margin-top:4px}
            table{border-collapse:collapse;font-size:13px;width:100%}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
            th{background:#f4f4f4}td.text,th.text{text-align:left}
            pre{font-size:12px;white-space:pre-wrap}
            </style></head><body>
            <h1>Agents.Orleans performance report</h1>
            """);
        var dates = results.Select(r => r.Result.StartedAt).Order().ToList();
        html.Append(CultureInfo.InvariantCulture,
            $"<p class=\"meta\">{results.Count} results in {configurations.Count} configurations, run {Encode(Date(dates[0]))}{(dates[^1] != dates[0] ? $" to {Encode(Date(dates[^1]))}" : "")}.</p>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">Machines: {Encode(string.Join("; ", results.Select(r => r.Result.Machine.Describe()).Distinct()))}.</p>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">Commits: {Encode(string.Join(", ", results.Select(r => ShortCommit(r.Result.Commit)).Distinct()))}.</p>");
        html.Append("<p class=\"meta\">Where a configuration ran more than once, a figure is its mean ± one standard deviation (error bars in the charts).</p>");
        html.Append("<div class=\"charts\">");
        foreach (var (id, caption, svg, wide) in Charts(results, configurations))
        {
            html.Append(CultureInfo.InvariantCulture, $"<figure id=\"{id}\"{(wide ? " class=\"wide\"" : "")}>{svg}<figcaption>{Encode(caption)}</figcaption></figure>");
        }

        html.Append("</div>");
        AppendConfigurationTable(html, configurations, results);
        AppendResultTable(html, configurations);
        html.Append("<h2>Summary</h2><pre>").Append(Encode(Summary(results))).Append("</pre></body></html>\n");
        return html.ToString();
    }

    /// <summary>The charts there is data for: id, caption, SVG and whether it takes a whole row.</summary>
    private static IEnumerable<(string Id, string Caption, string Svg, bool Wide)> Charts(
        IReadOnlyList<(string File, BenchmarkResult Result)> results, IReadOnlyList<Configuration> configurations)
    {
        var scaling = Scaling(results);
        foreach (var type in scaling.Where(s => s.Points.Count > 1).Select(s => s.TaskType).Distinct())
        {
            var series = new List<ReportCharts.LineSeries>();
            var colour = 0;
            foreach (var s in scaling.Where(s => s.TaskType == type))
            {
                series.Add(new(s.Label, [.. s.Points.Select(p => (double)p.Nodes)], [.. s.Points.Select(p => p.Throughput)], Color: colour));
                if (s.Points.Count > 1 && s.Points[0] is { Nodes: 1 } one)
                {
                    var most = s.Points[^1].Nodes;
                    series.Add(new($"ideal: {s.Label} (1 node × nodes)", [1, most], [one.Throughput with { StdDev = 0, Count = 1 }, Spread.Of([one.Throughput.Mean * most])], Dashed: true, Color: colour));
                }

                colour++;
            }

            yield return ($"chart-throughput-{type}", $"Throughput against nodes: {type} ({Unit(type)} per second; dashed: ideal, one node's throughput × nodes)",
                ReportCharts.Lines($"chart-throughput-{type}", series, "nodes (silos)", $"{Unit(type)} per second"), false);
        }

        var efficiency = scaling.Where(s => s.Points.Count(p => p.Efficiency is not null) > 1).ToList();
        if (efficiency.Count > 0)
        {
            var series = efficiency.Select((s, i) =>
            {
                var points = s.Points.Where(p => p.Efficiency is not null).ToList();
                return new ReportCharts.LineSeries(s.Label, [.. points.Select(p => (double)p.Nodes)], [.. points.Select(p => p.Efficiency!.Value)], Color: i);
            }).ToList();
            var most = series.Max(s => s.Xs.Max());
            series.Add(new("ideal (1.0)", [series.Min(s => s.Xs.Min()), most], [Spread.Of([1.0]), Spread.Of([1.0])], Dashed: true, Color: 9));
            yield return ("chart-efficiency", "Scaling efficiency against nodes: throughput ÷ (nodes × one node's throughput of the same task type, mode and CPU cap)",
                ReportCharts.Lines("chart-efficiency", series, "nodes (silos)", "efficiency"), false);
        }

        var timed = configurations.Where(c => c.First.LatencyMs.P99 > 0).ToList();
        if (timed.Count > 0)
        {
            var labels = timed.Select(c => c.Label).ToList();
            yield return ("chart-latency", "Latency percentiles per configuration (milliseconds, log scale)", ReportCharts.Bars("chart-latency", labels,
                [
                    new("p50", [.. timed.Select(c => Positive(c.Of(r => r.LatencyMs.P50)))]),
                    new("p95", [.. timed.Select(c => Positive(c.Of(r => r.LatencyMs.P95)))]),
                    new("p99", [.. timed.Select(c => Positive(c.Of(r => r.LatencyMs.P99)))]),
                ],
                "latency (ms, log scale)", log: true), true);
        }

        var recall = configurations.Where(c => c.First.RecallAtK is not null).ToList();
        if (recall.Count > 0)
        {
            yield return ("chart-recall", "Recall@k against queries per second (vector-search configurations)", ReportCharts.Points("chart-recall",
                [.. recall.Select(c => (c.Label, c.Of(r => r.ThroughputPerSecond), c.Of(r => r.RecallAtK ?? 0)))], "queries per second", $"recall@{recall[0].First.K}"), false);
        }

        var withSilos = configurations.Where(c => c.Runs.All(r => r.Result.Silos is { Count: > 0 } && r.Result.DurationSeconds > 0)).ToList();
        if (withSilos.Count > 0)
        {
            var most = withSilos.Max(c => c.First.Silos!.Count);
            yield return ("chart-silo-cpu", "CPU per silo over the measured run (cores busy: CPU seconds ÷ run seconds), for the silos the benchmark started",
                ReportCharts.Bars("chart-silo-cpu", [.. withSilos.Select(c => c.Label)],
                    [.. Enumerable.Range(0, most).Select(i => new ReportCharts.BarSeries($"silo {i + 1}", [.. withSilos.Select(c => PerSilo(c, i, (r, s) => s.CpuSeconds / r.DurationSeconds))]))],
                    "cores busy"), true);
        }

        // The client's own peak for every configuration; each started silo's peak where it was recorded.
        var silosMost = configurations.Select(c => c.Runs.All(r => r.Result.Silos?.All(s => s.PeakWorkingSetBytes is not null) == true) ? c.First.Silos!.Count : 0).Max();
        yield return ("chart-memory", "Peak working set (MB): the p2p-ai-agents process (which hosts the silo in an embedded single-node run) and each silo the benchmark started",
            ReportCharts.Bars("chart-memory", [.. configurations.Select(c => c.Label)],
                [
                    new("p2p-ai-agents process", [.. configurations.Select(c => (Spread?)c.Of(r => r.Memory.PeakWorkingSetBytes / 1048576.0))]),
                    .. Enumerable.Range(0, silosMost).Select(i => new ReportCharts.BarSeries($"silo {i + 1}",
                        [.. configurations.Select(c => c.Runs.All(r => r.Result.Silos?.All(s => s.PeakWorkingSetBytes is not null) == true) ? PerSilo(c, i, (_, s) => s.PeakWorkingSetBytes!.Value / 1048576.0) : null)])),
                ],
                "peak working set (MB)"), true);

        var spread = configurations.Where(c => c.First.PerNode.Count > 1).ToList();
        if (spread.Count > 0)
        {
            var most = spread.Max(c => c.First.PerNode.Count);
            yield return ("chart-nodes", "Tasks each silo ran, per cluster configuration (silos in address order)",
                ReportCharts.Bars("chart-nodes", [.. spread.Select(c => c.Label)],
                    [.. Enumerable.Range(0, most).Select(i => new ReportCharts.BarSeries($"silo {i + 1}",
                        [.. spread.Select(c => c.Runs.All(r => r.Result.PerNode.Count > i) ? Spread.Of(c.Runs.Select(r => (double)r.Result.PerNode.OrderBy(n => n.Silo, StringComparer.Ordinal).ElementAt(i).Tasks)) : (Spread?)null)]))],
                    "tasks"), true);
        }
    }

    private static void AppendConfigurationTable(StringBuilder html, IReadOnlyList<Configuration> configurations, IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var efficiency = Scaling(results).SelectMany(s => s.Points.Select(p => (s, p))).ToList();
        html.Append("<h2>Configurations</h2><table id=\"configurations\"><thead><tr><th class=\"text\">configuration</th><th class=\"text\">task type</th><th class=\"text\">mode</th><th>nodes</th><th>CPU cap (cores)</th><th>tasks</th><th>runs</th>")
            .Append("<th>throughput /s</th><th>min-max /s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>recall</th><th>efficiency</th><th>silo CPU ms/task</th><th>client peak MB</th><th>largest silo peak MB</th><th>errors</th></tr></thead><tbody>");
        foreach (var c in configurations)
        {
            var r = c.First;
            var t = c.Of(x => x.ThroughputPerSecond);
            var e = efficiency.FirstOrDefault(x => x.s.Runs.Contains(r) && x.p.Nodes == r.Nodes).p?.Efficiency;
            var siloPeak = c.Runs.SelectMany(x => x.Result.Silos ?? []).Select(s => s.PeakWorkingSetBytes).Where(b => b is not null).Select(b => b!.Value / 1048576.0).DefaultIfEmpty().Max();
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"text\">{Encode(c.Label)}</td><td class=\"text\">{Encode(r.TaskType)}</td><td class=\"text\">{Encode(r.Mode)}</td><td>{r.Nodes}</td><td>{r.CpuLimit}</td><td>{r.Tasks}</td><td>{c.Runs.Count}</td>")
                .Append(CultureInfo.InvariantCulture,
                $"<td>{t.Format("F0")}</td><td>{t.Min:F0}-{t.Max:F0}</td><td>{c.Of(x => x.LatencyMs.P50).Format("F3")}</td><td>{c.Of(x => x.LatencyMs.P95).Format("F3")}</td><td>{c.Of(x => x.LatencyMs.P99).Format("F3")}</td>")
                .Append(CultureInfo.InvariantCulture,
                $"<td>{(r.RecallAtK is null ? "" : c.Of(x => x.RecallAtK ?? 0).Format("F3"))}</td><td>{e?.Format("F2")}</td><td>{(c.Runs.All(x => x.Result.CpuSecondsPerTask is not null) ? c.Of(x => x.CpuSecondsPerTask!.Value * 1000).Format("F3") : "")}</td>")
                .Append(CultureInfo.InvariantCulture,
                $"<td>{c.Of(x => x.Memory.PeakWorkingSetBytes / 1048576.0).Format("F0")}</td><td>{(siloPeak > 0 ? siloPeak.ToString("F0", CultureInfo.InvariantCulture) : "")}</td><td>{c.Runs.Sum(x => x.Result.Errors)}</td></tr>");
        }

        html.Append("</tbody></table>");
    }

    private static void AppendResultTable(StringBuilder html, IReadOnlyList<Configuration> configurations)
    {
        html.Append("<h2>Results</h2><table id=\"results\"><thead><tr><th class=\"text\">file</th><th class=\"text\">configuration</th><th class=\"text\">started (UTC)</th><th class=\"text\">commit</th>")
            .Append("<th class=\"text\">machine</th><th class=\"text\">settings</th><th>seconds</th><th>throughput /s</th><th>p99 ms</th><th>errors</th></tr></thead><tbody>");
        foreach (var c in configurations)
        {
            foreach (var (file, r) in c.Runs)
            {
                var settings = string.Join(", ", new[] { $"distribution {r.Distribution}" }.Concat(r.Config.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}")));
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td class=\"text\">{Encode(file)}</td><td class=\"text\">{Encode(c.Label)}</td><td class=\"text\">{Encode(Date(r.StartedAt))}</td><td class=\"text\">{Encode(ShortCommit(r.Commit))}</td>")
                    .Append(CultureInfo.InvariantCulture,
                    $"<td class=\"text\">{Encode(r.Machine.Describe())}</td><td class=\"text\">{Encode(settings)}</td><td>{r.DurationSeconds:F2}</td><td>{r.ThroughputPerSecond:F0}</td><td>{r.LatencyMs.P99:F3}</td><td>{r.Errors}</td></tr>");
            }
        }

        html.Append("</tbody></table>");
    }

    /// <summary>Results that differ only in when they ran (and their measured figures), each with a label no other has.</summary>
    internal static List<Configuration> Configurations(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var groups = results.GroupBy(r => ConfigurationKey(r.Result), StringComparer.Ordinal).Select(g => g.OrderBy(r => r.Result.StartedAt).ToList())
            .OrderBy(g => g[0].Result.TaskType, StringComparer.Ordinal).ThenBy(g => g[0].Result.Mode == "cluster").ThenBy(g => g[0].Result.CpuLimit)
            .ThenBy(g => g[0].Result.Nodes).ThenBy(g => g[0].Result.StartedAt).ToList();
        var labels = Labels([.. groups.Select(g => (BaseLabel(g[0].Result), Parts(g[0].Result)))]);
        return [.. groups.Select((g, i) => new Configuration(labels[i], g))];
    }

    /// <summary>Each base label, with what tells it apart from the others of the same base (numbered when nothing does).</summary>
    private static List<string> Labels(IReadOnlyList<(string Base, SortedDictionary<string, string> Parts)> items)
    {
        var labels = items.Select(i => i.Base).ToList();
        foreach (var same in Enumerable.Range(0, items.Count).GroupBy(i => labels[i]).Where(s => s.Count() > 1).Select(s => s.ToList()))
        {
            var parts = same.Select(i => items[i].Parts).ToList();
            var differing = parts.SelectMany(p => p.Keys).Distinct().Where(k => parts.Select(p => p.GetValueOrDefault(k)).Distinct().Count() > 1).ToList();
            foreach (var i in same)
            {
                labels[i] += string.Concat(differing.Select(k => items[i].Parts.TryGetValue(k, out var v) ? $", {v}" : ""));
            }
        }

        // Still the same (settings that cannot be told apart, as on two machines of one name): number them.
        foreach (var same in Enumerable.Range(0, items.Count).GroupBy(i => labels[i]).Where(s => s.Count() > 1).Select(s => s.ToList()))
        {
            for (var n = 0; n < same.Count; n++)
            {
                labels[same[n]] += $" #{n + 1}";
            }
        }

        return labels;
    }

    /// <summary>
    /// The settings a result was measured under: mode, task type, nodes, tasks, distribution, CPU cap, k, machine and the
    /// configuration entries (for messaging, only the settings among them: the rest are measured figures).
    /// </summary>
    private static string ConfigurationKey(BenchmarkResult r) =>
        string.Join('\n', Parts(r).Select(p => $"{p.Key}={p.Value}").Prepend(BaseLabel(r)));

    private static string BaseLabel(BenchmarkResult r) => $"{r.TaskType}, {r.Mode}, {r.Nodes} node{(r.Nodes == 1 ? "" : "s")}{(r.CpuLimit is { } cap ? $", {cap.ToString(CultureInfo.InvariantCulture)} cores each" : "")}";

    private static SortedDictionary<string, string> Parts(BenchmarkResult r)
    {
        var parts = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["tasks"] = $"{r.Tasks} tasks",
            ["distribution"] = r.Distribution,
            ["machine"] = $"{r.Machine.Host ?? "machine"} ({r.Machine.Cores} cores)",
        };
        if (r.K is { } k)
        {
            parts["k"] = $"k={k}";
        }

        foreach (var (key, value) in r.Config.Where(c => r.TaskType != "messaging" || c.Key.StartsWith("message", StringComparison.Ordinal)))
        {
            parts[key] = $"{key}={value}";
        }

        return parts;
    }

    /// <summary>
    /// The runs of the same settings but for the node count (and what follows from it: the default shard count), by node
    /// count: throughput over every run; efficiency against the one-node runs of the same series (else as the runs
    /// recorded it), only where the series has more than one node count; the silos' CPU per task. An embedded
    /// single-node run and a one-silo cluster run are different series, so neither is the other's baseline.
    /// </summary>
    internal static List<ScalingSeries> Scaling(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        static SortedDictionary<string, string> SeriesParts(BenchmarkResult r)
        {
            var parts = Parts(r);
            parts.Remove("shards");
            return parts;
        }

        static string SeriesBase(BenchmarkResult r) => $"{r.TaskType}, {r.Mode}{(r.CpuLimit is { } cap ? $", {cap.ToString(CultureInfo.InvariantCulture)} cores each" : "")}";

        // A node count below one (a damaged file) has no place on a nodes axis.
        var groups = results.Select(r => r.Result).Where(r => r.Nodes >= 1)
            .GroupBy(r => string.Join('\n', SeriesParts(r).Select(p => $"{p.Key}={p.Value}").Prepend(SeriesBase(r))), StringComparer.Ordinal)
            .Select(g => g.ToList())
            .OrderBy(g => g[0].TaskType, StringComparer.Ordinal).ThenBy(g => g[0].Mode == "cluster").ThenBy(g => g[0].CpuLimit).ThenBy(g => g.Min(r => r.StartedAt))
            .ToList();
        var labels = Labels([.. groups.Select(g => (SeriesBase(g[0]), SeriesParts(g[0])))]);
        return [.. groups.Select((g, i) =>
        {
            var counts = g.Select(r => r.Nodes).Distinct().Count();
            var baseline = g.Where(r => r.Nodes == 1).Select(r => r.ThroughputPerSecond).DefaultIfEmpty(0).Average();
            var points = g.GroupBy(r => r.Nodes).OrderBy(n => n.Key).Select(n => new ScalingPoint(
                n.Key,
                Spread.Of(n.Select(r => r.ThroughputPerSecond)),
                counts < 2 ? null
                : baseline > 0 ? Spread.Of(n.Select(r => r.ThroughputPerSecond / (n.Key * baseline)))
                : n.All(r => r.Efficiency is not null) ? Spread.Of(n.Select(r => r.Efficiency!.Value)) : null,
                n.All(r => r.CpuSecondsPerTask is not null) ? n.Average(r => r.CpuSecondsPerTask!.Value) * 1000 : null)).ToList();
            return new ScalingSeries(g[0].TaskType, labels[i], [.. g], points);
        })];
    }

    /// <summary>The spread over a configuration's runs of a figure of its <paramref name="silo"/>-th started silo; null when a run has no such silo.</summary>
    private static Spread? PerSilo(Configuration c, int silo, Func<BenchmarkResult, SiloFigures, double> figure) =>
        c.Runs.All(r => r.Result.Silos is { } s && s.Count > silo) ? Spread.Of(c.Runs.Select(r => figure(r.Result, r.Result.Silos![silo]))) : null;

    private static Spread? Positive(Spread s) => s.Min > 0 ? s : null;

    private static string Unit(string taskType) => taskType switch
    {
        "vector-store" => "vectors",
        "vector-search" => "queries",
        "messaging" => "messages",
        "e2e" => "documents",
        _ => "tasks",
    };

    private static string Date(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static string ShortCommit(string? commit) => commit is { Length: > 0 } c ? c[..Math.Min(12, c.Length)] : "unknown";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    /// <summary>One configuration's runs, the earliest first.</summary>
    internal sealed record Configuration(string Label, IReadOnlyList<(string File, BenchmarkResult Result)> Runs)
    {
        /// <summary>The earliest run, whose settings the others share.</summary>
        public BenchmarkResult First => Runs[0].Result;

        /// <summary>The spread of <paramref name="figure"/> over the runs.</summary>
        public Spread Of(Func<BenchmarkResult, double> figure) => Spread.Of(Runs.Select(r => figure(r.Result)));
    }

    /// <summary>The runs of one set of settings but for the node count, by node count.</summary>
    internal sealed record ScalingSeries(string TaskType, string Label, IReadOnlyList<BenchmarkResult> Runs, IReadOnlyList<ScalingPoint> Points);

    /// <summary>One node count of a series: throughput and efficiency over its runs, and the silos' mean CPU milliseconds per task.</summary>
    internal sealed record ScalingPoint(int Nodes, Spread Throughput, Spread? Efficiency, double? CpuMsPerTask);
}
