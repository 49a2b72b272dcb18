using Dl.Training;

namespace Dl.Cli.Report;

/// <summary>Everything <c>dl train --report DIR</c> puts on its page: filled by the train command while it runs, rendered
/// by <see cref="ReportWriter"/>.</summary>
public sealed record TrainingReport
{
    /// <summary>The model's name as the CLI spells it (<c>fashion-cnn</c>) and its class name.</summary>
    public required string Model { get; init; }
    /// <summary><see cref="IModel.Summary"/>'s text (layers, shapes, parameter counts).</summary>
    public required string Summary { get; init; }
    /// <summary>The run's settings as shown to the user (option → value, in order), e.g. epochs, batch, optimizer, lr, seed.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; }
    /// <summary>Every finished epoch, in order (training loss, learning rate, validation metrics, seconds).</summary>
    public required IReadOnlyList<EpochResult> Epochs { get; init; }
    /// <summary>The learning rate of every step (or a regular sample of steps), as (global step from 1, rate).</summary>
    public IReadOnlyList<(long Step, float Rate)> LearningRates { get; init; } = [];
    /// <summary>The final metrics on the test set (confusion matrix for classifiers), or null.</summary>
    public EvaluationResult? Test { get; init; }
    /// <summary>Class names for a classifier (index = label), or null (labels shown as numbers).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
    /// <summary>Misclassified test images (up to a few dozen), or empty for models whose inputs are not images.</summary>
    public IReadOnlyList<MisclassifiedImage> Misclassified { get; init; } = [];
    /// <summary>When the run started and on what (the CPU, the SIMD width, threads), for the page's header.</summary>
    public DateTimeOffset Started { get; init; } = DateTimeOffset.UtcNow;
    public string Machine { get; init; } = "";
}

/// <summary>One test image the model got wrong: grey levels in [0, 1], row-major Height × Width, its true and predicted
/// labels and the probability the model gave its prediction.</summary>
public sealed record MisclassifiedImage(float[] Pixels, int Height, int Width, int Actual, int Predicted, float Confidence);
