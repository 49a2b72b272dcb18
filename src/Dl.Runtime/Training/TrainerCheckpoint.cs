using System.Globalization;
using Dl.Checkpoints;

namespace Dl.Training;

/// <summary>A <see cref="Trainer{TTarget}"/>'s place in its run, as <c>__metadata__</c> entries of a
/// <see cref="TrainingCheckpoint"/>: epochs done, the global step (the schedule's position), the loader's epoch and
/// position, the best monitored value and early stopping's count, and the sums of an epoch in progress. Numbers are
/// written in invariant round-trip form, so they come back bit for bit.</summary>
internal static class TrainerCheckpoint
{
    private const string Prefix = "dl.trainer.";
    private const string EpochKey = Prefix + "epoch", StepKey = Prefix + "global_step", LoaderEpochKey = Prefix + "loader_epoch",
        LoaderPositionKey = Prefix + "loader_position", BatchKey = Prefix + "batch_size", SamplesKey = Prefix + "train_samples",
        TargetKey = Prefix + "target", MonitorKey = Prefix + "monitor", BestValueKey = Prefix + "best_value", BestEpochKey = Prefix + "best_epoch",
        StaleKey = Prefix + "epochs_without_improvement", LossSumKey = Prefix + "epoch_loss_sum", NormSumKey = Prefix + "epoch_norm_sum",
        NormMaxKey = Prefix + "epoch_norm_max", SecondsKey = Prefix + "epoch_seconds", EpochSamplesKey = Prefix + "epoch_samples",
        EpochStepsKey = Prefix + "epoch_steps";

    public readonly record struct State(int Epoch, long GlobalStep, int LoaderEpoch, int LoaderPosition, double BestValue, int BestEpoch,
        int EpochsWithoutImprovement, double LossSum, double NormSum, double NormMax, double Seconds, long Samples, int Steps);

    public static void Write<TTarget>(Dictionary<string, string> metadata, Trainer<TTarget> trainer) where TTarget : unmanaged
    {
        (double lossSum, double normSum, double normMax, double seconds, long samples, int steps) = trainer.EpochSums;
        metadata[EpochKey] = Text(trainer.Epoch);
        metadata[StepKey] = Text(trainer.GlobalStep);
        metadata[LoaderEpochKey] = Text(trainer.Loader.Epoch);
        metadata[LoaderPositionKey] = Text(trainer.Loader.Position);
        metadata[BatchKey] = Text(trainer.Loader.BatchSize);
        metadata[SamplesKey] = Text(trainer.Loader.Data.Count);
        metadata[TargetKey] = typeof(TTarget) == typeof(int) ? "int" : "float";
        metadata[MonitorKey] = trainer.Monitor.ToString();
        metadata[BestValueKey] = Text(trainer.BestValue);
        metadata[BestEpochKey] = Text(trainer.BestEpoch);
        metadata[StaleKey] = Text(trainer.EpochsWithoutImprovement);
        metadata[LossSumKey] = Text(lossSum);
        metadata[NormSumKey] = Text(normSum);
        metadata[NormMaxKey] = Text(normMax);
        metadata[SecondsKey] = Text(seconds);
        metadata[EpochSamplesKey] = Text(samples);
        metadata[EpochStepsKey] = Text(steps);
    }

    /// <summary>Reads and checks the entries against <paramref name="trainer"/> (before anything is restored).</summary>
    public static State Read<TTarget>(IReadOnlyDictionary<string, string> meta, string path, Trainer<TTarget> trainer) where TTarget : unmanaged
    {
        if (!meta.ContainsKey(EpochKey))
            throw new InvalidDataException($"Checkpoint '{path}': it was not written by a Trainer (no '{EpochKey}'); it cannot resume a run.");
        Check(meta, BatchKey, trainer.Loader.BatchSize, "the loader's batch size", path);
        Check(meta, SamplesKey, trainer.Loader.Data.Count, "the training samples", path);
        string target = typeof(TTarget) == typeof(int) ? "int" : "float";
        if (meta.TryGetValue(TargetKey, out string? saved) && saved != target)
            throw new InvalidDataException($"Checkpoint '{path}': the run trained with {saved} targets; this trainer takes {target}.");
        if (meta.TryGetValue(MonitorKey, out string? monitor) && monitor != trainer.Monitor.ToString())
            throw new InvalidDataException($"Checkpoint '{path}': the run monitored {monitor}; this trainer monitors {trainer.Monitor}.");
        var state = new State(
            Int(meta, EpochKey, path), Long(meta, StepKey, path), Int(meta, LoaderEpochKey, path), Int(meta, LoaderPositionKey, path),
            TrainingCheckpoint.ParseDouble(meta, BestValueKey, path), Int(meta, BestEpochKey, path), Int(meta, StaleKey, path),
            TrainingCheckpoint.ParseDouble(meta, LossSumKey, path), TrainingCheckpoint.ParseDouble(meta, NormSumKey, path),
            TrainingCheckpoint.ParseDouble(meta, NormMaxKey, path), TrainingCheckpoint.ParseDouble(meta, SecondsKey, path),
            Long(meta, EpochSamplesKey, path), Int(meta, EpochStepsKey, path));
        if (state.Epoch > trainer.Options.Epochs)
            throw new InvalidDataException($"Checkpoint '{path}': the run already trained {state.Epoch} epochs; this trainer's run has {trainer.Options.Epochs}.");
        return state;
    }

    private static void Check(IReadOnlyDictionary<string, string> meta, string key, long expected, string what, string path)
    {
        long saved = Long(meta, key, path);
        if (saved != expected)
            throw new InvalidDataException($"Checkpoint '{path}': the run had {saved} as {what}; this trainer has {expected}. Resume with the same data and settings.");
    }

    private static int Int(IReadOnlyDictionary<string, string> meta, string key, string path)
    {
        long value = Long(meta, key, path);
        return value <= int.MaxValue ? (int)value : throw new InvalidDataException($"Checkpoint '{path}': metadata '{key}' is {value}, too large.");
    }

    private static long Long(IReadOnlyDictionary<string, string> meta, string key, string path) => TrainingCheckpoint.ParseLong(meta, key, path);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
