using System.Diagnostics;
using Dl.Data;

namespace Dl.Training;

/// <summary>
/// The epoch loop over a <see cref="DataLoader"/>, for any generated model (or <see cref="Dynamic.DynamicModel"/>)
/// through <see cref="ITrainableModel{TTarget}"/>: <typeparamref name="TTarget"/> is <c>int</c> for a model whose loss
/// takes labels, <c>float</c> for one whose loss takes tensors (regression, autoencoders, or one-hot rows built from
/// labels, optionally smoothed).
/// </summary>
/// <remarks>
/// <para>Each epoch: the model in training mode; for every batch, the learning rate from the schedule (per step, or once
/// per epoch), one <see cref="ITrainableModel{TTarget}.TrainStep"/> through the optimizer (wrapped in
/// <see cref="Clipped"/> and <see cref="FiniteGradients"/> as the options ask), and <see cref="StepCompleted"/>; then the
/// validation set in evaluation mode (<see cref="Evaluation"/>), the monitored metric, the checkpoints, early stopping
/// and <see cref="EpochCompleted"/>. The loop does what a hand-written loop over the same loader does, in the same order,
/// so it trains to the same weights bit for bit, and a step allocates nothing.</para>
/// <para><see cref="SaveCheckpoint"/> and <see cref="LoadCheckpoint"/> keep everything the rest of the run depends on
/// (<see cref="Checkpoints.TrainingCheckpoint"/>): a run resumed from a checkpoint, in another process, continues
/// exactly as if it had not stopped. Checkpoints can be taken between epochs or inside one (from a
/// <see cref="StepCompleted"/> handler).</para>
/// <para>One trainer, model, optimizer and loader belong together and to one thread.</para>
/// <para>With <see cref="TrainerOptions.DataParallel"/> the run is one rank of a data-parallel job: each global batch is
/// split into per-rank shards, the gradients are averaged over the ranks before every update, rank 0 alone evaluates
/// and writes checkpoints, and the reported losses are the global batch's (<see cref="IDataParallel"/>).</para>
/// </remarks>
/// <example><code>
/// var model = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 64 });
/// var loader = new DataLoader(train, batchSize: 64, seed: 1);
/// var trainer = new Trainer&lt;int&gt;(model, new Adam(1e-3f), loader, validation: test, new TrainerOptions
/// {
///     Epochs = 10,
///     Schedule = new WarmupCosine(peak: 1e-3f, warmupSteps: loader.BatchesPerEpoch, totalSteps: 10L * loader.BatchesPerEpoch),
///     BestCheckpointPath = "best.safetensors",
/// });
/// trainer.EpochCompleted += e =&gt; Console.WriteLine($"epoch {e.Epoch}: loss {e.TrainingLoss:0.000}, accuracy {e.Validation!.Accuracy:P2}");
/// TrainingHistory history = trainer.Fit();
/// </code></example>
public sealed class Trainer<TTarget> where TTarget : unmanaged
{
    private readonly TargetAdapter<TTarget> _targets;
    private readonly Evaluator<TTarget>? _validator;
    private readonly Clipped? _clipped;
    private readonly IOptimizer _step;
    private readonly IDataParallel? _parallel;
    private readonly ReducedGradients? _reduced;
    private bool _parallelStarted;
    private bool _stopRequested;
    // The epoch in progress (restored by LoadCheckpoint when a checkpoint was taken inside an epoch).
    private double _lossSum, _normSum, _normMax;
    private long _samples;
    private int _steps;
    private double _seconds;

