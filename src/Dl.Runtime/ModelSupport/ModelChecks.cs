using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>Input <paramref name="name"/> of a model with several inputs (a per-input call) whose length is not
    /// <paramref name="batch"/> × <paramref name="perSample"/>.</summary>
    [DoesNotReturn]
    public static void ThrowInputLength(string name, int length, int batch, int perSample) =>
        throw new ArgumentException($"input {name} has {length} values; expected batch x {perSample} = {batch * perSample}.", name);

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

    /// <summary>A non-finite loss found before the backward pass: nothing was changed.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteLoss(float loss) =>
        throw new ArithmeticException($"The loss is {loss}: {NonFinite} {Unchanged}");

    /// <summary>A non-finite loss found before a fused SGD step (which stores no gradients): nothing was changed.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteFusedLoss(float loss) =>
        throw new ArithmeticException($"The loss is {loss}: {NonFinite} {Unchanged}");

    /// <summary>A non-finite loss (summed: <paramref name="sum"/>) on the <paramref name="count"/> samples of a chunk
    /// starting at <paramref name="first"/>, found before the gradients are copied out: nothing was changed.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteChunkLoss(float sum, int first, int count) =>
        throw new ArithmeticException($"The loss is {sum / count} on samples {first}..{first + count - 1}: {NonFinite} {Unchanged}");

    /// <summary>Gradients that are not all finite (gradient <paramref name="index"/> is <paramref name="value"/>: an
    /// overflow in the backward pass), found by <see cref="FiniteGradients"/> before the inner optimizer's update.</summary>
    [DoesNotReturn]
    public static void ThrowNonFiniteGradients(int index, float value) =>
        throw new ArithmeticException(
            $"Gradient {index} is {value}: the gradients contain NaN or infinity (an overflow in the backward pass; lower the learning rate, " +
            "scale the inputs or clip the values that overflow). The optimizer did not update anything; in a model's TrainStep the parameters, " +
            "running statistics and DropoutStep are as before the call, and Gradients holds this batch's gradients.");

    /// <summary>What a failed training step leaves as it was.</summary>
    private const string Unchanged =
        "Nothing was changed: the parameters, gradients, optimizer state, running statistics and DropoutStep are as before the call.";

    /// <summary>Whether every value is finite (no NaN, no infinity): one vectorized pass over the exponent bits.</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        const int Exponent = 0x7F800000;   // all exponent bits set: infinity or NaN
        ref int v = ref Unsafe.As<float, int>(ref MemoryMarshal.GetReference(values));
        int n = values.Length, i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<int>.Count)
        {
            Vector256<int> mask = Vector256.Create(Exponent), a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 4 * Vector256<int>.Count; i += 4 * Vector256<int>.Count)
            {
                a0 |= Vector256.Equals(Vector256.LoadUnsafe(ref v, (nuint)i) & mask, mask);
                a1 |= Vector256.Equals(Vector256.LoadUnsafe(ref v, (nuint)(i + 8)) & mask, mask);
                a2 |= Vector256.Equals(Vector256.LoadUnsafe(ref v, (nuint)(i + 16)) & mask, mask);
                a3 |= Vector256.Equals(Vector256.LoadUnsafe(ref v, (nuint)(i + 24)) & mask, mask);
            }
            for (; i <= n - Vector256<int>.Count; i += Vector256<int>.Count)
                a0 |= Vector256.Equals(Vector256.LoadUnsafe(ref v, (nuint)i) & mask, mask);
            if ((a0 | a1 | a2 | a3) != Vector256<int>.Zero) return false;
        }
        for (; i < n; i++)
            if ((Unsafe.Add(ref v, i) & Exponent) == Exponent) return false;
        return true;
    }
}
