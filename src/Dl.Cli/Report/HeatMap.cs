using System.Globalization;
using System.Text;

namespace Dl.Cli.Report;

/// <summary>The confusion matrix as an SVG heat map: rows are the actual classes, columns the predicted ones, each cell
/// coloured by its share of the row (so rare classes read as well as common ones) and labelled with its count when the
/// cell is large enough; a recall column on the right and a precision row at the bottom; every cell has a tooltip.
/// Scales from 2 to a few hundred classes: cells shrink, labels are abbreviated and the column labels rotated.</summary>
internal static class HeatMap
{
    /// <summary>The matrix's backdrop (visible between the cells and as a frame): exact, so a screenshot can be searched for it.</summary>
    internal const string Backdrop = "#e9edf3";
    private const string Font = "-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

    public static string Render(ConfusionMatrix matrix, IReadOnlyList<string>? classNames, string id = "confusion-map")
    {
        int n = matrix.Classes;
        double cell = Math.Clamp(Math.Floor(620.0 / n), 6, 46);
        double gap = cell >= 12 ? 1.5 : cell >= 8 ? 0.5 : 0;
        int maxChars = n <= 12 ? 16 : 12;
        // Small cells label every k-th class only (the tooltips name them all), so the text stays readable.
        int labelStep = cell >= 9 ? 1 : (int)Math.Ceiling(10 / cell);
        double labelFont = Math.Clamp(cell * labelStep * 0.72, 6.5, 12.5);
        string[] labels = Enumerable.Range(0, n).Select(c => Name(classNames, c)).ToArray();
        string[] shortLabels = labels.Select(l => Html.AbbreviateMiddle(l, maxChars)).ToArray();
        double charW = labelFont * 0.6;
        double labelW = shortLabels.Max(l => l.Length) * charW + 8;
        double statW = Math.Max(cell, 44);

        double left = 26 + Math.Max(labelW, "precision".Length * 11 * 0.6 + 8);   // axis title + row labels
        double top = 26;                                                          // "recall" header
        double size = n * cell;
        double columnLabelsH = labelW * 0.72 + 10;                                // rotated 45°
        double width = left + size + 10 + statW + 12;
        double height = top + size + 8 + statW + columnLabelsH + 24;

        long[] rowSums = new long[n], colSums = new long[n];
        for (int a = 0; a < n; a++)
            for (int p = 0; p < n; p++)
            {
                rowSums[a] += matrix[a, p];
                colSums[p] += matrix[a, p];
            }
        long max = Enumerable.Range(0, n).SelectMany(a => Enumerable.Range(0, n).Select(p => matrix[a, p])).DefaultIfEmpty(0).Max();
        double countFont = Math.Min(11.5, cell * 0.36);
        bool countsFit = cell >= 20 && max.ToString(CultureInfo.InvariantCulture).Length * countFont * 0.62 <= cell - 4;

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg id=\"{id}\" class=\"heatmap\" viewBox=\"0 0 {Html.N(width)} {Html.N(height)}\" width=\"{Html.N(width)}\" height=\"{Html.N(height)}\" role=\"img\" aria-label=\"Confusion matrix\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"{Font}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"backdrop\" x=\"{Html.N(left - 4)}\" y=\"{Html.N(top - 4)}\" width=\"{Html.N(size + 8)}\" height=\"{Html.N(size + 8)}\" rx=\"3\" fill=\"{Backdrop}\"/>");

