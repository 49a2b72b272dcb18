using System.Globalization;
using System.Text;

namespace Dl.Cli.Report;

/// <summary>One line of a chart: its points in data units (a non-finite Y leaves a gap), colour and legend name.</summary>
/// <param name="Markers">Draw a dot on every point (a few dozen points at most); otherwise only the line, with
/// invisible hover targets on a sample of the points for the tooltips.</param>
internal sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Markers = true, bool Dashed = false);

/// <summary>What <see cref="SvgChart.Render"/> draws: a line chart with axes, gridlines, a legend and an optional
/// vertical mark (the best epoch).</summary>
internal sealed record ChartSpec
{
    /// <summary>The <c>id</c> of the <c>svg</c> element (the render test finds the charts by it and by <see cref="PlotFill"/>).</summary>
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required string XLabel { get; init; }
    public required string YLabel { get; init; }
    public required IReadOnlyList<ChartSeries> Series { get; init; }
    /// <summary>X is a count (epochs, steps): ticks at integers only.</summary>
    public bool IntegerX { get; init; }
    /// <summary>Y is a fraction shown as a percentage (accuracy).</summary>
    public bool PercentY { get; init; }
    /// <summary>Where to draw the dashed vertical mark, and its label.</summary>
    public double? MarkX { get; init; }
    public string? MarkLabel { get; init; }
    /// <summary>The plot area's background: near-white, a different value per chart so that a screenshot can be searched
    /// for each plot area by its exact colour.</summary>
    public string PlotFill { get; init; } = "#fbfcfd";
}

/// <summary>Line charts as inline SVG: "nice" ticks (1, 2, 2.5, 5 × 10ᵏ), gridlines, a legend, a dot with a
/// <c>&lt;title&gt;</c> tooltip per point, gaps where a value is NaN or infinite (listed in the returned notes), and a
/// placeholder instead of a broken chart when nothing is finite.</summary>
internal static class SvgChart
{
    internal const int Width = 600, Height = 300;
    private const double Left = 62, Right = 18, Top = 42, Bottom = 44;
    private const int MaxLinePoints = 1500, MaxHoverTargets = 80;

