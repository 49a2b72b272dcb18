using Dl.Cli.Report;
using Dl.Data;
using Dl.Models;
using Dl.Training;

namespace Dl.Cli.Tests;

/// <summary>A real, short regression run for the report: ConvAutoencoder reconstructing embedded Fashion-MNIST images
/// (a small subset: the report shows MSE and MAE and no classifier sections), Adam with warm-up + cosine per step.</summary>
internal static class ReportAutoencoderRun
{
    public static TrainingReport Train(int trainCount = 1200, int validationCount = 300, int testCount = 300, int epochs = 4, int batch = 32, float rate = 0.003f, ulong seed = 1)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        int[] shape = [1, 28, 28];
        Dataset images = EmbeddedData.FashionTrain(trainCount + validationCount), testImages = EmbeddedData.FashionTest(testCount);
        Dataset train = Dataset.AutoEncoder(images.X[..(trainCount * 784)], shape);
        Dataset validation = Dataset.AutoEncoder(images.X[(trainCount * 784)..], shape);
        Dataset test = Dataset.AutoEncoder(testImages.X, shape);
        var model = new ConvAutoencoder(new ModelOptions { Seed = seed, MaxBatch = batch });
        var loader = new DataLoader(train, batch, seed: seed);
        long total = (long)epochs * loader.BatchesPerEpoch;
        var trainer = new Trainer<float>(model, new Adam(rate), loader, validation, new TrainerOptions { Epochs = epochs, Schedule = new WarmupCosine(rate, total / 10, total) });
        var rates = new List<(long, float)>();
        trainer.StepCompleted += step => rates.Add((step.GlobalStep, step.LearningRate));
        TrainingHistory history = trainer.Fit();
        return new TrainingReport
        {
            Model = "conv-autoencoder (ConvAutoencoder)",
            Summary = model.Summary(),
            Settings =
            [
                new("model", "conv-autoencoder"), new("epochs", epochs.ToString()), new("batch", batch.ToString()), new("optimizer", "adam"),
                new("lr", rate.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("schedule", $"warm-up {total / 10} steps + cosine to {total}"),
                new("training images", train.Count.ToString()), new("validation images", validation.Count.ToString()), new("test images", test.Count.ToString()),
                new("seed", seed.ToString()),
            ],
            Epochs = history.Epochs,
            LearningRates = rates,
            Test = trainer.Evaluate(test),
            Started = started,
            Machine = ReportFashionRun.Machine(),
        };
    }
}

/// <summary>The report of a real regression run (an autoencoder), written and rendered.</summary>
[Trait("Category", "Once")]
public sealed class ReportAutoencoderRunTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dl-report-autoencoder-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ConvAutoencoder_ShortRun_ReportShowsMseAndMae()
    {
        TrainingReport report = ReportAutoencoderRun.Train();
        Assert.True(report.Test!.MeanSquaredError < 0.1, $"test MSE {report.Test.MeanSquaredError} after the short run");
        Assert.Null(report.Test.Confusion);
        ReportPngImage shot = ReportRenderTests.RenderPage(report, _folder, "conv-autoencoder", 1800);
        ReportRenderTests.AssertChart(shot, ReportPage.LossFill, ReportPage.TrainColor, ReportPage.ValidationColor);
        ReportRenderTests.AssertChart(shot, ReportPage.ErrorFill, ReportPage.ValidationColor, ReportPage.SecondColor);
        ReportRenderTests.AssertChart(shot, ReportPage.RateFill, ReportPage.RateColor);
    }
}
