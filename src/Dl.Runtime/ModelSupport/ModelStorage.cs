using System.ComponentModel;
using Dl.Kernels;

namespace Dl;

/// <summary>
/// The buffers of a generated model and the loops over them that every model had printed the same: allocation and
/// initialization in the constructor, a named parameter's span, the labels copied into the arena, the sum of the
/// per-sample losses. Called by the code the model generator emits, not meant to be called directly. Nothing here
/// allocates after construction, uses reflection, or holds state: each generated model keeps its own fields.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModelStorage
{
    /// <summary>A generated constructor's allocations, after validating <paramref name="options"/>
    /// (<see cref="ModelChecks.Options"/>): the parameters and their gradients, the batched activation arena for
    /// <see cref="ModelOptions.MaxBatch"/> samples and the fixed one (both pinned, with 64-byte aligned starts), and the
    /// matrix-product context for <see cref="ModelOptions.Threads"/>.</summary>
    public static void Allocate(ModelOptions options, int parameterTotal, int batchedPerSample, int fixedSize,
        out float[] parameters, out float[] gradients, out float[] arena, out int arenaStart, out float[] fixedArena, out int fixedStart,
        out GemmContext gemm)
    {
        ModelChecks.Options(options);
        parameters = new float[parameterTotal];
        gradients = new float[parameterTotal];
        arena = PinnedArena.Allocate(checked(batchedPerSample * options.MaxBatch), out arenaStart);
        fixedArena = PinnedArena.Allocate(fixedSize, out fixedStart);
        gemm = new GemmContext(options.Threads);
    }

    /// <summary>Fills every parameter and state tensor of <paramref name="description"/> from its initializer, with streams
    /// keyed by <paramref name="seed"/> and the tensor's name.</summary>
    public static void Initialize(ModelDescription description, float[] parameters, float[] state, ulong seed)
    {
        foreach (var p in description.Parameters) Initializers.Fill(parameters.AsSpan(p.Offset, p.Length), p, seed);
        foreach (var p in description.State) Initializers.Fill(state.AsSpan(p.Offset, p.Length), p, seed);
    }

    /// <summary>The named tensor's elements of <paramref name="values"/> (the parameters or their gradients).</summary>
    public static Span<float> Named(float[] values, ModelDescription description, string name)
    {
        var p = description.Find(name);
        return values.AsSpan(p.Offset, p.Length);
    }

    /// <summary>Validates the labels of a step (each in 0..<paramref name="classes"/>-1, else
    /// <see cref="ModelChecks.ThrowLabel"/> naming the sample) and writes them as floats where the loss reads them.</summary>
    public static void StageLabels(ReadOnlySpan<int> target, Span<float> labels, int classes, int perSample)
    {
        for (int i = 0; i < target.Length; i++)
        {
            int label = target[i];
            if ((uint)label >= (uint)classes) ModelChecks.ThrowLabel(label, classes, i, perSample);
            labels[i] = label;
        }
    }

    /// <summary>The per-sample losses added in sample order (the order every generated model used, so the mean loss keeps
    /// its bits).</summary>
    public static float Sum(ReadOnlySpan<float> losses)
    {
        float sum = 0f;
        for (int s = 0; s < losses.Length; s++) sum += losses[s];
        return sum;
    }
}
