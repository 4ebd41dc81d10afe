using Spectre.Console;

namespace Agents.Cli;

/// <summary>
/// The one way a command prints rows on stdout: a Spectre.Console table that fits the terminal's width; piped, plain
/// aligned columns at whatever width the rows need (nothing squeezed or wrapped), with no trailing blanks, as kubectl does.
/// </summary>
public static class ResultTable
{
    /// <summary>The width a piped table may take: wide enough that no cell is wrapped.</summary>
    private const int PipedWidth = 4096;

    /// <summary>A table with these column headers, bordered on a terminal and plain when piped.</summary>
    public static Table Create(params string[] headers) => Create(!Console.IsOutputRedirected, headers);

    /// <summary>A table with these column headers: bordered for a <paramref name="terminal"/>, plain columns otherwise.</summary>
    public static Table Create(bool terminal, params string[] headers)
    {
        var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.None, ShowHeaders = true };
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(Markup.Escape(header.ToUpperInvariant())) { NoWrap = !terminal });
        }

        if (!terminal)
        {
            // Columns two spaces apart, the first at the line's start.
            foreach (var column in table.Columns)
            {
                column.Padding = new Padding(0, 0, 2, 0);
            }
        }

        return table;
    }

    /// <summary>Adds a row of plain text (no markup).</summary>
    public static Table Row(this Table table, params object?[] cells)
    {
        table.AddRow(cells.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(Convert.ToString(c, System.Globalization.CultureInfo.InvariantCulture) ?? "")).ToArray());
        return table;
    }

    /// <summary>Writes <paramref name="table"/> to stdout at the terminal's width, or unbounded when piped.</summary>
    public static void Write(Table table) =>
        Console.Out.Write(Render(table, Console.IsOutputRedirected ? null : SafeWindowWidth()));

    /// <summary>The table as text at <paramref name="width"/> columns (null: as wide as its rows need), each line trimmed at its end.</summary>
    public static string Render(Table table, int? width)
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            // No CI detection: nothing here depends on it, and it costs start-up.
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
        });
        console.Profile.Width = width ?? PipedWidth;
        console.Profile.Capabilities.Unicode = true;
        console.Write(table);
        var lines = writer.ToString().ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd());
        return string.Join(Environment.NewLine, lines).TrimEnd() + Environment.NewLine;
    }

    private static int SafeWindowWidth()
    {
        try
        {
            return Console.WindowWidth is > 0 and var w ? w : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
