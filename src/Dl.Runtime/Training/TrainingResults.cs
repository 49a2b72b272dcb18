namespace Dl.Training;

/// <summary>One optimizer step of a <see cref="Trainer{TTarget}"/>, as <see cref="Trainer{TTarget}.StepCompleted"/>
/// reports it (a value: observing steps allocates nothing).</summary>
/// <param name="Epoch">The epoch in progress, from 1.</param>
/// <param name="Epochs">The epochs of the run.</param>
/// <param name="Step">This step within the epoch, from 1.</param>
/// <param name="StepsPerEpoch">Steps in a whole epoch.</param>
/// <param name="GlobalStep">Steps of the whole run so far, this one included.</param>
/// <param name="BatchSize">Samples in this step.</param>
/// <param name="Loss">This batch's mean loss.</param>
/// <param name="MeanLoss">The epoch's sample-weighted mean loss so far.</param>
/// <param name="LearningRate">The rate this step used.</param>
/// <param name="GradientNorm">The gradients' global norm before clipping, or NaN when nothing is clipped.</param>
/// <param name="Seconds">Seconds since the epoch started (training only).</param>
public readonly record struct StepProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, long GlobalStep, int BatchSize,
    float Loss, double MeanLoss, float LearningRate, float GradientNorm, double Seconds);

/// <summary>Metrics of a model on a dataset (<see cref="Evaluation"/>), in evaluation mode.</summary>
public sealed class EvaluationResult
{
    /// <summary>Samples evaluated.</summary>
    public int Samples { get; init; }
    /// <summary>The sample-weighted mean loss, Σ_batches B · L_batch / n.</summary>
    public double Loss { get; init; }
    /// <summary>Correct / labels, for a classifier (the model's output rows are class scores); NaN otherwise.</summary>
    public double Accuracy { get; init; } = double.NaN;
    /// <summary>Counts of (actual, predicted) for a classifier; null otherwise.</summary>
    public ConfusionMatrix? Confusion { get; init; }
    /// <summary>Mean squared error over every output element, when the output has the target's size; NaN otherwise.</summary>
    public double MeanSquaredError { get; init; } = double.NaN;
    /// <summary>Mean absolute error over every output element, when the output has the target's size; NaN otherwise.</summary>
    public double MeanAbsoluteError { get; init; } = double.NaN;
    /// <summary>Seconds the evaluation took.</summary>
    public double Seconds { get; init; }
}

/// <summary>One epoch of a <see cref="Trainer{TTarget}"/>, as <see cref="Trainer{TTarget}.EpochCompleted"/> reports it.</summary>
public sealed class EpochResult
{
    /// <summary>The epoch, from 1.</summary>
    public int Epoch { get; init; }
    public int Epochs { get; init; }
    /// <summary>Optimizer steps in this epoch.</summary>
    public int Steps { get; init; }
    /// <summary>Training samples in this epoch.</summary>
    public long Samples { get; init; }
    /// <summary>The sample-weighted mean training loss, Σ_batches B · L_batch / n (training mode).</summary>
    public double TrainingLoss { get; init; }
    /// <summary>The rate of the epoch's last step.</summary>
    public float LearningRate { get; init; }
    /// <summary>Mean and largest gradient norm before clipping over the epoch's steps (NaN when nothing is clipped).</summary>
    public double GradientNormMean { get; init; } = double.NaN;
    public double GradientNormMax { get; init; } = double.NaN;
    /// <summary>Seconds of training (validation excluded).</summary>
    public double Seconds { get; init; }
    /// <summary>The validation set's metrics, or null without one.</summary>
    public EvaluationResult? Validation { get; init; }
    /// <summary>The monitored metric's value (<see cref="TrainerOptions.Monitor"/>).</summary>
    public double Monitored { get; init; }
    /// <summary>This epoch improved the monitored metric (it is the best so far).</summary>
    public bool IsBest { get; init; }
}

/// <summary>What <see cref="Trainer{TTarget}.Fit"/> did: the epochs it ran, the best one, and why it stopped.</summary>
public sealed class TrainingHistory
{
    internal TrainingHistory(IReadOnlyList<EpochResult> epochs, int bestEpoch, double bestValue, StopReason stop)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        BestValue = bestValue;
        StopReason = stop;
    }

    /// <summary>The epochs this call ran, in order.</summary>
    public IReadOnlyList<EpochResult> Epochs { get; }
    /// <summary>The best epoch of the run so far (resumed runs included), from 1; 0 before any.</summary>
    public int BestEpoch { get; }
    /// <summary>The monitored metric at <see cref="BestEpoch"/>.</summary>
    public double BestValue { get; }
    public StopReason StopReason { get; }
}
