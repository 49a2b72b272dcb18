using Dl.Cli.Report;
using Dl.Training;

namespace Dl.Cli.Tests;

/// <summary>Synthetic reports for the page tests: a classifier, a regression, a run without validation and one whose
/// losses turn NaN and infinite; deterministic, no training.</summary>
internal static class ReportSamples
{
    public static readonly string[] Fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static TrainingReport Classifier(int epochs = 8, int classes = 10, bool validation = true, IReadOnlyList<string>? names = null,
        Func<int, double>? trainingLoss = null)
    {
        var random = new Random(5);
        names ??= classes == 10 ? Fashion : null;
        var list = new List<EpochResult>();
        double best = double.PositiveInfinity;
        for (int e = 1; e <= epochs; e++)
        {
            double loss = trainingLoss?.Invoke(e) ?? 0.35 + 0.9 / e;
            double valLoss = 0.42 + 0.7 / e + (e > 6 ? 0.02 * (e - 6) : 0);
            bool isBest = validation ? valLoss < best : loss < best;
            if (isBest) best = validation ? valLoss : loss;
            list.Add(new EpochResult
            {
                Epoch = e, Epochs = epochs, Steps = 94, Samples = 6000, TrainingLoss = loss, LearningRate = 0.001f * (float)Math.Cos(e / (double)epochs),
                Seconds = 1.3 + e * 0.01, IsBest = isBest,
                Validation = validation ? new EvaluationResult { Samples = 1000, Loss = valLoss, Accuracy = 0.7 + 0.18 * (1 - 1.0 / e) } : null,
            });
        }
        var confusion = new ConfusionMatrix(classes);
        for (int a = 0; a < classes; a++)
            for (int i = 0; i < 100; i++)
                confusion.Add(a, random.NextDouble() < 0.8 ? a : random.Next(classes));
        var images = new List<MisclassifiedImage>();
        for (int k = 0; k < 12; k++)
        {
            var pixels = new float[28 * 28];
            for (int p = 0; p < pixels.Length; p++) pixels[p] = (float)Math.Max(0, Math.Sin((p % 28 + k) * 0.3) * Math.Cos((p / 28) * 0.2));
            images.Add(new MisclassifiedImage(pixels, 28, 28, k % classes, (k + 3) % classes, 0.5f + k * 0.03f));
        }
        int steps = epochs * 94;
        return new TrainingReport
        {
            Model = "fashion-mlp (FashionMlp)",
            Summary = "FashionMlp: 784 → 10\n  fc1  Linear  [784] → [128]  100,480\n  fc2  Linear  [128] → [10]    1,290\nparameters: 101,770",
            Settings = [new("epochs", epochs.ToString()), new("batch", "64"), new("optimizer", "adam"), new("lr", "0.001"), new("seed", "1")],
            Epochs = list,
            LearningRates = Enumerable.Range(1, steps).Select(s => ((long)s, s < 50 ? 0.001f * s / 50 : 0.001f * 0.5f * (1 + MathF.Cos(MathF.PI * (s - 50) / (steps - 50))))).ToList(),
            Test = new EvaluationResult { Samples = classes * 100, Loss = 0.45, Accuracy = confusion.Accuracy(), Confusion = confusion },
            ClassNames = names,
            Misclassified = images,
            Started = new DateTimeOffset(2026, 12, 8, 3, 0, 0, TimeSpan.Zero),
            Machine = "AMD EPYC (2 threads) · AVX2",
        };
    }

    public static TrainingReport Regression(bool validation = true) => Classifier(validation: validation) with
    {
        Model = "conv-autoencoder (ConvAutoencoder)",
        Test = new EvaluationResult { Samples = 1000, Loss = 0.021, MeanSquaredError = 0.021, MeanAbsoluteError = 0.071 },
        Epochs = Classifier(validation: validation).Epochs.Select(e => new EpochResult
        {
            Epoch = e.Epoch, Epochs = e.Epochs, Steps = e.Steps, TrainingLoss = e.TrainingLoss / 20, LearningRate = e.LearningRate, Seconds = e.Seconds, IsBest = e.IsBest,
            Validation = e.Validation is null ? null : new EvaluationResult { Samples = 1000, Loss = e.Validation.Loss / 20, MeanSquaredError = e.Validation.Loss / 20, MeanAbsoluteError = e.Validation.Loss / 7 },
        }).ToList(),
        ClassNames = null,
        Misclassified = [],
    };

    /// <summary>A classifier whose training loss is NaN at epoch 3 and +∞ at epoch 4 (and finite around them).</summary>
    public static TrainingReport NonFinite() =>
        Classifier(trainingLoss: e => e == 3 ? double.NaN : e == 4 ? double.PositiveInfinity : 0.35 + 0.9 / e);
}
