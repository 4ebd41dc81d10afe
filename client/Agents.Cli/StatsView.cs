using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Agents.Cli;

/// <summary>Renders the aggregator's view: a table per node and a total line, or JSON.</summary>
public static class StatsView
{
    /// <summary>
    /// The width a table gets when stdout is not a terminal: wide enough that no header is cut and no address wraps
    /// (a pipe or a file has no width of its own; Spectre.Console would assume 80 columns).
    /// </summary>
    public const int PipedWidth = 1000;

    /// <summary>Prints <paramref name="view"/> to stdout: JSON, a table fitted to the terminal, or plain columns when piped.</summary>
    public static void Print(ClusterMetricsView view, bool json)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (json)
        {
            // The encoded latency histograms are for the aggregator; the percentiles beside them are the figures.
            var plain = view with { Nodes = view.Nodes.Select(n => n with { Last = n.Last with { TaskLatencyHistogram = null } }).ToList() };
            Console.WriteLine(JsonSerializer.Serialize(plain, GlobalOptions.JsonOutput));
            return;
        }

        var piped = Console.IsOutputRedirected;
        var console = piped
            ? AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(Console.Out),
            })
            : AnsiConsole.Console;
        if (piped)
        {
            console.Profile.Width = PipedWidth;
        }

        console.Write(Table(view, piped));
        Console.WriteLine(Summary(view));
    }

    /// <summary>The per-node table: bordered on a terminal, plain columns otherwise.</summary>
    public static Table Table(ClusterMetricsView view, bool plain)
    {
        ArgumentNullException.ThrowIfNull(view);
        var table = new Table();
        if (plain)
        {
            table.Border(TableBorder.None);
        }

        table.AddColumn("silo");
        foreach (var header in new[] { "cpu %", "memory", "tasks/s", "ms/task", "p50 ms", "p99 ms", "active", "embed/s", "search/s", "msg/s", "vectors", "gen2 GCs" })
        {
            table.AddColumn(new TableColumn(header).RightAligned());
        }

        foreach (var n in view.Nodes)
        {
            var s = n.Last;
            table.AddRow(
                Markup.Escape(s.Silo), F(s.CpuRatio * 100, "F0"), $"{F(s.WorkingSetBytes / 1048576.0, "F0")} MB", F(n.TasksPerSecond, "F0"),
                F(n.MeanTaskMilliseconds, "F2"), F(n.TaskP50Milliseconds, "F3"), F(n.TaskP99Milliseconds, "F3"), F(s.ActiveTasks, "D"),
                F(n.EmbeddingsPerSecond, "F1"), F(n.SearchesPerSecond, "F0"), F(n.MessagesPerSecond, "F0"), F(s.VectorsStored, "D"), F(s.Gen2Collections, "D"));
        }

        return table;
    }

    /// <summary>The line under the table: the cluster's rates and percentiles over the window, and its totals.</summary>
    public static string Summary(ClusterMetricsView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return string.Create(CultureInfo.InvariantCulture,
            $"{view.Nodes.Count} live silo(s), rates over the last {view.Window.TotalSeconds:0.#} s: {view.TasksPerSecond:F0} tasks/s " +
            $"(p50 {view.TaskP50Milliseconds:F3} ms, p95 {view.TaskP95Milliseconds:F3} ms, p99 {view.TaskP99Milliseconds:F3} ms), {view.EmbeddingsPerSecond:F1} embeddings/s, " +
            $"{view.SearchesPerSecond:F0} searches/s, {view.MessagesPerSecond:F0} messages/s; {view.TasksProcessed} tasks and {view.VectorsStored} vectors in all; " +
            $"{view.WorkingSetBytes / 1048576.0:F0} MB working set");
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string F(long value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
