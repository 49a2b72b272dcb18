using System.Diagnostics;
using System.Runtime.Intrinsics;
using Dl.Cli.Report;
using Dl.Data;
using Dl.Models;
using Dl.Training;

namespace Dl.Cli.Tests;

/// <summary>A real, short training run for the report: FashionMlp on Dl.Models' embedded Fashion-MNIST subset (5000
/// training images, 1000 for validation, the 1000 test images), Adam with warm-up + cosine per step, through
/// <see cref="Trainer{TTarget}"/>; then the test set's metrics and its first misclassified images. About 10 s of one core.</summary>
internal static class ReportFashionRun
{
    public static TrainingReport Train(int epochs = 6, int batch = 64, float rate = 0.002f, ulong seed = 1)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        (Dataset train, Dataset validation) = EmbeddedData.FashionTrain().Split(1000, seed);
        Dataset test = EmbeddedData.FashionTest();
        var model = new FashionMlp(new ModelOptions { Seed = seed, MaxBatch = batch });
        var loader = new DataLoader(train, batch, seed: seed);
        long total = (long)epochs * loader.BatchesPerEpoch;
        var trainer = new Trainer<int>(model, new Adam(rate), loader, validation, new TrainerOptions
        {
            Epochs = epochs,
            Schedule = new WarmupCosine(rate, total / 10, total),
        });
        var rates = new List<(long, float)>();
        trainer.StepCompleted += step => rates.Add((step.GlobalStep, step.LearningRate));
        TrainingHistory history = trainer.Fit();
        EvaluationResult result = trainer.Evaluate(test);

        return new TrainingReport
        {
            Model = "fashion-mlp (FashionMlp)",
            Summary = model.Summary(),
            Settings =
            [
                new("model", "fashion-mlp"), new("epochs", epochs.ToString()), new("batch", batch.ToString()), new("optimizer", "adam"),
                new("lr", rate.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("schedule", $"warm-up {total / 10} steps + cosine to {total}"),
                new("training samples", train.Count.ToString()), new("validation samples", validation.Count.ToString()),
                new("test samples", test.Count.ToString()), new("seed", seed.ToString()),
            ],
            Epochs = history.Epochs,
            LearningRates = rates,
            Test = result,
            ClassNames = EmbeddedData.ClassNames,
            Misclassified = Misclassified(model, test, 24),
            Started = started,
            Machine = Machine(),
        };
    }

    /// <summary>The first <paramref name="count"/> test images the model gets wrong, with the softmax probability of its guess.</summary>
    private static List<MisclassifiedImage> Misclassified(FashionMlp model, Dataset test, int count)
    {
        model.Training = false;
        var found = new List<MisclassifiedImage>();
        int batch = model.MaxBatch, classes = test.Classes;
        var logits = new float[batch * classes];
        for (int start = 0; start < test.Count && found.Count < count; start += batch)
        {
            int n = Math.Min(batch, test.Count - start);
            model.Predict(test.X.AsSpan(start * test.Features, n * test.Features), logits.AsSpan(0, n * classes), n);
            for (int i = 0; i < n && found.Count < count; i++)
            {
                ReadOnlySpan<float> row = logits.AsSpan(i * classes, classes);
                int predicted = 0;
                for (int c = 1; c < classes; c++) if (row[c] > row[predicted]) predicted = c;
                int actual = test.Labels[start + i];
                if (predicted == actual) continue;
                double sum = 0;
                foreach (float v in row) sum += Math.Exp(v - row[predicted]);
                found.Add(new MisclassifiedImage(test.Sample(start + i).ToArray(), 28, 28, actual, predicted, (float)(1 / sum)));
            }
        }
        return found;
    }

    internal static string Machine()
    {
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "CPU"
            : "CPU";
        string simd = Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2" : Vector128.IsHardwareAccelerated ? "SSE" : "scalar";
        return $"{cpu} · {Environment.ProcessorCount} threads · {simd} · 1 training thread";
    }
}

/// <summary>The report of a real training run, written and rendered.</summary>
[Trait("Category", "Once")]
public sealed class ReportFashionRunTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dl-report-fashion-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void FashionMlp_ShortRun_ReportRendersWithItsChartsHeatMapAndMistakes()
    {
        var clock = Stopwatch.StartNew();
        TrainingReport report = ReportFashionRun.Train();
        Assert.True(report.Test!.Accuracy > 0.75, $"test accuracy {report.Test.Accuracy:P1} after the short run");
        Assert.Equal(24, report.Misclassified.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"the run took {clock.Elapsed}");

        ReportPngImage shot = ReportRenderTests.RenderPage(report, _folder, "fashion-mlp", 3000);
        ReportRenderTests.AssertChart(shot, ReportPage.LossFill, ReportPage.TrainColor, ReportPage.ValidationColor);
        ReportRenderTests.AssertChart(shot, ReportPage.AccuracyFill, ReportPage.ValidationColor);
        ReportRenderTests.AssertChart(shot, ReportPage.RateFill, ReportPage.RateColor);
        ReportRenderTests.AssertHeatMap(shot);
    }
}
