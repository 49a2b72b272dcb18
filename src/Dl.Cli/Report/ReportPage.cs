using System.Globalization;
using System.Text;
using Dl.Training;

namespace Dl.Cli.Report;

/// <summary>Lays out the report page: header with the headline metrics, charts, epoch table, confusion heat map,
/// misclassified images, model summary and settings. Sections without data (a regression has no confusion matrix, a
/// run without validation has no accuracy curve) are left out rather than drawn empty.</summary>
internal static class ReportPage
{
    // Series colours (the validation series is orange on every chart) and the plot areas' faint tints: each is a colour no
    // blend of the page's greys produces, so the render test can find every plot area in a screenshot by its exact colour.
    internal const string TrainColor = "#2563eb", ValidationColor = "#f97316", RateColor = "#7c3aed", SecondColor = "#0d9488";
    internal const string LossFill = "#f6f9ff", AccuracyFill = "#f5fcf7", RateFill = "#faf6fe", ErrorFill = "#fef8f3";

    public static string Render(TrainingReport r)
    {
        var sb = new StringBuilder(64 * 1024);
        string title = $"Training report: {r.Model}";
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(Html.Escape(title)).Append("</title>\n<style>").Append(ReportStyle.Css).Append("</style>\n</head>\n<body>\n<main>\n");

        AppendHeader(sb, r);
        AppendCharts(sb, r);
        // With a confusion matrix, the model summary and settings stack beside the heat map; the images get the full width.
        if (r.Test?.Confusion is { } confusion)
        {
            sb.Append("<section class=\"grid pair\">\n");
            AppendConfusion(sb, confusion, r.ClassNames);
            sb.Append("<div class=\"stack\">\n");
            AppendSummaryAndSettings(sb, r);
            sb.Append("</div>\n</section>\n");
            AppendMisclassified(sb, r);
        }
        else
        {
            AppendMisclassified(sb, r);
            sb.Append("<section class=\"grid two\">\n");
            AppendSummaryAndSettings(sb, r);
            sb.Append("</section>\n");
        }

        sb.Append("<footer>Written by <code>dl train --report</code>. A self-contained page: no network, no script.</footer>\n");
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static int BestEpoch(TrainingReport r) => r.Epochs.LastOrDefault(e => e.IsBest)?.Epoch ?? 0;

    private static void AppendHeader(StringBuilder sb, TrainingReport r)
    {
        sb.Append("<header id=\"header\">\n<div class=\"kicker\">Training report</div>\n<h1>").Append(Html.Escape(r.Model)).Append("</h1>\n<div class=\"meta\">");
        var meta = new List<string> { r.Started.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) };
        if (!string.IsNullOrWhiteSpace(r.Machine)) meta.Add(r.Machine);
        if (r.Epochs.Count > 0)
        {
            double seconds = r.Epochs.Sum(e => e.Seconds);
            meta.Add($"{r.Epochs.Count} epoch{(r.Epochs.Count == 1 ? "" : "s")} of {r.Epochs[^1].Epochs}");
            meta.Add($"{Html.Count(r.Epochs.Sum(e => (long)e.Steps))} steps");
            meta.Add($"{Duration(seconds)} training");
        }
        sb.Append(string.Join("<span class=\"dot\">·</span>", meta.Select(Html.Escape))).Append("</div>\n<div class=\"tiles\">\n");

        EvaluationResult? test = r.Test;
        if (test is not null)
        {
            string on = $"on {Html.Count(test.Samples)} test samples";
            if (double.IsFinite(test.Accuracy)) Tile(sb, "Test accuracy", Html.Percent(test.Accuracy), on, "good");
            if (double.IsFinite(test.MeanSquaredError)) Tile(sb, "Test MSE", Html.Metric(test.MeanSquaredError), on, "good");
            if (double.IsFinite(test.MeanAbsoluteError)) Tile(sb, "Test MAE", Html.Metric(test.MeanAbsoluteError), on, "");
            Tile(sb, "Test loss", Html.Metric(test.Loss), double.IsFinite(test.Accuracy) ? "mean cross-entropy" : "mean loss", "");
        }
        int best = BestEpoch(r);
        if (best > 0 && r.Epochs.FirstOrDefault(e => e.Epoch == best) is { } b)
        {
            string what = b.Validation is { } v
                ? double.IsFinite(v.Accuracy) ? $"validation accuracy {Html.Percent(v.Accuracy)}" : $"validation loss {Html.Metric(v.Loss)}"
                : $"training loss {Html.Metric(b.TrainingLoss)}";
            Tile(sb, "Best epoch", best.ToString(CultureInfo.InvariantCulture), what, "");
        }
        if (r.Epochs.Count > 0)
        {
            EpochResult last = r.Epochs[^1];
            Tile(sb, "Final training loss", Html.Metric(last.TrainingLoss), $"epoch {last.Epoch}", double.IsFinite(last.TrainingLoss) ? "" : "bad");
            if (test is null && last.Validation is { } v)
                Tile(sb, "Final validation loss", Html.Metric(v.Loss), $"on {Html.Count(v.Samples)} samples", "");
        }
        sb.Append("</div>\n</header>\n");
    }

