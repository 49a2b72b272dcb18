using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;

namespace Dl;

/// <summary>
/// Argument validation of generated models: called by the code the model generator emits, not meant to be called
/// directly. A generated check stays one inline comparison; only when it fails does it call one of the throw helpers
/// here, which build the message.
/// </summary>
/// <remarks>Why here and not in every model: the messages are compiled once, with the runtime, instead of in every model
/// and every method that checks; an interpolated message lowers to a handler and one call per literal and per hole, 77
/// call sites per model that a consumer's compiler and analyzers went through on each build. Measured on a three-model
/// consumer, the trim analyzer's time (ILLink's DynamicallyAccessedMembersAnalyzer) did not change beyond noise: in a
/// synthetic file of 1000 checks it cost about the same with and without interpolated messages.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModelChecks
{
    private const string NonFinite = "the input, the targets or the parameters contain NaN or infinity, or training diverged (lower the learning rate).";

    /// <summary>Validates a generated model constructor's options (null, <see cref="ModelOptions.MaxBatch"/>,
    /// <see cref="ModelOptions.Threads"/>, <see cref="ModelOptions.ChunkSamples"/>). Every generated constructor starts
    /// here, so this is also where a process without vector acceleration gets its one warning
    /// (<see cref="Acceleration.WarnOnceIfScalar"/>).</summary>
    public static void Options([NotNull] ModelOptions? options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Acceleration.WarnOnceIfScalar();
        if (options.MaxBatch < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxBatch, "MaxBatch must be at least 1.");
        if (options.Threads < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "Threads must be at least 1.");
        if (options.ChunkSamples < 0) throw new ArgumentOutOfRangeException(nameof(options), options.ChunkSamples, "ChunkSamples must be null (automatic), 0 (off) or a positive number of samples.");
    }

    /// <summary>A batch outside 1..<paramref name="maxBatch"/>.</summary>
    [DoesNotReturn]
    public static void ThrowBatch(int batch, int maxBatch) =>
        throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be in 1..{maxBatch} (MaxBatch).");

    /// <summary>An input whose length is not <paramref name="batch"/> × <paramref name="perSample"/>.</summary>
    [DoesNotReturn]
    public static void ThrowInputLength(int length, int batch, int perSample) =>
        throw new ArgumentException($"input has {length} values; expected batch x {perSample} = {batch * perSample}.", "input");

    /// <summary>An output shorter than <paramref name="batch"/> × <paramref name="perSample"/>.</summary>
    [DoesNotReturn]
    public static void ThrowOutputLength(int length, int batch, int perSample) =>
        throw new ArgumentException($"output has room for {length} values; expected batch x {perSample} = {batch * perSample}.", "output");

    /// <summary>A label target whose length is not <paramref name="batch"/> × <paramref name="perSample"/> (one label per
    /// sample, or one per step of a <c>[Labels(n), Shape(T)]</c> target).</summary>
    [DoesNotReturn]
    public static void ThrowLabelCount(int length, int batch, int perSample) =>
        throw new ArgumentException(perSample == 1
            ? $"target has {length} labels; expected one per sample ({batch})."
            : $"target has {length} labels; expected {perSample} per sample (batch x {perSample} = {batch * perSample}).", "target");

    /// <summary>A value target whose length is not <paramref name="batch"/> × <paramref name="perSample"/>.</summary>
    [DoesNotReturn]
    public static void ThrowTargetLength(int length, int batch, int perSample) =>
        throw new ArgumentException($"target has {length} values; expected batch x {perSample} = {batch * perSample}.", "target");

    /// <summary>Label <paramref name="index"/> of the target (sample <c>index / perSample</c>, step
    /// <c>index % perSample</c>) is outside 0..<paramref name="classes"/> - 1.</summary>
    [DoesNotReturn]
    public static void ThrowLabel(int label, int classes, int index, int perSample) =>
        throw new ArgumentOutOfRangeException("target", label, perSample == 1
            ? $"label of sample {index} is {label}; expected a class in 0..{classes - 1}."
            : $"label {index % perSample} of sample {index / perSample} is {label}; expected a class in 0..{classes - 1}.");

    /// <summary>A non-finite loss found before the backward pass: gradients and parameters are unchanged.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteLoss(float loss) =>
        throw new ArithmeticException($"The loss is {loss}: {NonFinite} Gradients and parameters were not changed.");

    /// <summary>A non-finite loss found before a fused SGD step (which stores no gradients): parameters are unchanged.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteFusedLoss(float loss) =>
        throw new ArithmeticException($"The loss is {loss}: {NonFinite} Parameters were not changed.");

    /// <summary>A non-finite loss (summed: <paramref name="sum"/>) on the <paramref name="count"/> samples of a chunk
    /// starting at <paramref name="first"/>, found before the gradients are copied out: gradients and parameters are
    /// unchanged.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteChunkLoss(float sum, int first, int count) =>
        throw new ArithmeticException($"The loss is {sum / count} on samples {first}..{first + count - 1}: {NonFinite} Gradients and parameters were not changed.");
}