    /// <param name="model">The model to train (its <see cref="IModel.MaxBatch"/> must hold the loader's batches).</param>
    /// <param name="optimizer">The optimizer; its state is part of every checkpoint.</param>
    /// <param name="train">The training batches: its epoch and position are the run's place in the data.</param>
    /// <param name="validation">Evaluated after every epoch, or null.</param>
    /// <param name="options">The settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">The data does not fit the model; the message names both.</exception>
    public Trainer(ITrainableModel<TTarget> model, Optimizer optimizer, DataLoader train, Dataset? validation = null, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        Options = options ?? new TrainerOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Options.Epochs, "options.Epochs");
        if (Options.Patience is < 1)
            throw new ArgumentOutOfRangeException("options.Patience", Options.Patience, "Patience must be at least 1 epoch (null: no early stopping).");
        if (train.BatchSize > model.MaxBatch)
            throw new ArgumentException(
                $"The loader's batches of {train.BatchSize} do not fit model {model.Description.Name}, built for at most {model.MaxBatch} (ModelOptions.MaxBatch).", nameof(train));
        if (train.BatchesPerEpoch == 0)
            throw new ArgumentException($"The training loader has no batches ({train.Data.Count} samples, batch {train.BatchSize}, dropLast {train.DropLast}).", nameof(train));
        Model = model;
        Optimizer = optimizer;
        Loader = train;
        Validation = validation;
        _targets = new TargetAdapter<TTarget>(model.Description, train.Data, train.BatchSize, Options.LabelSmoothing);
        if (validation is not null)
        {
            if (validation.HasLabels != train.Data.HasLabels)
                throw new ArgumentException("The validation set must have labels when the training set has, float targets when it has.", nameof(validation));
            _validator = new Evaluator<TTarget>(model, validation, Options.EvaluationBatch ?? train.BatchSize, Options.LabelSmoothing);
        }
        Monitor = Options.Monitor switch
        {
            MonitorMetric.Auto => validation is null ? MonitorMetric.TrainingLoss : MonitorMetric.ValidationLoss,
            MonitorMetric.ValidationLoss or MonitorMetric.ValidationAccuracy when validation is null =>
                throw new ArgumentException($"Monitoring {Options.Monitor} needs a validation set.", nameof(options)),
            MonitorMetric.ValidationAccuracy when !train.Data.HasLabels =>
                throw new ArgumentException("Monitoring ValidationAccuracy needs a classifier's dataset (labels).", nameof(options)),
            _ => Options.Monitor,
        };
        BestValue = HigherIsBetter ? double.NegativeInfinity : double.PositiveInfinity;
        IOptimizer step = optimizer;
        if (Options.ClipNorm > 0 || Options.ClipValue > 0) step = _clipped = new Clipped(step, Options.ClipNorm, Options.ClipValue);
        if (Options.CheckGradients) step = new FiniteGradients(step);
        if (Options.DataParallel is { } parallel)
        {
            _parallel = parallel;
            // Outermost: clipping and the finiteness check see the global batch's gradients.
            step = _reduced = new ReducedGradients(parallel, model, step);
            if (parallel.Rank != 0) _validator = null;
        }
        _step = step;
        if (Options.CheckpointPath is { } last) Checkpoints.Safetensors.CheckSavePath(last);
        if (Options.BestCheckpointPath is { } best) Checkpoints.Safetensors.CheckSavePath(best);
    }

    public ITrainableModel<TTarget> Model { get; }
    public Optimizer Optimizer { get; }
    public DataLoader Loader { get; }
    public Dataset? Validation { get; }
    public TrainerOptions Options { get; }
    /// <summary>The metric early stopping and the best checkpoint watch (<see cref="MonitorMetric.Auto"/> resolved).</summary>
    public MonitorMetric Monitor { get; }

    /// <summary>Epochs completed so far (a resumed run counts the epochs before it).</summary>
    public int Epoch { get; private set; }
    /// <summary>Optimizer steps taken so far over the whole run: the position in a per-step schedule.</summary>
    public long GlobalStep { get; private set; }
    /// <summary>The best value of the monitored metric so far (±∞ before the first epoch).</summary>
    public double BestValue { get; private set; }
    /// <summary>The epoch that reached <see cref="BestValue"/>, from 1; 0 before any.</summary>
    public int BestEpoch { get; private set; }
    /// <summary>Epochs in a row without an improvement of the monitored metric.</summary>
    public int EpochsWithoutImprovement { get; private set; }
    /// <summary>Steps a whole run takes: <see cref="TrainerOptions.Epochs"/> × the loader's batches per epoch (the
    /// horizon of a per-step schedule such as <see cref="WarmupCosine"/> or <see cref="OneCycle"/>).</summary>
    public long TotalSteps => (long)Options.Epochs * Loader.BatchesPerEpoch;

    /// <summary>Raised after every optimizer step, on the training thread; the argument is a value (nothing is allocated).</summary>
    public event Action<StepProgress>? StepCompleted;
    /// <summary>Raised after every epoch (validation, checkpoints and early stopping done).</summary>
    public event Action<EpochResult>? EpochCompleted;

    private bool HigherIsBetter => Monitor == MonitorMetric.ValidationAccuracy;

    /// <summary>True unless this is a rank other than 0 of a data-parallel run (<see cref="TrainerOptions.DataParallel"/>):
    /// the rank that evaluates, writes checkpoints and should print.</summary>
    public bool IsLeader => _parallel is null || _parallel.Rank == 0;

    /// <summary>Asks the run to stop after the step in progress (from an event handler or another thread): <see cref="Fit"/>
    /// and <see cref="TrainEpoch"/> return, and the loader keeps its place, so a checkpoint taken then resumes mid-epoch.</summary>
    public void RequestStop() => Volatile.Write(ref _stopRequested, true);

    /// <summary>Trains until <see cref="TrainerOptions.Epochs"/> epochs are done, early stopping fires, or a stop is
    /// requested. A resumed trainer goes on from its checkpoint.</summary>
    public TrainingHistory Fit()
    {
        Volatile.Write(ref _stopRequested, false);
        var epochs = new List<EpochResult>();
        StopReason reason = StopReason.Completed;
        while (Epoch < Options.Epochs)
        {
            EpochResult? result = RunEpoch();
            if (result is not null) epochs.Add(result);
            if (Volatile.Read(ref _stopRequested))
            {
                reason = StopReason.Requested;
                break;
            }
            if (Options.Patience is int patience && EpochsWithoutImprovement >= patience)
            {
                reason = StopReason.EarlyStopping;
                break;
            }
        }
        return new TrainingHistory(epochs, BestEpoch, BestValue, reason);
    }

    /// <summary>Trains one epoch (the rest of it, when resumed inside one), evaluates, keeps the checkpoints and raises
    /// <see cref="EpochCompleted"/>. Returns null when a stop was requested before the epoch's last step.</summary>
    public EpochResult? TrainEpoch()
    {
        Volatile.Write(ref _stopRequested, false);
        return RunEpoch();
    }

    private EpochResult? RunEpoch()
    {
        ITrainableModel<TTarget> model = Model;
        model.Training = true;
        int epoch = Epoch, stepsPerEpoch = Loader.BatchesPerEpoch;
        if (Options.Schedule is { } perEpoch && Options.ScheduleUnit == ScheduleUnit.Epoch) perEpoch.Apply(Optimizer, epoch);
        ILearningRateSchedule? perStep = Options.ScheduleUnit == ScheduleUnit.Step ? Options.Schedule : null;
        if (_parallel is not null && !_parallelStarted)
        {
            _parallel.Start(model, DescribeSettings());
            _parallelStarted = true;
        }
        long start = Stopwatch.GetTimestamp();
        double secondsBefore = _seconds;
        while (Loader.NextBatch(out DataLoader.Batch batch))
        {
            if (perStep is not null) Optimizer.LearningRate = perStep.At(GlobalStep);
            float rate = Optimizer.LearningRate;
            float loss = _parallel is null
                ? model.TrainStep(batch.X, _targets.Targets(batch.Y, batch.Targets), batch.Size, _step)
                : ParallelStep(model, batch.X, _targets.Targets(batch.Y, batch.Targets), batch.Size);
            GlobalStep++;
            _steps++;
            _samples += batch.Size;
            _lossSum += (double)loss * batch.Size;
            float norm = float.NaN;
            if (_clipped is not null)
            {
                norm = _clipped.LastNorm;
                _normSum += norm;
                _normMax = Math.Max(_normMax, norm);
            }
            _seconds = secondsBefore + Stopwatch.GetElapsedTime(start).TotalSeconds;
            StepCompleted?.Invoke(new StepProgress(epoch + 1, Options.Epochs, _steps, stepsPerEpoch, GlobalStep, batch.Size,
                loss, _lossSum / _samples, rate, norm, _seconds));
            if (Volatile.Read(ref _stopRequested) && Loader.Position < Loader.SamplesPerEpoch) return null;
        }
        // The loop above ended the loader's epoch (Loader.Epoch is now epoch + 1).
        double trainingLoss = _samples == 0 ? double.NaN : _lossSum / _samples;
        if (!double.IsFinite(trainingLoss))
            throw new ArithmeticException($"Training diverged in epoch {epoch + 1}: the mean loss is {trainingLoss}. Try a smaller learning rate.");
        EvaluationResult? validation = _validator?.Run(Validation!);
        double monitored = Monitor switch
        {
            MonitorMetric.ValidationLoss => validation?.Loss ?? double.NaN,
            MonitorMetric.ValidationAccuracy => validation?.Accuracy ?? double.NaN,
            _ => trainingLoss,
        };
        // Rank 0 evaluated alone: every rank takes its metric, so early stopping stops them together.
        if (_parallel is not null) monitored = _parallel.FromLeader(monitored);
        bool improved = HigherIsBetter ? monitored > BestValue + Options.MinDelta : monitored < BestValue - Options.MinDelta;
        var result = new EpochResult
        {
            Epoch = epoch + 1,
            Epochs = Options.Epochs,
            Steps = _steps,
            Samples = _samples,
            TrainingLoss = trainingLoss,
            LearningRate = Optimizer.LearningRate,
            GradientNormMean = _clipped is null || _steps == 0 ? double.NaN : _normSum / _steps,
            GradientNormMax = _clipped is null || _steps == 0 ? double.NaN : _normMax,
            Seconds = _seconds,
            Validation = validation,
            Monitored = monitored,
            IsBest = improved,
        };
        Epoch = epoch + 1;
        ClearEpochSums();
        if (improved)
        {
            BestValue = monitored;
            BestEpoch = Epoch;
            EpochsWithoutImprovement = 0;
        }
        else EpochsWithoutImprovement++;
        if (improved && Options.BestCheckpointPath is { } best) SaveCheckpoint(best);
        if (Options.CheckpointPath is { } last) SaveCheckpoint(last);
        EpochCompleted?.Invoke(result);
        return result;
    }

    // One step of a data-parallel run: this rank's shard of the global batch, the reduction inside the optimizer step,
    // and the global batch's mean loss (Σ_r n_r·L_r / B). See IDataParallel for the shard rule and the dropout keys.
    private float ParallelStep(ITrainableModel<TTarget> model, ReadOnlySpan<float> x, ReadOnlySpan<TTarget> targets, int batch)
    {
        IDataParallel parallel = _parallel!;
        int ranks = parallel.Ranks, rank = parallel.Rank;
        int first = (int)((long)rank * batch / ranks), end = (int)((long)(rank + 1) * batch / ranks), count = end - first;
        int inputs = x.Length / batch, targetsPerSample = targets.Length / batch;
        _reduced!.LocalSamples = count;
        _reduced.GlobalSamples = batch;
        long dropoutStep = model.DropoutStep;
        model.DropoutStep = dropoutStep * ranks + rank;
        float loss;
        try
        {
            if (count > 0)
                loss = model.TrainStep(x.Slice(first * inputs, count * inputs), targets.Slice(first * targetsPerSample, count * targetsPerSample), count, _step);
            else
            {
                // No samples here (a batch smaller than the ranks): contribute zero gradients to the same collective step.
                model.Gradients.Clear();
                _step.Step(model.Parameters, model.Gradients);
                loss = 0;
            }
        }
        finally
        {
            model.DropoutStep = dropoutStep + 1;
        }
        return (float)(parallel.Sum((double)loss * count) / batch);
    }

    // What must be equal on every rank of a data-parallel run (Start refuses ranks that differ).
    private string DescribeSettings()
    {
        ModelDescription d = Model.Description;
        var text = new System.Text.StringBuilder();
        text.Append("model ").Append(d.Name).Append(", parameters ");
        foreach (ParameterInfo p in d.Parameters) text.Append(p.Name).Append(p.ShapeText).Append(' ');
        text.Append(", state ").Append(d.StateCount)
            .Append(", optimizer ").Append(Optimizer.GetType().Name).Append(" lr ").Append(Optimizer.LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture))
            .Append(", data ").Append(Loader.Data.Count).Append('x').Append(Loader.Data.Features)
            .Append(", batch ").Append(Loader.BatchSize).Append(Loader.Shuffle ? " shuffled" : "").Append(Loader.DropLast ? " dropLast" : "")
            .Append(", epochs ").Append(Options.Epochs).Append(", clip ").Append(Options.ClipNorm).Append('/').Append(Options.ClipValue)
            .Append(", schedule ").Append(Options.Schedule?.GetType().Name ?? "none").Append(' ').Append(Options.ScheduleUnit)
            .Append(", smoothing ").Append(Options.LabelSmoothing).Append(", monitor ").Append(Options.Monitor).Append(", patience ").Append(Options.Patience);
        return text.ToString();
    }

    /// <summary>Evaluates the model on <paramref name="data"/> (evaluation mode; nothing the run depends on changes).</summary>
    public EvaluationResult Evaluate(Dataset data) =>
        Evaluation.Evaluate(Model, data, Options.EvaluationBatch ?? Loader.BatchSize, Options.LabelSmoothing);

    private void ClearEpochSums()
    {
        _lossSum = _normSum = _normMax = _seconds = 0;
        _samples = 0;
        _steps = 0;
    }

    /// <summary>Writes a training checkpoint (<see cref="Checkpoints.TrainingCheckpoint"/>) of the run as it is now:
    /// between epochs, or inside one from a <see cref="StepCompleted"/> handler. Atomic. In a data-parallel run only rank 0
    /// writes (the ranks are identical); on the others this does nothing.</summary>
    public void SaveCheckpoint(string path)
    {
        if (!IsLeader) return;
        var run = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Options.CheckpointMetadata is { } extra)
        {
            foreach (KeyValuePair<string, string> kv in extra)
            {
                if (kv.Key.StartsWith("dl.", StringComparison.Ordinal))
                    throw new ArgumentException($"Checkpoint metadata key '{kv.Key}': keys starting with 'dl.' are the library's.", "options.CheckpointMetadata");
                run[kv.Key] = kv.Value;
            }
        }
        TrainerCheckpoint.Write(run, this);
        Checkpoints.TrainingCheckpoint.Save(path, Model, Optimizer, run);
    }

    /// <summary>Resumes from a checkpoint written by <see cref="SaveCheckpoint"/>: the model's parameters, state and
    /// dropout step, the optimizer's state, the loader's epoch and position, the schedule's position, the best metric
    /// and early stopping's count, and the sums of an epoch in progress. The trainer must be built like the one that
    /// saved (same model, optimizer type and settings, data, batch size and options); what can be checked is.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint of this model, optimizer or run; the message
    /// names the file and both sides. Nothing was changed.</exception>
    public void LoadCheckpoint(string path)
    {
        IReadOnlyDictionary<string, string> metadata = Checkpoints.TrainingCheckpoint.ReadMetadata(path);
        TrainerCheckpoint.State state = TrainerCheckpoint.Read(metadata, path, this);
        Checkpoints.TrainingCheckpoint.Load(path, Model, Optimizer);
        Epoch = state.Epoch;
        GlobalStep = state.GlobalStep;
        BestValue = state.BestValue;
        BestEpoch = state.BestEpoch;
        EpochsWithoutImprovement = state.EpochsWithoutImprovement;
        (_lossSum, _normSum, _normMax, _seconds, _samples, _steps) =
            (state.LossSum, state.NormSum, state.NormMax, state.Seconds, state.Samples, state.Steps);
        Loader.Seek(state.LoaderEpoch, state.LoaderPosition);
    }

    internal (double LossSum, double NormSum, double NormMax, double Seconds, long Samples, int Steps) EpochSums =>
        (_lossSum, _normSum, _normMax, _seconds, _samples, _steps);
}