    private static void Tile(StringBuilder sb, string label, string value, string detail, string tone) =>
        sb.Append("<div class=\"tile ").Append(tone).Append("\"><div class=\"label\">").Append(Html.Escape(label))
          .Append("</div><div class=\"value\">").Append(Html.Escape(value)).Append("</div><div class=\"detail\">")
          .Append(Html.Escape(detail)).Append("</div></div>\n");

    private static void AppendCharts(StringBuilder sb, TrainingReport r)
    {
        if (r.Epochs.Count == 0 && r.LearningRates.Count == 0) return;
        int best = BestEpoch(r);
        double? mark = best > 0 ? best : null;
        string markLabel = $"best: epoch {best}";
        bool validation = r.Epochs.Any(e => e.Validation is not null);
        sb.Append("<section id=\"charts\" class=\"grid two\">\n");

        if (r.Epochs.Count > 0)
        {
            var series = new List<ChartSeries> { new("training loss", TrainColor, r.Epochs.Select(e => ((double)e.Epoch, e.TrainingLoss)).ToList()) };
            if (validation)
                series.Add(new ChartSeries("validation loss", ValidationColor, r.Epochs.Select(e => ((double)e.Epoch, e.Validation?.Loss ?? double.NaN)).ToList()));
            Chart(sb, new ChartSpec { Id = "chart-loss", Title = "Loss per epoch", XLabel = "Epoch", YLabel = "loss", Series = series, IntegerX = true, MarkX = mark, MarkLabel = markLabel, PlotFill = LossFill },
                validation ? null : "No validation set: only the training loss is shown.");
        }

        if (r.Epochs.Any(e => e.Validation is { } v && double.IsFinite(v.Accuracy)))
        {
            var accuracy = new ChartSeries("validation accuracy", ValidationColor, r.Epochs.Select(e => ((double)e.Epoch, e.Validation?.Accuracy ?? double.NaN)).ToList());
            Chart(sb, new ChartSpec { Id = "chart-accuracy", Title = "Validation accuracy per epoch", XLabel = "Epoch", YLabel = "accuracy", Series = [accuracy], IntegerX = true, PercentY = true, MarkX = mark, MarkLabel = markLabel, PlotFill = AccuracyFill }, null);
        }
        else if (r.Epochs.Any(e => e.Validation is { } v && (double.IsFinite(v.MeanSquaredError) || double.IsFinite(v.MeanAbsoluteError))))
        {
            var series = new List<ChartSeries>();
            if (r.Epochs.Any(e => e.Validation is { } v && double.IsFinite(v.MeanSquaredError)))
                series.Add(new ChartSeries("validation MSE", ValidationColor, r.Epochs.Select(e => ((double)e.Epoch, e.Validation?.MeanSquaredError ?? double.NaN)).ToList()));
            if (r.Epochs.Any(e => e.Validation is { } v && double.IsFinite(v.MeanAbsoluteError)))
                series.Add(new ChartSeries("validation MAE", SecondColor, r.Epochs.Select(e => ((double)e.Epoch, e.Validation?.MeanAbsoluteError ?? double.NaN)).ToList(), Dashed: true));
            Chart(sb, new ChartSpec { Id = "chart-error", Title = "Validation error per epoch", XLabel = "Epoch", YLabel = "error", Series = series, IntegerX = true, MarkX = mark, MarkLabel = markLabel, PlotFill = ErrorFill }, null);
        }

        List<(double, double)> rates = r.LearningRates.Count > 0
            ? r.LearningRates.Select(p => ((double)p.Step, (double)p.Rate)).ToList()
            : r.Epochs.Select(e => ((double)e.Epoch, (double)e.LearningRate)).ToList();
        if (rates.Count > 0)
        {
            bool perStep = r.LearningRates.Count > 0;
            Chart(sb, new ChartSpec
            {
                Id = "chart-lr", Title = perStep ? "Learning rate per step" : "Learning rate per epoch", XLabel = perStep ? "Step" : "Epoch", YLabel = "learning rate",
                Series = [new ChartSeries("learning rate", RateColor, rates, Markers: !perStep)], IntegerX = true, PlotFill = RateFill,
            }, null);
        }

        if (r.Epochs.Count > 0) AppendEpochTable(sb, r, best);
        sb.Append("</section>\n");
    }