        // Cells: colour = C[a, p] / Σₚ C[a, p].
        for (int a = 0; a < n; a++)
        {
            for (int p = 0; p < n; p++)
            {
                long count = matrix[a, p];
                double share = rowSums[a] == 0 ? 0 : (double)count / rowSums[a];
                double x = left + p * cell, y = top + a * cell;
                string tip = $"actual {labels[a]} → predicted {labels[p]}: {Html.Count(count)} ({Html.Percent(share, 1)} of {labels[a]})";
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Html.N(x + gap / 2)}\" y=\"{Html.N(y + gap / 2)}\" width=\"{Html.N(cell - gap)}\" height=\"{Html.N(cell - gap)}\" fill=\"{Blues(share)}\"{(a == p ? " class=\"diag\"" : "")}><title>{Html.Escape(tip)}</title></rect>");
                if (countsFit && count > 0)
                    sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(x + cell / 2)}\" y=\"{Html.N(y + cell / 2 + countFont * 0.36)}\" text-anchor=\"middle\" font-size=\"{Html.N(countFont)}\" class=\"{(share > 0.45 ? "on-dark" : "on-light")}\">{count.ToString(CultureInfo.InvariantCulture)}</text>");
            }
        }

        // Recall (right) and precision (bottom).
        double statX = left + size + 10, statY = top + size + 8;
        double statFont = Math.Min(11, Math.Max(cell * 0.34, 6));
        bool statsFit = cell >= 16;
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(statX + statW / 2)}\" y=\"{Html.N(top - 8)}\" text-anchor=\"middle\" class=\"stat-head\">recall</text>");
        for (int c = 0; c < n; c++)
        {
            double recall = matrix.Recall(c), precision = matrix.Precision(c);
            AppendStat(sb, statX, top + c * cell, statW, cell, gap, recall, $"recall of {labels[c]}: {Html.Percent(recall, 1)} ({Html.Count(matrix[c, c])} of {Html.Count(rowSums[c])})", statsFit, statFont);
            AppendStat(sb, left + c * cell, statY, cell, statW, gap, precision, $"precision of {labels[c]}: {Html.Percent(precision, 1)} ({Html.Count(matrix[c, c])} of {Html.Count(colSums[c])} predicted)", statsFit && cell >= 30, statFont);
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(left - 8)}\" y=\"{Html.N(statY + statW / 2 + 4)}\" text-anchor=\"end\" class=\"stat-head\">precision</text>");

        // Class names: rows at the left, columns below the precision row, rotated.
        for (int c = 0; c < n; c += labelStep)
        {
            string title = labels[c] == shortLabels[c] ? "" : $"<title>{Html.Escape(labels[c])}</title>";
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(left - 8)}\" y=\"{Html.N(top + c * cell + cell / 2 + labelFont * 0.35)}\" text-anchor=\"end\" font-size=\"{Html.N(labelFont)}\" class=\"cls\">{title}{Html.Escape(shortLabels[c])}</text>");
            double cx = left + c * cell + cell / 2, cy = statY + statW + 8;
            sb.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate({Html.N(cx + labelFont * 0.3)} {Html.N(cy)}) rotate(-45)\" text-anchor=\"end\" font-size=\"{Html.N(labelFont)}\" class=\"cls\">{title}{Html.Escape(shortLabels[c])}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis-title\" transform=\"translate(12 {Html.N(top + size / 2)}) rotate(-90)\" text-anchor=\"middle\">actual</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis-title\" x=\"{Html.N(left + size / 2)}\" y=\"{Html.N(height - 6)}\" text-anchor=\"middle\">predicted</text>");
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static void AppendStat(StringBuilder sb, double x, double y, double w, double h, double gap, double value, string tip, bool label, double font)
    {
        string fill = double.IsNaN(value) ? "#f3f4f6" : Greens(value);
        sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"stat\" x=\"{Html.N(x + gap / 2)}\" y=\"{Html.N(y + gap / 2)}\" width=\"{Html.N(w - gap)}\" height=\"{Html.N(h - gap)}\" fill=\"{fill}\"><title>{Html.Escape(tip)}</title></rect>");
        if (label)
        {
            string text = double.IsNaN(value) ? "–" : (value * 100).ToString(value >= 0.9995 ? "0" : "0.0", CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Html.N(x + w / 2)}\" y=\"{Html.N(y + h / 2 + font * 0.36)}\" text-anchor=\"middle\" font-size=\"{Html.N(font)}\" class=\"{(value > 0.85 ? "on-dark" : "on-light")}\">{text}</text>");
        }
    }

    private static string Name(IReadOnlyList<string>? names, int c) =>
        names is not null && c < names.Count && !string.IsNullOrWhiteSpace(names[c]) ? names[c] : c.ToString(CultureInfo.InvariantCulture);

    private static readonly (double At, int R, int G, int B)[] BlueStops =
        [(0, 0xf7, 0xfb, 0xff), (0.08, 0xde, 0xeb, 0xf7), (0.3, 0x9e, 0xca, 0xe1), (0.6, 0x42, 0x92, 0xc6), (0.85, 0x21, 0x71, 0xb5), (1, 0x08, 0x30, 0x6b)];

    private static readonly (double At, int R, int G, int B)[] GreenStops =
        [(0, 0xfe, 0xf0, 0xd9), (0.5, 0xd9, 0xef, 0xd3), (0.8, 0x74, 0xc4, 0x76), (1, 0x1b, 0x7a, 0x3e)];

    /// <summary>Light to dark blue for a share in [0, 1] (a colour-blind-safe sequential ramp).</summary>
    internal static string Blues(double share) => Interpolate(BlueStops, share);

    /// <summary>Cream to green for recall and precision: poor classes stand out pale.</summary>
    internal static string Greens(double share) => Interpolate(GreenStops, share);

    private static string Interpolate((double At, int R, int G, int B)[] stops, double t)
    {
        t = double.IsFinite(t) ? Math.Clamp(t, 0, 1) : 0;
        int i = 1;
        while (i < stops.Length - 1 && t > stops[i].At) i++;
        var (a, b) = (stops[i - 1], stops[i]);
        double f = (t - a.At) / (b.At - a.At);
        int Mix(int u, int v) => (int)Math.Round(u + (v - u) * f);
        return string.Create(CultureInfo.InvariantCulture, $"#{Mix(a.R, b.R):x2}{Mix(a.G, b.G):x2}{Mix(a.B, b.B):x2}");
    }
}
