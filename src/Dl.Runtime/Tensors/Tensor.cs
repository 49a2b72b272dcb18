using System.Numerics;
using System.Text;
using Dl.Dynamic;

namespace Dl;

/// <summary>
/// A value of a model, per sample. Under the generator a <see cref="Tensor"/> is only a symbol; on the dynamic tape
/// (<see cref="Dynamic.DynamicModel"/>) it holds data and is a node of the recorded graph: y = op(inputs), with the
/// vector-Jacobian product dL/dinput += J_op(input)ᵀ · dL/dy run by the backward pass.
/// </summary>
/// <remarks>
/// <para><see cref="Shape"/> excludes the batch: a batched tensor holds <see cref="Batch"/> samples of that shape,
/// row-major, sample after sample. Parameters and constants are unbatched and broadcast over the batch when they
/// meet batched values.</para>
/// <para>Tensors are created by the tape and recycled between runs of their model: read them while the run that
/// produced them is the model's latest one, and copy what you want to keep.</para>
/// </remarks>
public sealed partial class Tensor
{
    internal enum NodeKind : byte { Op, Input, Parameter, Constant }

    // ---- identity and shape -------------------------------------------------------------------------------------
    internal Tape Tape = null!;
    internal int Id;
    internal NodeKind Kind;
    internal string OpName = "";
    internal string? NameValue;
    /// <summary>The local variable of model code that this node was first assigned to (<see cref="Dynamic.DynamicContext.Named"/>).</summary>
    internal string? Local;
    internal int[] ShapeArray = [];
    internal int SizeValue;
    internal bool Batched;
    internal int Samples = 1;       // samples stored: the batch when batched, 1 otherwise
    internal int ClassCount;

    // ---- data and gradient (arrays of the tape's precision; parameters view the model's blocks) -----------------
    internal Array? DataArray;
    internal int DataOffset;
    internal Array? GradArray;
    internal int GradOffset;
    /// <summary>Whether the gradient buffer holds a value (otherwise the first contribution overwrites it).</summary>
    internal bool GradReady;
    internal bool RequiresGrad;

    // ---- the node record: inputs, backward rule and the constants of the op --------------------------------------
    internal Tensor? In0, In1, In2;
    internal Tensor[]? Inputs;      // all inputs of a node with more than three (concat, stack); the tape's pooled array

    /// <summary>How many inputs the node has.</summary>
    internal int InputCount => Inputs?.Length ?? (In2 is not null ? 3 : In1 is not null ? 2 : In0 is not null ? 1 : 0);

    /// <summary>Input <paramref name="i"/> (&lt; <see cref="InputCount"/>).</summary>
    internal Tensor Input(int i) => Inputs is { } all ? all[i] : (i == 0 ? In0 : i == 1 ? In1 : In2)!;
    internal Action<Tensor>? BackwardRule;
    /// <summary>Trace only: the element-wise local derivative of this node with respect to each input.</summary>
    internal Func<Tensor, double[][]>? LocalRule;
    internal float ScalarA, ScalarB;   // a unary op's constants (ScalarA: also a constant's value)
    internal int Arg0, Arg1, Arg2;
    internal bool Flag0, Flag1;
    /// <summary>A saved buffer of the op (loss scratch, broadcast operands), rented from the tape.</summary>
    internal Array? Aux0, Aux1;
    // A value a node reads but takes no gradient through, so not one of its inputs: an attention node's key mask, a
    // recurrent node's lengths. Kept for exporters (Dl.Onnx), which need every value the forward pass reads.
    internal Tensor? Side;
    /// <summary>The window geometry of a convolution or pooling node.</summary>
    internal Dl.Kernels.Window2d Window;

    internal Tensor() { }

    /// <summary>Per-sample dimensions (the batch is not included).</summary>
    public ReadOnlySpan<int> Shape => ShapeArray;

    /// <summary>Number of per-sample dimensions.</summary>
    public int Rank => ShapeArray.Length;

    /// <summary>Elements per sample.</summary>
    public int Size => SizeValue;

    /// <summary>The length of the last per-sample axis (1 for a per-sample scalar): a sequence [T, D] has D features. In
    /// model code it is a compile-time constant, as <see cref="Size"/> and <see cref="Rank"/> are.</summary>
    public int Features => ShapeArray.Length == 0 ? 1 : ShapeArray[^1];

    /// <summary>True for values that carry the batch (inputs and what is computed from them).</summary>
    public bool IsBatched => Batched;

    /// <summary>Samples held: the batch for a batched tensor, 1 for an unbatched one.</summary>
    public int Batch => Samples;

    /// <summary>Integer class labels (one value per sample, in [0, <see cref="Classes"/>)).</summary>
    public bool IsLabels => ClassCount > 0;

    /// <summary>The class count of a labels tensor, 0 otherwise.</summary>
    public int Classes => ClassCount;

    /// <summary>The op that produced this tensor (<c>input</c>, <c>param</c> and <c>const</c> for leaves).</summary>
    public string Op => OpName;

    /// <summary>The parameter's or input's name for those leaves, otherwise null.</summary>
    public string? Name => NameValue;

    /// <summary>The precision this tensor is computed in.</summary>
    public Precision Precision => Tape.Precision;

    /// <summary>Whether gradients flow into this tensor on the backward pass.</summary>
    public bool RequiresGradient => RequiresGrad;

    /// <summary>Number of elements stored: <see cref="Batch"/> · <see cref="Size"/>.</summary>
    internal int Length => Samples * SizeValue;