    private static void Chart(StringBuilder sb, ChartSpec spec, string? extraNote)
    {
        var notes = new List<string>();
        string svg = SvgChart.Render(spec, notes);
        sb.Append("<div class=\"card\"><h2>").Append(Html.Escape(spec.Title)).Append("</h2>\n").Append(svg).Append('\n');
        foreach (string note in notes)
            sb.Append("<p class=\"note warn\">").Append(Html.Escape(note)).Append("</p>\n");
        if (extraNote is not null)
            sb.Append("<p class=\"note\">").Append(Html.Escape(extraNote)).Append("</p>\n");
        sb.Append("</div>\n");
    }

    private static void AppendEpochTable(StringBuilder sb, TrainingReport r, int best)
    {
        bool validation = r.Epochs.Any(e => e.Validation is not null);
        bool accuracy = r.Epochs.Any(e => e.Validation is { } v && double.IsFinite(v.Accuracy));
        bool mse = !accuracy && r.Epochs.Any(e => e.Validation is { } v && double.IsFinite(v.MeanSquaredError));
        sb.Append("<div class=\"card\" id=\"epochs\"><h2>Epochs</h2>\n<div class=\"scroll\"><table class=\"num\">\n<thead><tr><th>epoch</th><th>training loss</th>");
        if (validation) sb.Append("<th>validation loss</th>");
        if (accuracy) sb.Append("<th>validation accuracy</th>");
        if (mse) sb.Append("<th>validation MSE</th>");
        sb.Append("<th>learning rate</th><th>time</th></tr></thead>\n<tbody>\n");
        foreach (EpochResult e in r.Epochs)
        {
            sb.Append(e.Epoch == best ? "<tr class=\"best\" title=\"best epoch\">" : "<tr>");
            sb.Append("<td>").Append(e.Epoch.ToString(CultureInfo.InvariantCulture)).Append(e.Epoch == best ? " ★" : "").Append("</td>");
            Cell(sb, Html.Metric(e.TrainingLoss), double.IsFinite(e.TrainingLoss));
            if (validation) Cell(sb, e.Validation is { } v ? Html.Metric(v.Loss) : "–", e.Validation is null || double.IsFinite(e.Validation.Loss));
            if (accuracy) Cell(sb, e.Validation is { } v ? Html.Percent(v.Accuracy) : "–", true);
            if (mse) Cell(sb, e.Validation is { } v ? Html.Metric(v.MeanSquaredError) : "–", true);
            Cell(sb, Html.Metric(e.LearningRate), true);
            Cell(sb, Duration(e.Seconds), true);
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table></div></div>\n");
    }

    private static void Cell(StringBuilder sb, string text, bool ok) =>
        sb.Append(ok ? "<td>" : "<td class=\"bad\">").Append(Html.Escape(text)).Append("</td>");

    private static void AppendConfusion(StringBuilder sb, ConfusionMatrix confusion, IReadOnlyList<string>? classNames)
    {
        sb.Append("<div class=\"card\" id=\"confusion\"><h2>Confusion matrix (test set)</h2>\n<p class=\"sub\">Rows are the true classes, columns the predicted ones; colour is the share of the row, numbers are counts. Recall on the right, precision at the bottom (in %). Hover a cell for details.</p>\n<div class=\"scroll-x\">");
        sb.Append(HeatMap.Render(confusion, classNames)).Append("</div></div>\n");
    }

    private static void AppendMisclassified(StringBuilder sb, TrainingReport r)
    {
        if (r.Misclassified.Count == 0) return;
        sb.Append("<section class=\"card\" id=\"misclassified\"><h2>Misclassified test images</h2>\n<p class=\"sub\">")
          .Append(Html.Escape($"{r.Misclassified.Count} examples, captioned true → predicted (the model's confidence in its prediction)."))
          .Append("</p>\n<div class=\"gallery\">\n");
        for (int i = 0; i < r.Misclassified.Count; i++)
        {
            try
            {
                AppendImage(sb, r.Misclassified[i], r.ClassNames);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Misclassified image {i} of the report: {e.Message}", nameof(r), e);
            }
        }
        sb.Append("</div></section>\n");
    }

    private static void AppendImage(StringBuilder sb, MisclassifiedImage image, IReadOnlyList<string>? names)
    {
        string actual = ClassName(names, image.Actual), predicted = ClassName(names, image.Predicted);
        string confidence = Html.Percent(image.Confidence, 0);
        string uri = PngEncoder.DataUri(PngEncoder.EncodeGray(image.Pixels, image.Width, image.Height));
        double scale = Math.Max(1, Math.Floor(84.0 / Math.Max(image.Width, image.Height)));
        string tip = $"true: {actual}; predicted: {predicted} ({confidence})";
        sb.Append(CultureInfo.InvariantCulture, $"<figure title=\"{Html.Escape(tip)}\"><img src=\"{uri}\" width=\"{image.Width * scale}\" height=\"{image.Height * scale}\" alt=\"{Html.Escape(tip)}\">");
        sb.Append("<figcaption><span class=\"truth\">").Append(Html.Escape(Html.AbbreviateMiddle(actual, 15))).Append("</span> → <span class=\"pred\">")
          .Append(Html.Escape(Html.AbbreviateMiddle(predicted, 15))).Append("</span> <span class=\"conf\">(").Append(Html.Escape(confidence)).Append(")</span></figcaption></figure>\n");
    }

    private static string ClassName(IReadOnlyList<string>? names, int c) =>
        names is not null && c >= 0 && c < names.Count && !string.IsNullOrWhiteSpace(names[c]) ? names[c] : c.ToString(CultureInfo.InvariantCulture);

    private static void AppendSummaryAndSettings(StringBuilder sb, TrainingReport r)
    {
        if (!string.IsNullOrWhiteSpace(r.Summary))
            sb.Append("<div class=\"card\" id=\"summary\"><h2>Model</h2>\n<pre>").Append(Html.Escape(r.Summary.TrimEnd())).Append("</pre></div>\n");
        if (r.Settings.Count > 0)
        {
            sb.Append("<div class=\"card\" id=\"settings\"><h2>Settings</h2>\n<table class=\"settings\"><tbody>\n");
            foreach (var (key, value) in r.Settings)
                sb.Append("<tr><th>").Append(Html.Escape(key)).Append("</th><td>").Append(Html.Escape(value)).Append("</td></tr>\n");
            sb.Append("</tbody></table></div>\n");
        }
    }

    private static string Duration(double seconds) => seconds switch
    {
        < 0 or double.NaN => "–",
        < 10 => seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s",
        < 120 => seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
        < 7200 => ((int)(seconds / 60)).ToString(CultureInfo.InvariantCulture) + " min " + ((int)(seconds % 60)).ToString(CultureInfo.InvariantCulture) + " s",
        _ => (seconds / 3600).ToString("0.0", CultureInfo.InvariantCulture) + " h",
    };
}
