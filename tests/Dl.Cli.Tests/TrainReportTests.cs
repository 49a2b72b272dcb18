using Dl.Cli.Report;
using Dl.Models;
using Dl.Training;

namespace Dl.Cli.Tests;

/// <summary>What <c>dl train --report</c> hands the report writer; ReportTests check the page.</summary>
[Trait("Category", "Once")]
public sealed class TrainReportTests
{
    [Fact]
    public void BuildReport_FillsEverySection()
    {
        var model = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 50 });
        var test = EmbeddedData.FashionTest(200);
        var epoch = new EpochResult { Epoch = 1, Epochs = 1, Steps = 4, TrainingLoss = 2.0 };
        TrainingReport report = ImageTraining.BuildReport("fashion-mlp", model, [new("epochs", "1")], [epoch], [(1, 0.001f), (2, 0.001f)], test, 50);

        Assert.Equal("fashion-mlp (FashionMlp)", report.Model);
        Assert.Contains("fc1", report.Summary);
        Assert.Single(report.Epochs);
        Assert.Equal(2, report.LearningRates.Count);
        Assert.Equal(200, report.Test!.Samples);
        Assert.NotNull(report.Test.Confusion);
        Assert.Equal("Ankle boot", report.ClassNames![9]);
        // An untrained model gets most images wrong: the grid is full, each image 28 x 28 with a wrong prediction.
        Assert.Equal(ImageTraining.ReportImages, report.Misclassified.Count);
        Assert.All(report.Misclassified, m =>
        {
            Assert.Equal((28, 28, 784), (m.Height, m.Width, m.Pixels.Length));
            Assert.NotEqual(m.Actual, m.Predicted);
            Assert.InRange(m.Confidence, 0.1f, 1f);
        });
    }
}
