namespace Dl.Training;

/// <summary>When a <see cref="Trainer{TTarget}"/> advances its learning-rate schedule.</summary>
public enum ScheduleUnit
{
    /// <summary>Before every optimizer step: η = schedule.At(global step), the step counted from 0 over the whole run.</summary>
    Step,
    /// <summary>At the start of every epoch: η = schedule.At(epoch), the epoch counted from 0.</summary>
    Epoch,
}

/// <summary>The quantity early stopping and the best checkpoint watch.</summary>
public enum MonitorMetric
{
    /// <summary>The validation loss when there is a validation set, else the training loss.</summary>
    Auto,
    /// <summary>The mean loss over the validation set (evaluation mode); lower is better.</summary>
    ValidationLoss,
    /// <summary>The validation accuracy of a classifier; higher is better.</summary>
    ValidationAccuracy,
    /// <summary>The epoch's mean training loss; lower is better.</summary>
    TrainingLoss,
}

/// <summary>Why <see cref="Trainer{TTarget}.Fit"/> returned.</summary>
public enum StopReason
{
    /// <summary>All <see cref="TrainerOptions.Epochs"/> epochs ran.</summary>
    Completed,
    /// <summary>The monitored metric did not improve for <see cref="TrainerOptions.Patience"/> epochs.</summary>
    EarlyStopping,
    /// <summary><see cref="Trainer{TTarget}.RequestStop"/> was called (the loader keeps its place: the run can go on).</summary>
    Requested,
}

/// <summary>Settings of a <see cref="Trainer{TTarget}"/>. Every setting has a default that trains plainly: no schedule,
/// no clipping, no early stopping, no checkpoints.</summary>
public sealed record TrainerOptions
{
    /// <summary>Epochs of the whole run (a resumed run counts the epochs done before it).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>The learning rate per <see cref="ScheduleUnit"/>; null keeps the optimizer's rate.</summary>
    public ILearningRateSchedule? Schedule { get; init; }

    /// <summary>When <see cref="Schedule"/> ticks (default: before every step).</summary>
    public ScheduleUnit ScheduleUnit { get; init; } = ScheduleUnit.Step;

    /// <summary>Scale the gradients to a global norm of at most this before each update (PyTorch's
    /// <c>clip_grad_norm_</c>; <see cref="Clipped"/>); 0 turns it off. The norm before clipping is reported per step and
    /// per epoch.</summary>
    public float ClipNorm { get; init; }

    /// <summary>Clamp every gradient to [−v, v] before each update (<c>clip_grad_value_</c>); 0 turns it off.</summary>
    public float ClipValue { get; init; }

    /// <summary>Refuse NaN or infinite gradients (<see cref="FiniteGradients"/>): the step throws and changes nothing.</summary>
    public bool CheckGradients { get; init; }

    /// <summary>For a model with float targets trained on labels: the one-hot targets are smoothed to
    /// (1 − s) · onehot + s / classes (PyTorch's <c>label_smoothing</c>); 0 is plain one-hot.</summary>
    public float LabelSmoothing { get; init; }

    /// <summary>What early stopping and the best checkpoint watch.</summary>
    public MonitorMetric Monitor { get; init; } = MonitorMetric.Auto;

    /// <summary>Stop when the monitored metric has not improved by more than <see cref="MinDelta"/> for this many epochs
    /// in a row; null never stops early.</summary>
    public int? Patience { get; init; }

    /// <summary>The least change that counts as an improvement of the monitored metric.</summary>
    public double MinDelta { get; init; }

    /// <summary>Where to keep the best epoch's training checkpoint (by <see cref="Monitor"/>), rewritten atomically at
    /// every improvement; null keeps none.</summary>
    public string? BestCheckpointPath { get; init; }

    /// <summary>Where to write a training checkpoint after every epoch (to resume from); null writes none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Entries added to the <c>__metadata__</c> of every checkpoint the trainer writes (the caller's settings, e.g.
    /// the model's seed, which dropout masks are keyed by and a resumed run must build its model with). Keys starting with
    /// <c>dl.</c> are the library's.</summary>
    public IReadOnlyDictionary<string, string>? CheckpointMetadata { get; init; }

    /// <summary>Samples per forward pass when evaluating; null uses the loader's batch size (at most the model's
    /// <see cref="IModel.MaxBatch"/>).</summary>
    public int? EvaluationBatch { get; init; }

    /// <summary>Makes this trainer one rank of a data-parallel run (e.g. Dl.Distributed's MPI implementation); null trains
    /// in this process alone. See <see cref="IDataParallel"/> for what changes.</summary>
    public IDataParallel? DataParallel { get; init; }
}
