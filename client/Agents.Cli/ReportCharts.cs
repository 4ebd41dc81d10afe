using System.Globalization;
using System.Text.RegularExpressions;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Agents.Cli;

/// <summary>
/// The report's charts, drawn by ScottPlot and written as inline SVG (text stays text, nothing is fetched): axis ticks
/// at 1-2-5 steps (whole numbers on a nodes axis, decades on a log axis), a legend for every series, units on every
/// axis, and mean ± one standard deviation as error bars where a configuration ran more than once.
/// </summary>
internal static partial class ReportCharts
{
    // Drawing sizes in SVG units, near the size each is shown at (half or whole page width), so text keeps its size.
    private const int Width = 820;
    private const int WideWidth = 1500;
    private const int Height = 460;

    private static readonly Color[] Palette = [.. new[] { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b07aa1", "#edc948", "#ff9da7", "#9c755f", "#bab0ac" }.Select(Color.FromHex)];

    /// <summary>A series of points: x, y (mean) and the y spread.</summary>
    public sealed record LineSeries(string Name, IReadOnlyList<double> Xs, IReadOnlyList<Spread> Ys, bool Dashed = false, int Color = -1);

    /// <summary>A series of bars: one value (or none) per group.</summary>
    public sealed record BarSeries(string Name, IReadOnlyList<Spread?> Values);

    /// <summary>Lines against a whole-number x axis (nodes), y from zero; dashed series are references (ideal scaling).</summary>
    public static string Lines(string id, IReadOnlyList<LineSeries> series, string xLabel, string yLabel, double? yFloor = 0)
    {
        var plot = NewPlot(xLabel, yLabel);
        var maxX = (int)Math.Ceiling(series.SelectMany(s => s.Xs).Max());
        var minX = (int)Math.Floor(series.SelectMany(s => s.Xs).Min());
        var colour = 0;
        foreach (var s in series)
        {
            var color = Palette[(s.Color >= 0 ? s.Color : colour++) % Palette.Length];
            var ys = s.Ys.Select(y => y.Mean).ToArray();
            var line = plot.Add.Scatter(s.Xs.ToArray(), ys, color);
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = s.Dashed ? 0 : 8;
            if (s.Dashed)
            {
                line.LinePattern = LinePattern.Dashed;
            }

            if (s.Ys.Any(y => y.Count > 1))
            {
                var bars = plot.Add.ErrorBar(s.Xs.ToArray(), ys, s.Ys.Select(y => y.StdDev).ToArray());
                bars.Color = color;
                bars.LineWidth = 1.5f;
            }
        }

        // Nodes are whole: a tick on each count up to twelve of them, whole-number 1-2-5 steps past that.
        if (maxX - minX <= 12)
        {
            var ticks = Enumerable.Range(minX, maxX - minX + 1).Select(n => (double)n).ToArray();
            plot.Axes.Bottom.SetTicks(ticks, [.. ticks.Select(t => t.ToString(CultureInfo.InvariantCulture))]);
        }
        else
        {
            plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        }

        plot.Axes.SetLimitsX(minX - 0.3, maxX + 0.3);
        var top = series.SelectMany(s => s.Ys).Max(y => y.Mean + y.StdDev);
        var bottom = series.SelectMany(s => s.Ys).Min(y => y.Mean - y.StdDev);
        if (yFloor is { } floor)
        {
            plot.Axes.SetLimitsY(Math.Min(floor, bottom), top > floor ? top * 1.08 : floor + 1);
        }

        plot.ShowLegend(Edge.Bottom);
        return Svg(plot, id, Width, Height);
    }

    /// <summary>Points with spreads on both axes, one series per configuration (recall against queries per second).</summary>
    public static string Points(string id, IReadOnlyList<(string Name, Spread X, Spread Y)> points, string xLabel, string yLabel)
    {
        var plot = NewPlot(xLabel, yLabel);
        var i = 0;
        foreach (var (name, x, y) in points)
        {
            var color = Palette[i++ % Palette.Length];
            var dot = plot.Add.Scatter(new[] { x.Mean }, new[] { y.Mean }, color);
            dot.LegendText = name;
            dot.MarkerSize = 10;
            if (x.Count > 1 || y.Count > 1)
            {
                var bars = new ScottPlot.Plottables.ErrorBar([x.Mean], [y.Mean], [x.StdDev], [x.StdDev], [y.StdDev], [y.StdDev]) { Color = color };
                plot.Add.Plottable(bars);
            }
        }

        var (low, high) = (points.Min(p => p.Y.Mean - p.Y.StdDev), points.Max(p => p.Y.Mean + p.Y.StdDev));
        plot.Axes.SetLimitsY(Math.Min(low - 0.02, 0.9), Math.Max(high, 1) + 0.005);
        var right = points.Max(p => p.X.Mean + p.X.StdDev);
        plot.Axes.SetLimitsX(Math.Min(0, points.Min(p => p.X.Mean - p.X.StdDev)), right > 0 ? right * 1.1 : 1);
        plot.ShowLegend(Edge.Bottom);
        return Svg(plot, id, Width, Height);
    }

    /// <summary>
    /// Horizontal grouped bars: one row of bars per group (the first at the top), one colour per series with its legend
    /// entry; <paramref name="log"/> draws the values on a log10 axis (latency), as dots, since a bar on a log axis has no
    /// honest base.
    /// </summary>
    public static string Bars(string id, IReadOnlyList<string> groups, IReadOnlyList<BarSeries> series, string valueLabel, bool log = false)
    {
        var plot = NewPlot(valueLabel, "");
        var present = series.Where(s => s.Values.Any(v => v is not null)).ToList();
        var slot = 0.8 / present.Count;
        var lo = double.MaxValue;
        var hi = double.MinValue;
        for (var j = 0; j < present.Count; j++)
        {
            var color = Palette[j % Palette.Length];
            var bars = new List<Bar>();
            var (xs, ys, errs) = (new List<double>(), new List<double>(), new List<double>());
            for (var g = 0; g < groups.Count; g++)
            {
                if (present[j].Values[g] is not { } v)
                {
                    continue;
                }

                // The first group at the top; within a group, the first series at the top.
                var position = groups.Count - 1 - g + 0.4 - (slot * (j + 0.5));
                if (log)
                {
                    xs.Add(Math.Log10(v.Mean));
                    ys.Add(position);
                    errs.Add(v.Count > 1 ? Math.Log10(v.Mean + v.StdDev) - Math.Log10(v.Mean) : 0);
                    lo = Math.Min(lo, Math.Log10(v.Min));
                    hi = Math.Max(hi, Math.Log10(v.Max));
                }
                else
                {
                    bars.Add(new Bar
                    {
                        Position = position,
                        Value = v.Mean,
                        Error = v.Count > 1 ? v.StdDev : 0,
                        Size = slot * 0.9,
                        FillColor = color,
                        LineWidth = 0,
                        Orientation = Orientation.Horizontal,
                    });
                    hi = Math.Max(hi, v.Mean + v.StdDev);
                    lo = Math.Min(lo, v.Mean - v.StdDev);
                }
            }

            if (log)
            {
                var dots = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), color);
                dots.LineWidth = 0;
                dots.MarkerSize = 9;
                dots.LegendText = present[j].Name;
                if (errs.Any(e => e > 0))
                {
                    plot.Add.Plottable(new ScottPlot.Plottables.ErrorBar(xs, ys, errs, errs, new double[xs.Count], new double[xs.Count]) { Color = color });
                }
            }
            else
            {
                var plotted = plot.Add.Bars(bars);
                plotted.Horizontal = true;
                plotted.LegendText = present[j].Name;
                plotted.Color = color;
            }
        }

        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, groups.Count).Select(g => (double)(groups.Count - 1 - g))], [.. groups]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.SetLimitsY(-0.6, groups.Count - 0.4);
        if (log)
        {
            // Whole decades, with the 2..9 minor ticks between them.
            var (from, to) = (Math.Floor(lo), Math.Max(Math.Ceiling(hi), Math.Floor(lo) + 1));
            plot.Axes.Bottom.TickGenerator = new NumericAutomatic
            {
                IntegerTicksOnly = true,
                MinorTickGenerator = new LogMinorTickGenerator(),
                LabelFormatter = v => Math.Pow(10, v).ToString(v < 0 ? "0.###" : "#,0", CultureInfo.InvariantCulture),
            };
            // A little room, so the first and last decades keep their labels.
            plot.Axes.SetLimitsX(from - 0.03, to + 0.03);
        }
        else
        {
            plot.Axes.Bottom.TickGenerator = new NumericAutomatic { TargetTickCount = 8 };
            plot.Axes.SetLimitsX(Math.Min(0, lo * 1.08), hi > 0 ? hi * 1.08 : 1);
        }

        plot.ShowLegend(Edge.Bottom);
        return Svg(plot, id, WideWidth, Math.Max(260, 150 + (groups.Count * Math.Max(34, 14 * present.Count))));
    }

    private static Plot NewPlot(string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        plot.Axes.Bottom.Label.FontSize = 15;
        plot.Axes.Left.Label.FontSize = 15;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Legend.FontSize = 13;
        return plot;
    }

    /// <summary>The plot as an SVG element for inlining: scalable (a viewBox), with ids made unique to this chart.</summary>
    private static string Svg(Plot plot, string id, int width, int height)
    {
        var svg = plot.GetSvgXml(width, height);
        svg = svg[svg.IndexOf("<svg", StringComparison.Ordinal)..];
        svg = SvgSize().Replace(svg, $"<svg class=\"chart\" data-chart=\"{id}\" viewBox=\"0 0 {width} {height}\" role=\"img\"", 1);
        // Clip paths are named per drawing (cl_1, cl_2...): prefix them so several charts on one page do not share names.
        return svg.Replace("id=\"", $"id=\"{id}-", StringComparison.Ordinal).Replace("url(#", $"url(#{id}-", StringComparison.Ordinal)
            .Replace("href=\"#", $"href=\"#{id}-", StringComparison.Ordinal);
    }

    [GeneratedRegex("<svg(?= )[^>]*?(?=>)")]
    private static partial Regex SvgSize();
}

/// <summary>A figure over repeated runs: mean, sample standard deviation (0 for one run), least, most and how many.</summary>
internal readonly record struct Spread(double Mean, double StdDev, double Min, double Max, int Count)
{
    /// <summary>The spread of <paramref name="values"/> (at least one).</summary>
    public static Spread Of(IEnumerable<double> values)
    {
        var v = values.ToList();
        var mean = v.Average();
        var sd = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : 0;
        return new(mean, sd, v.Min(), v.Max(), v.Count);
    }

    /// <summary><c>mean ± sd</c> over several runs, the value alone for one.</summary>
    public string Format(string format) =>
        Count > 1 ? $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {StdDev.ToString(format, CultureInfo.InvariantCulture)}" : Mean.ToString(format, CultureInfo.InvariantCulture);
}
