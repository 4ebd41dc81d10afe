using System.Globalization;
using System.Net;
using System.Text;

namespace Agents.Cli;

/// <summary>
/// <c>p2p-ai-agents report --input DIR --output FILE.html</c>: every benchmark result JSON of a folder as one
/// self-contained page (inline SVG charts and CSS, nothing fetched): throughput against nodes with the ideal line,
/// scaling efficiency against nodes (cluster-mode results, one line per task type), latency percentiles, recall against queries/s, the per-node distribution of the largest cluster run, and memory;
/// plus the terminal summary.
/// </summary>
public static class PerformanceReport
{
    private const int Width = 640;
    private const int Height = 300;
    private const int Left = 70;
    private const int Bottom = 40;
    private const int Top = 20;
    private const int Right = 20;
    private static readonly string[] Palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];

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

    /// <summary>The terminal summary: one line per result, then the scaling of each task type.</summary>
    public static string Summary(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var text = new StringBuilder();
        foreach (var (file, r) in results)
        {
            text.Append(CultureInfo.InvariantCulture, $"{file}: {r.TaskType} {r.Mode} on {r.Nodes} node(s): {r.ThroughputPerSecond:F0}/s, p50 {r.LatencyMs.P50:F2} ms, p99 {r.LatencyMs.P99:F2} ms");
            if (r.RecallAtK is { } recall)
            {
                text.Append(CultureInfo.InvariantCulture, $", recall@{r.K} {recall:F3}");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $", peak working set {r.Memory.PeakWorkingSetBytes / 1048576.0:F0} MB{(r.Errors > 0 ? $", {r.Errors} errors" : "")}");
        }

        foreach (var (type, points) in ScalingSeries(results))
        {
            var one = points.FirstOrDefault(p => p.Nodes == 1);
            foreach (var p in points.Where(p => p.Nodes > 1 && one.Nodes == 1))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{type}: {p.Nodes} nodes give {p.Throughput / one.Throughput:F2}x one node, scaling efficiency {p.Throughput / (p.Nodes * one.Throughput):F2}");
            }
        }

        foreach (var (type, points) in EfficiencySeries(results))
        {
            text.Append(CultureInfo.InvariantCulture, $"{type} (cluster runs): ").AppendLine(string.Join("; ", points.Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{p.Nodes} node(s) {p.Throughput:F0}/s, efficiency {p.Efficiency:F2}{(p.CpuPerTask is { } cpu ? $", {cpu * 1000:F3} CPU ms/task" : "")}{(p.CpuLimit is { } limit ? $" (silos capped at {limit} cores)" : "")}"))));
        }

        return text.ToString();
    }

    /// <summary>The page.</summary>
    public static string Html(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var html = new StringBuilder();
        html.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Agents.Orleans performance report</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
            h1{font-size:22px}h2{font-size:17px;margin-top:28px}
            .charts{display:flex;flex-wrap:wrap;gap:20px}
            figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px;background:#fff}
            figcaption{font-size:13px;color:#555;margin-top:4px}
            table{border-collapse:collapse;font-size:13px;margin-top:8px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
            th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
            svg text{font-size:11px;fill:#333}
            </style></head><body>
            <h1>Agents.Orleans performance report</h1>
            """);
        var machine = results[0].Result.Machine;
        html.Append(CultureInfo.InvariantCulture, $"<p>{results.Count} results; machine: {Encode(machine.Cores.ToString(CultureInfo.InvariantCulture))} cores, {Encode(machine.Os)}, {Encode(machine.Runtime)}.</p>");
        html.Append("<div class=\"charts\">");
        html.Append(Figure("chart-throughput", "Throughput against nodes, per task type; dashed: ideal (one node's throughput × nodes)", ThroughputChart(results)));
        html.Append(Figure("chart-efficiency", "Efficiency against nodes (cluster runs): throughput ÷ (nodes × one node's); dashed: ideal", EfficiencyChart(results)));
        html.Append(Figure("chart-latency", "Latency percentiles per result (ms, log scale)", LatencyChart(results)));
        html.Append(Figure("chart-recall", "Recall@k against queries/s (vector-search results)", RecallChart(results)));
        html.Append(Figure("chart-nodes", "Per-node distribution of the largest cluster run (tasks per node)", NodesChart(results)));
        html.Append(Figure("chart-memory", "Peak working set per result (MB)", MemoryChart(results)));
        html.Append("</div><h2>Results</h2><table><tr><th>file</th><th>task type</th><th>mode</th><th>nodes</th><th>throughput /s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>recall</th><th>efficiency</th><th>CPU ms/task</th><th>peak MB</th><th>errors</th></tr>");
        foreach (var (file, r) in results)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Encode(file)}</td><td>{Encode(r.TaskType)}</td><td>{Encode(r.Mode)}</td><td>{r.Nodes}</td><td>{r.ThroughputPerSecond:F0}</td><td>{r.LatencyMs.P50:F3}</td><td>{r.LatencyMs.P95:F3}</td><td>{r.LatencyMs.P99:F3}</td><td>{(r.RecallAtK is { } k ? k.ToString("F3", CultureInfo.InvariantCulture) : "")}</td><td>{r.Efficiency?.ToString("F2", CultureInfo.InvariantCulture)}</td><td>{(r.CpuSecondsPerTask * 1000)?.ToString("F3", CultureInfo.InvariantCulture)}</td><td>{r.Memory.PeakWorkingSetBytes / 1048576.0:F0}</td><td>{r.Errors}</td></tr>");
        }

        html.Append("</table><h2>Summary</h2><pre>").Append(Encode(Summary(results))).Append("</pre></body></html>\n");
        return html.ToString();
    }

    private static List<(string Type, List<(int Nodes, double Throughput)> Points)> ScalingSeries(IReadOnlyList<(string File, BenchmarkResult Result)> results) =>
        results.GroupBy(r => r.Result.TaskType)
            .Select(g => (g.Key, g.GroupBy(r => r.Result.Nodes).Select(n => (n.Key, n.Max(r => r.Result.ThroughputPerSecond))).OrderBy(p => p.Key).ToList()))
            .ToList();

    private static string ThroughputChart(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var series = ScalingSeries(results);
        var maxNodes = Math.Max(2, series.SelectMany(s => s.Points).Max(p => p.Nodes));
        // Room for every point and for every ideal line up to the widest run.
        var maxY = series.Max(s => Math.Max(s.Points.Max(p => p.Throughput), s.Points.Where(p => p.Nodes == 1).Select(p => p.Throughput * maxNodes).DefaultIfEmpty(0).Max())) * 1.1;
        var svg = Frame(out var x, out var y, 1, maxNodes, 0, maxY, "nodes", "per second", xTicks: true);
        var i = 0;
        foreach (var (type, points) in series)
        {
            var color = Palette[i++ % Palette.Length];
            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"series\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', points.Select(p => $"{x(p.Nodes):F1},{y(p.Throughput):F1}"))}\"/>");
            foreach (var p in points)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x(p.Nodes):F1}\" cy=\"{y(p.Throughput):F1}\" r=\"4\" fill=\"{color}\"><title>{Encode(type)}: {p.Nodes} node(s), {p.Throughput:F0}/s</title></circle>");
            }

            if (points.FirstOrDefault(p => p.Nodes == 1) is { Nodes: 1 } one)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line class=\"ideal\" x1=\"{x(1):F1}\" y1=\"{y(one.Throughput):F1}\" x2=\"{x(maxNodes):F1}\" y2=\"{y(one.Throughput * maxNodes):F1}\" stroke=\"{color}\" stroke-dasharray=\"5,4\"/>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 10}\" y=\"{Top + 14 * i}\" style=\"fill:{color}\">{Encode(type)}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>
    /// Per task type, the cluster-mode results by node count (the fastest of each count): throughput, efficiency (as
    /// recorded by the run, else against the fastest one-node result of the type) and the silos' CPU per task.
    /// </summary>
    private static List<(string Type, List<(int Nodes, double Throughput, double Efficiency, double? CpuPerTask, double? CpuLimit)> Points)> EfficiencySeries(
        IReadOnlyList<(string File, BenchmarkResult Result)> results) =>
        results.GroupBy(r => r.Result.TaskType)
            .Select(g =>
            {
                var one = g.Where(r => r.Result.Nodes == 1).Select(r => r.Result.ThroughputPerSecond).DefaultIfEmpty(0).Max();
                var points = g.Where(r => r.Result.Mode == "cluster")
                    .GroupBy(r => r.Result.Nodes)
                    .Select(n => n.MaxBy(r => r.Result.ThroughputPerSecond).Result)
                    .Select(r => (r.Nodes, r.ThroughputPerSecond, Efficiency: r.Efficiency ?? (one > 0 ? r.ThroughputPerSecond / (r.Nodes * one) : double.NaN), r.CpuSecondsPerTask, r.CpuLimit))
                    .Where(p => !double.IsNaN(p.Efficiency))
                    .OrderBy(p => p.Nodes)
                    .ToList();
                return (g.Key, points);
            })
            .Where(s => s.points.Count > 0)
            .ToList();

    private static string EfficiencyChart(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var series = EfficiencySeries(results);
        var maxNodes = Math.Max(2, series.SelectMany(s => s.Points).Select(p => p.Nodes).DefaultIfEmpty(2).Max());
        var maxY = Math.Max(1.0, series.SelectMany(s => s.Points).Select(p => p.Efficiency).DefaultIfEmpty(1).Max()) * 1.1;
        var svg = Frame(out var x, out var y, 1, maxNodes, 0, maxY, "nodes", "efficiency", xTicks: true);
        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"ideal\" x1=\"{x(1):F1}\" y1=\"{y(1):F1}\" x2=\"{x(maxNodes):F1}\" y2=\"{y(1):F1}\" stroke=\"#999\" stroke-dasharray=\"5,4\"/>");
        if (series.Count == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 20}\" y=\"{Height / 2}\">no cluster-mode results with a one-node reference in this folder</text>");
        }

        var i = 0;
        foreach (var (type, points) in series)
        {
            var color = Palette[i++ % Palette.Length];
            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"efficiency\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', points.Select(p => $"{x(p.Nodes):F1},{y(p.Efficiency):F1}"))}\"/>");
            foreach (var p in points)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x(p.Nodes):F1}\" cy=\"{y(p.Efficiency):F1}\" r=\"4\" fill=\"{color}\"><title>{Encode(type)}: {p.Nodes} node(s), efficiency {p.Efficiency:F2}, {p.Throughput:F0}/s</title></circle>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 10}\" y=\"{Top + 14 * i}\" style=\"fill:{color}\">{Encode(type)}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    private static string LatencyChart(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var values = results.SelectMany(r => new[] { r.Result.LatencyMs.P50, r.Result.LatencyMs.P95, r.Result.LatencyMs.P99 }).Where(v => v > 0).DefaultIfEmpty(1).ToList();
        var (lo, hi) = (Math.Log10(Math.Max(1e-4, values.Min() / 2)), Math.Log10(values.Max() * 2));
        var svg = Frame(out _, out var y, 0, 1, lo, hi, "result", "ms (log10)", logY: true);
        var slot = (Width - Left - Right) / (double)results.Count;
        for (var i = 0; i < results.Count; i++)
        {
            var l = results[i].Result.LatencyMs;
            var j = 0;
            foreach (var (name, v) in new[] { ("p50", l.P50), ("p95", l.P95), ("p99", l.P99) })
            {
                var bx = Left + (i * slot) + (slot * (0.15 + (0.23 * j)));
                var top = y(Math.Log10(Math.Max(v, Math.Pow(10, lo))));
                svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{bx:F1}\" y=\"{top:F1}\" width=\"{slot * 0.2:F1}\" height=\"{Height - Bottom - top:F1}\" fill=\"{Palette[j]}\"><title>{Encode(results[i].File)} {name}: {v:F3} ms</title></rect>");
                j++;
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (i * slot) + 2:F1}\" y=\"{Height - Bottom + 14}\">{Encode(Short(results[i].Result))}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    private static string RecallChart(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var points = results.Where(r => r.Result.RecallAtK is not null).Select(r => (r.File, Qps: r.Result.ThroughputPerSecond, Recall: r.Result.RecallAtK!.Value)).ToList();
        var maxX = points.Select(p => p.Qps).DefaultIfEmpty(1).Max() * 1.1;
        var minY = Math.Min(0.9, points.Select(p => p.Recall).DefaultIfEmpty(1).Min() - 0.02);
        var svg = Frame(out var x, out var y, 0, maxX, minY, 1.0, "queries per second", "recall@k", xTicks: true);
        if (points.Count == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + 20}\" y=\"{Height / 2}\">no vector-search results in this folder</text>");
        }

        foreach (var p in points)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<circle class=\"point\" cx=\"{x(p.Qps):F1}\" cy=\"{y(p.Recall):F1}\" r=\"5\" fill=\"{Palette[0]}\"><title>{Encode(p.File)}: {p.Qps:F0} q/s, recall {p.Recall:F4}</title></circle>");
        }

        return svg.Append("</svg>").ToString();
    }

    private static string NodesChart(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var run = results.Where(r => r.Result.PerNode.Count > 0).OrderByDescending(r => r.Result.PerNode.Count).ThenByDescending(r => r.Result.Tasks).Select(r => r.Result).FirstOrDefault();
        var nodes = run?.PerNode ?? [];
        var svg = Frame(out _, out var y, 0, 1, 0, Math.Max(1, nodes.Select(n => (double)n.Tasks).DefaultIfEmpty(1).Max() * 1.1), "node", "tasks");
        var slot = (Width - Left - Right) / (double)Math.Max(1, nodes.Count);
        for (var i = 0; i < nodes.Count; i++)
        {
            var top = y(nodes[i].Tasks);
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{Left + (i * slot) + (slot * 0.2):F1}\" y=\"{top:F1}\" width=\"{slot * 0.6:F1}\" height=\"{Height - Bottom - top:F1}\" fill=\"{Palette[i % Palette.Length]}\"><title>{Encode(nodes[i].Silo)}: {nodes[i].Tasks} tasks, {nodes[i].ThroughputPerSecond:F0}/s</title></rect>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (i * slot) + 4:F1}\" y=\"{Height - Bottom + 14}\">{Encode(nodes[i].Silo.Split('@')[0])}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    private static string MemoryChart(IReadOnlyList<(string File, BenchmarkResult Result)> results)
    {
        var svg = Frame(out _, out var y, 0, 1, 0, results.Max(r => r.Result.Memory.PeakWorkingSetBytes / 1048576.0) * 1.1, "result", "MB");
        var slot = (Width - Left - Right) / (double)results.Count;
        for (var i = 0; i < results.Count; i++)
        {
            var mb = results[i].Result.Memory.PeakWorkingSetBytes / 1048576.0;
            var top = y(mb);
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" x=\"{Left + (i * slot) + (slot * 0.2):F1}\" y=\"{top:F1}\" width=\"{slot * 0.6:F1}\" height=\"{Height - Bottom - top:F1}\" fill=\"{Palette[3]}\"><title>{Encode(results[i].File)}: {mb:F0} MB{(results[i].Result.Memory.BytesPerVector is { } b ? $", {b:F0} B/vector" : "")}</title></rect>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (i * slot) + 2:F1}\" y=\"{Height - Bottom + 14}\">{Encode(Short(results[i].Result))}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>An SVG with axes and five ticks each; <paramref name="x"/> and <paramref name="y"/> map data to pixels.</summary>
    private static StringBuilder Frame(
        out Func<double, double> x, out Func<double, double> y, double x0, double x1, double y0, double y1, string xLabel, string yLabel, bool logY = false, bool xTicks = false)
    {
        var (px, py) = ((double)(Width - Left - Right), (double)(Height - Top - Bottom));
        var spanX = x1 - x0 == 0 ? 1 : x1 - x0;
        var spanY = y1 - y0 == 0 ? 1 : y1 - y0;
        x = v => Left + ((v - x0) / spanX * px);
        y = v => Top + py - ((v - y0) / spanY * py);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\">");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top + py}\" x2=\"{Left + px}\" y2=\"{Top + py}\" stroke=\"#999\"/><line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + py}\" stroke=\"#999\"/>");
        for (var t = 0; t <= 4; t++)
        {
            var value = y0 + (spanY * t / 4);
            var label = logY ? Math.Pow(10, value).ToString("G3", CultureInfo.InvariantCulture) : value.ToString(value >= 100 ? "F0" : "G3", CultureInfo.InvariantCulture);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{y(value) + 4:F1}\" text-anchor=\"end\">{label}</text><line x1=\"{Left}\" y1=\"{y(value):F1}\" x2=\"{Left + px}\" y2=\"{y(value):F1}\" stroke=\"#eee\"/>");
        }

        if (xTicks)
        {
            for (var t = 0; t <= 4; t++)
            {
                var value = x0 + (spanX * t / 4);
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x(value):F1}\" y=\"{Top + py + 14}\" text-anchor=\"middle\">{value.ToString(value >= 100 ? "F0" : "G3", CultureInfo.InvariantCulture)}</text>");
            }
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (px / 2)}\" y=\"{Height - 6}\" text-anchor=\"middle\">{Encode(xLabel)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{Top + (py / 2)}\" transform=\"rotate(-90 12 {Top + (py / 2)})\" text-anchor=\"middle\">{Encode(yLabel)}</text>");
        return svg;
    }

    private static string Figure(string id, string caption, string svg) =>
        $"<figure id=\"{id}\">{svg}<figcaption>{Encode(caption)}</figcaption></figure>";

    private static string Short(BenchmarkResult r) => $"{r.TaskType} ×{r.Nodes}";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