    /// <summary>The values (<see cref="Batch"/> samples of <see cref="Shape"/>), single precision.</summary>
    /// <exception cref="InvalidOperationException">The tensor is double precision.</exception>
    public ReadOnlySpan<float> Data => DataArray is float[] ? Values<float>() : throw WrongPrecision(nameof(DataDouble));

    /// <summary>The values, double precision.</summary>
    /// <exception cref="InvalidOperationException">The tensor is single precision.</exception>
    public ReadOnlySpan<double> DataDouble => DataArray is double[] ? Values<double>() : throw WrongPrecision(nameof(Data));

    /// <summary>dL/dthis after the backward pass, single precision; empty when no gradient reached this tensor.</summary>
    public ReadOnlySpan<float> Gradient => DataArray is float[] ? GradientOrEmpty<float>() : throw WrongPrecision(nameof(GradientDouble));

    /// <summary>dL/dthis after the backward pass, double precision; empty when no gradient reached this tensor.</summary>
    public ReadOnlySpan<double> GradientDouble => DataArray is double[] ? GradientOrEmpty<double>() : throw WrongPrecision(nameof(Gradient));

    /// <summary>The value of a one-element tensor (one sample of shape [] or [1]) in double precision.</summary>
    public double ToScalar()
    {
        if (Length != 1)
            throw new InvalidOperationException($"ToScalar() needs a single element, but tensor '{OpName}' {ShapeText} holds {Length} (batch {Samples}).");
        return DataArray is float[] ? Values<float>()[0] : Values<double>()[0];
    }

    /// <summary>The per-sample shape as text, e.g. <c>[2, 3]</c>.</summary>
    public string ShapeText => FormatShape(ShapeArray);

    /// <summary><c>op [shape]</c>, with the batch when batched: <c>relu [128] x32</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append('%').Append(Id).Append(' ').Append(OpName);
        if (NameValue is not null) text.Append(' ').Append(NameValue);
        text.Append(' ').Append(ShapeText);
        if (Batched) text.Append(" x").Append(Samples);
        if (IsLabels) text.Append(" labels(").Append(ClassCount).Append(')');
        return text.ToString();
    }

    internal static string FormatShape(ReadOnlySpan<int> shape)
    {
        var text = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(shape[i]);
        }
        return text.Append(']').ToString();
    }

    /// <summary>The data as a span of the tape's precision <typeparamref name="T"/>.</summary>
    internal Span<T> Values<T>() where T : unmanaged => new((T[])DataArray!, DataOffset, Length);

    /// <summary>The values of sample <paramref name="sample"/> (sample 0 for an unbatched tensor: it broadcasts).</summary>
    internal Span<T> SampleValues<T>(int sample) where T : unmanaged
        => new((T[])DataArray!, DataOffset + (Batched ? sample * SizeValue : 0), SizeValue);

    /// <summary>The gradient buffer (rented on first use; its content is meaningful only when <see cref="GradReady"/>).</summary>
    internal Span<T> GradBuffer<T>() where T : unmanaged
    {
        if (GradArray is null)
        {
            GradArray = Tape.Rent<T>(Length);
            GradOffset = 0;
        }
        return new Span<T>((T[])GradArray, GradOffset, Length);
    }

    /// <summary>The gradient to write into: <paramref name="accumulate"/> tells whether to add (a value is there) or
    /// overwrite (first contribution). The tensor is marked as holding a gradient.</summary>
    internal Span<T> GradTarget<T>(out bool accumulate) where T : unmanaged
    {
        Span<T> grad = GradBuffer<T>();
        accumulate = GradReady;
        GradReady = true;
        return grad;
    }

    /// <summary>The gradient, zeroed first if it holds nothing yet, for kernels that only accumulate.</summary>
    internal Span<T> GradAccumulator<T>() where T : unmanaged, INumberBase<T>
    {
        Span<T> grad = GradBuffer<T>();
        if (!GradReady)
        {
            grad.Clear();
            GradReady = true;
        }
        return grad;
    }

    /// <summary>The upstream gradient dL/dthis (read by backward rules).</summary>
    internal ReadOnlySpan<T> Upstream<T>() where T : unmanaged => new((T[])GradArray!, GradOffset, Length);

    private ReadOnlySpan<T> GradientOrEmpty<T>() where T : unmanaged
        => GradReady ? new ReadOnlySpan<T>((T[])GradArray!, GradOffset, Length) : default;

    private InvalidOperationException WrongPrecision(string other)
        => new($"Tensor '{OpName}' {ShapeText} is {(DataArray is float[] ? "single" : "double")} precision; read {other} instead.");

    /// <summary>Clears the node so the tape can reuse this object in its next run.</summary>
    internal void Reset()
    {
        Kind = NodeKind.Op;
        Side = null;
        OpName = "";
        NameValue = null;
        Local = null;
        ShapeArray = [];
        SizeValue = 0;
        Batched = false;
        Samples = 1;
        ClassCount = 0;
        DataArray = null;
        DataOffset = 0;
        GradArray = null;
        GradOffset = 0;
        GradReady = false;
        RequiresGrad = false;
        In0 = In1 = In2 = null;
        Inputs = null;
        BackwardRule = null;
        LocalRule = null;
        ScalarA = ScalarB = 0;
        Arg0 = Arg1 = Arg2 = 0;
        Flag0 = Flag1 = false;
        Aux0 = Aux1 = null;
    }
}
