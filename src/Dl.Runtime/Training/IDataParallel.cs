namespace Dl.Training;

/// <summary>
/// The extension point through which an outside component (e.g. Dl.Distributed on MPI) makes several processes train
/// one model together: <see cref="TrainerOptions.DataParallel"/>. The runtime itself has no transport; it only calls
/// these members at fixed points of the step, the same on every rank.
/// </summary>
/// <remarks>
/// <para>What the <see cref="Trainer{TTarget}"/> does with one: every rank runs the same loader (same data, batch size and
/// seed, so the same global batches in the same order); of each global batch of B samples rank r computes the contiguous
/// shard [⌊r·B/R⌋, ⌊(r+1)·B/R⌋) (sizes differ by at most one; a rank may get none when B &lt; R, e.g. the last
/// batch of an epoch). After the backward pass and before the update it calls <see cref="ReduceGradients"/>, which must
/// leave the global batch's mean gradient in <see cref="IModel.Gradients"/> on every rank, so the same update keeps the
/// ranks identical. Dropout masks differ per rank: a step runs with <see cref="IModel.DropoutStep"/> = s·R + r, then
/// DropoutStep is s + 1 on every rank. Rank 0 alone evaluates the validation set and writes checkpoints; the monitored
/// metric reaches the other ranks through <see cref="FromLeader"/>, so early stopping stops all ranks together.</para>
/// <para>Every member is a collective: all ranks call it, in the same order, from the training thread.</para>
/// </remarks>
public interface IDataParallel
{
    /// <summary>This process's rank, from 0. Rank 0 evaluates, saves and (by convention) prints.</summary>
    int Rank { get; }
    /// <summary>The number of ranks R.</summary>
    int Ranks { get; }

    /// <summary>Called once, before the first step: make every rank start from rank 0's parameters and state, and refuse
    /// (throw, on every rank) when the ranks' <paramref name="settings"/> differ, naming the first differing rank.</summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="settings">A description of the run (model, parameter layout, optimizer, batch size, options) that
    /// must be equal on every rank.</param>
    void Start(IModel model, string settings);

    /// <summary>Called after the backward pass and before the update. <see cref="IModel.Gradients"/> holds the mean over
    /// this rank's <paramref name="localSamples"/> (zeros when it has none); leave the mean over all
    /// <paramref name="globalSamples"/> there, identical on every rank: g = Σ_r n_r·g_r / N. The running statistics
    /// (<see cref="IModel.State"/>) may be made equal here too.</summary>
    void ReduceGradients(IModel model, int localSamples, int globalSamples);

    /// <summary>The sum of <paramref name="value"/> over the ranks (e.g. each shard's loss × samples).</summary>
    double Sum(double value);

    /// <summary>Rank 0's <paramref name="value"/>, on every rank.</summary>
    double FromLeader(double value);
}

/// <summary>The optimizer a data-parallel trainer passes to <c>TrainStep</c>: reduces the gradients across the ranks, then
/// runs the trainer's own step (clipping and the finiteness check see the global gradients).</summary>
internal sealed class ReducedGradients(IDataParallel parallel, IModel model, IOptimizer inner) : IOptimizer
{
    public int LocalSamples, GlobalSamples;

    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        // A model's TrainStep passes its own gradient block, which ReduceGradients rewrites in place.
        parallel.ReduceGradients(model, LocalSamples, GlobalSamples);
        inner.Step(parameters, gradients);
    }
}