    /// <summary>The chart's SVG; <paramref name="notes"/> receives one sentence per series with non-finite values.</summary>
    public static string Render(ChartSpec spec, List<string> notes)
    {
        var finite = spec.Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        foreach (ChartSeries series in spec.Series)
            NoteGaps(series, spec.XLabel, notes);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg id=\"{Html.Escape(spec.Id)}\" class=\"chart\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{Html.Escape(spec.Title)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"plot\" x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"{spec.PlotFill}\"/>");
        if (finite.Count == 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(Left + plotW / 2)}\" y=\"{Html.N(Top + plotH / 2)}\" text-anchor=\"middle\" class=\"empty\">no finite values to plot</text></svg>");
            return sb.ToString();
        }

        (double x0, double x1, double xStep) = spec.IntegerX ? IntegerAxis(finite.Min(p => p.X), finite.Max(p => p.X)) : NiceAxis(finite.Min(p => p.X), finite.Max(p => p.X));
        (double y0, double y1, double yStep) = NiceAxis(finite.Min(p => p.Y), finite.Max(p => p.Y));
        double X(double x) => Left + (x - x0) / (x1 - x0) * plotW;
        double Y(double y) => Top + plotH - (y - y0) / (y1 - y0) * plotH;

        // Gridlines and tick labels.
        sb.Append("<g class=\"gridlines\">");
        foreach (double t in Ticks(y0, y1, yStep))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left + plotW}\" y1=\"{Html.N(Y(t))}\" y2=\"{Html.N(Y(t))}\"/>");
        }
        foreach (double t in Ticks(x0, x1, xStep))
            sb.Append(CultureInfo.InvariantCulture, $"<line y1=\"{Top}\" y2=\"{Top + plotH}\" x1=\"{Html.N(X(t))}\" x2=\"{Html.N(X(t))}\"/>");
        sb.Append("</g><g class=\"ticks\">");
        foreach (double t in Ticks(y0, y1, yStep))
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{Html.N(Y(t) + 4)}\" text-anchor=\"end\">{Html.Escape(FormatTick(t, yStep, spec.PercentY))}</text>");
        foreach (double t in Ticks(x0, x1, xStep))
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(X(t))}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{Html.Escape(FormatTick(t, xStep, false))}</text>");
        sb.Append("</g>");
        sb.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{Left}\" x2=\"{Left + plotW}\" y1=\"{Top + plotH}\" y2=\"{Top + plotH}\"/>");
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"label\" x=\"{Html.N(Left + plotW / 2)}\" y=\"{Height - 8}\" text-anchor=\"middle\">{Html.Escape(spec.XLabel)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"label\" transform=\"translate(14 {Html.N(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">{Html.Escape(spec.YLabel)}</text>");

        // The best-epoch mark under the lines.
        if (spec.MarkX is double mark && double.IsFinite(mark) && mark >= x0 && mark <= x1)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"mark\" x1=\"{Html.N(X(mark))}\" x2=\"{Html.N(X(mark))}\" y1=\"{Top}\" y2=\"{Top + plotH}\"><title>{Html.Escape(spec.MarkLabel)}</title></line>");
            if (spec.MarkLabel is { Length: > 0 } label)
            {
                // Above the plot (under the legend), so that it never covers a point.
                string anchor = X(mark) > Left + plotW * 0.8 ? "end" : X(mark) < Left + plotW * 0.2 ? "start" : "middle";
                sb.Append(CultureInfo.InvariantCulture, $"<text class=\"mark-label\" x=\"{Html.N(X(mark))}\" y=\"{Top - 5}\" text-anchor=\"{anchor}\">{Html.Escape(label)}</text>");
            }
        }

        foreach (ChartSeries series in spec.Series)
            AppendSeries(sb, series, spec, X, Y);

        AppendLegend(sb, spec);
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static void AppendSeries(StringBuilder sb, ChartSeries series, ChartSpec spec, Func<double, double> X, Func<double, double> Y)
    {
        IReadOnlyList<(double X, double Y)> points = series.Points;
        int stride = Math.Max(1, (points.Count + MaxLinePoints - 1) / MaxLinePoints);
        string color = Html.Escape(series.Color);
        var path = new StringBuilder();
        bool penDown = false;
        for (int i = 0; i < points.Count; i++)
        {
            if (i % stride != 0 && i != points.Count - 1 && double.IsFinite(points[i].Y)) continue;
            (double x, double y) = points[i];
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                penDown = false;
                continue;
            }
            path.Append(penDown ? " L" : " M").Append(Html.N(X(x))).Append(',').Append(Html.N(Y(y)));
            penDown = true;
        }
        if (path.Length > 0)
            sb.Append(CultureInfo.InvariantCulture, $"<path class=\"line\" d=\"{path.ToString().Trim()}\" stroke=\"{color}\"{(series.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>");

        // Dots (visible when the series asks for them or a point stands alone between gaps), each with a tooltip.
        bool visible = series.Markers && points.Count <= 80;
        int hoverStride = Math.Max(1, (points.Count + MaxHoverTargets - 1) / MaxHoverTargets);
        sb.Append(CultureInfo.InvariantCulture, $"<g class=\"points\" fill=\"{color}\">");
        for (int i = 0; i < points.Count; i++)
        {
            (double x, double y) = points[i];
            if (!double.IsFinite(x) || !double.IsFinite(y)) continue;
            bool isolated = (i == 0 || !double.IsFinite(points[i - 1].Y)) && (i == points.Count - 1 || !double.IsFinite(points[i + 1].Y));
            if (!visible && !isolated && i % hoverStride != 0) continue;
            bool best = spec.MarkX is double m && m == x && !series.Dashed;
            string tip = $"{series.Name}, {spec.XLabel.ToLowerInvariant()} {FormatTick(x, 1, false)}: {(spec.PercentY ? Html.Percent(y) : Html.Metric(y))}";
            string style = visible || isolated ? "" : " opacity=\"0\"";
            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Html.N(X(x))}\" cy=\"{Html.N(Y(y))}\" r=\"{(best ? 5 : visible || isolated ? 3.2 : 4)}\"{style}{(best ? " class=\"best\"" : "")}><title>{Html.Escape(tip)}</title></circle>");
        }
        sb.Append("</g>");
    }

    private static void AppendLegend(StringBuilder sb, ChartSpec spec)
    {
        double x = Left;
        sb.Append("<g class=\"legend\">");
        foreach (ChartSeries series in spec.Series)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Html.N(x)}\" x2=\"{Html.N(x + 18)}\" y1=\"14\" y2=\"14\" stroke=\"{Html.Escape(series.Color)}\"{(series.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>");
            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{Html.N(x + 9)}\" cy=\"14\" r=\"3\" fill=\"{Html.Escape(series.Color)}\"/>");
            string name = Html.Abbreviate(series.Name, 28);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(x + 24)}\" y=\"18\">{Html.Escape(name)}</text>");
            x += 24 + name.Length * 6.6 + 18;
        }
        if (spec.MarkX is double mark && double.IsFinite(mark) && spec.MarkLabel is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"mark\" x1=\"{Html.N(x)}\" x2=\"{Html.N(x + 18)}\" y1=\"14\" y2=\"14\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(x + 24)}\" y=\"18\">best epoch</text>");
        }
        sb.Append("</g>");
    }

    private static void NoteGaps(ChartSeries series, string xLabel, List<string> notes)
    {
        var bad = series.Points.Where(p => !double.IsFinite(p.Y)).ToList();
        if (bad.Count == 0) return;
        string where = string.Join(", ", bad.Take(6).Select(p => $"{FormatTick(p.X, 1, false)} ({Html.Metric(p.Y)})")) + (bad.Count > 6 ? $" and {bad.Count - 6} more" : "");
        notes.Add($"{series.Name} is not finite at {xLabel.ToLowerInvariant()} {where}: not plotted (the line has a gap).");
    }

    /// <summary>An axis covering [lo, hi] whose ends are multiples of a 1/2/2.5/5 × 10ᵏ step, about 5 ticks.</summary>
    internal static (double Min, double Max, double Step) NiceAxis(double lo, double hi)
    {
        if (hi - lo <= Math.Abs(hi) * 1e-9 || hi == lo)
        {
            double pad = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            lo -= pad;
            hi += pad;
        }
        double step = NiceStep((hi - lo) / 5);
        double min = Math.Floor(lo / step + 1e-9) * step, max = Math.Ceiling(hi / step - 1e-9) * step;
        if (lo >= 0 && min < 0) min = 0;
        return (min, max, step);
    }

    /// <summary>An axis from the first to the last count with integer ticks (a single value gets half a unit each side).</summary>
    internal static (double Min, double Max, double Step) IntegerAxis(double lo, double hi)
    {
        if (hi <= lo) return (lo - 0.5, lo + 0.5, 1);
        return (lo, hi, Math.Max(1, NiceStep((hi - lo) / 6)));
    }

    private static double NiceStep(double rough)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double f = rough / magnitude;
        double nice = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
        return nice * magnitude;
    }

    /// <summary>The multiples of <paramref name="step"/> in [min, max] (rounded to the step's precision).</summary>
    internal static IEnumerable<double> Ticks(double min, double max, double step)
    {
        double first = Math.Ceiling(min / step - 1e-9) * step;
        for (int i = 0; i < 100; i++)
        {
            double t = first + i * step;
            if (t > max + step * 1e-9) yield break;
            yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
        }
    }

    /// <summary>A tick label with as many decimals as the step needs (k/M for large counts, exponents for tiny rates).</summary>
    internal static string FormatTick(double value, double step, bool percent)
    {
        if (value == 0) return "0";
        if (percent)
            return FormatTick(value * 100, step * 100, false) + "%";
        double abs = Math.Abs(value);
        if (abs >= 1e6 && step >= 1e5) return FormatTick(value / 1e6, step / 1e6, false) + "M";
        if (abs >= 1e4 && step >= 1e3) return FormatTick(value / 1e3, step / 1e3, false) + "k";
        if (abs != 0 && step < 1e-4) return value.ToString("0.##e+0", CultureInfo.InvariantCulture);
        int decimals = 0;
        while (decimals < 8 && Math.Abs(step * Math.Pow(10, decimals) - Math.Round(step * Math.Pow(10, decimals))) > 1e-6) decimals++;
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
