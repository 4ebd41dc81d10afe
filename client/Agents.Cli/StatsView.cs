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

        var (table, hidden) = Table(view, piped ? null : console.Profile.Width);
        console.Write(table);
        if (hidden > 0)
        {
            Console.WriteLine($"({hidden} more column(s) in a wider terminal, piped, or with --json)");
        }

        Console.WriteLine(Summary(view));
    }

    /// <summary>A column of the table: its header, its cell for a node, and its rank when columns must be left out (0 stays longest).</summary>
    private sealed record Column(string Header, Func<NodeView, string> Cell, int Rank);

    private static readonly Column[] Columns =
    [
        new("silo", n => n.Last.Silo, 0),
        new("cpu %", n => F(n.Last.CpuRatio * 100, "F0"), 2),
        new("memory", n => $"{F(n.Last.WorkingSetBytes / 1048576.0, "F0")} MB", 3),
        new("tasks/s", n => F(n.TasksPerSecond, "F0"), 1),
        new("ms/task", n => F(n.MeanTaskMilliseconds, "F2"), 6),
        new("p50 ms", n => F(n.TaskP50Milliseconds, "F3"), 5),
        new("p99 ms", n => F(n.TaskP99Milliseconds, "F3"), 4),
        new("active", n => F(n.Last.ActiveTasks, "D"), 7),
        new("embed/s", n => F(n.EmbeddingsPerSecond, "F1"), 10),
        new("search/s", n => F(n.SearchesPerSecond, "F0"), 9),
        new("msg/s", n => F(n.MessagesPerSecond, "F0"), 8),
        new("vectors", n => F(n.Last.VectorsStored, "D"), 11),
        new("gen2 GCs", n => F(n.Last.Gen2Collections, "D"), 12),
    ];

    /// <summary>
    /// The per-node table: plain columns, all of them, when <paramref name="width"/> is null (piped); otherwise bordered,
    /// leaving out the least telling columns until every cell fits <paramref name="width"/> unwrapped. Returns how many it left out.
    /// </summary>
    public static (Table Table, int Hidden) Table(ClusterMetricsView view, int? width)
    {
        ArgumentNullException.ThrowIfNull(view);
        var shown = Columns.ToList();
        int Needed(IEnumerable<Column> columns) => 1 + columns.Sum(c => 3 + view.Nodes.Select(n => c.Cell(n).Length).Append(c.Header.Length).Max());
        while (width is { } limit && shown.Count > 1 && Needed(shown) > limit)
        {
            shown.Remove(shown.MaxBy(c => c.Rank)!);
        }

        var table = new Table();
        if (width is null)
        {
            table.Border(TableBorder.None);
        }

        foreach (var column in shown)
        {
            table.AddColumn(column.Rank == 0 ? new TableColumn(column.Header).NoWrap() : new TableColumn(column.Header).RightAligned().NoWrap());
        }

        foreach (var node in view.Nodes)
        {
            table.AddRow(shown.Select(c => Markup.Escape(c.Cell(node))).ToArray());
        }

        return (table, Columns.Length - shown.Count);
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
