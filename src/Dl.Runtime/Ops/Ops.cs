using Dl.Dynamic;

namespace Dl;

/// <summary>The ops a model is written in. Under the generator they are symbols read at compile time;
/// called directly (the dynamic tape) they execute and record. Shapes are per sample: the batch is implicit.
/// Element-wise ops live in one file each beside their struct (<c>Ops/ReluOp.cs</c>); the structural ops are here.</summary>
public static partial class Ops
{
    /// <summary>Matrix product over the last axis of <paramref name="a"/> and the first of <paramref name="b"/>:
    /// [K]·[K, N] = [N], [M, K]·[K, N] = [M, N]. Backward: dA = dC·Bᵀ, dB = Aᵀ·dC.</summary>
    [Op(OpKind.MatMul)]
    public static Tensor MatMul(Tensor a, Tensor b) => TapeOps.MatMul(a, b);

    /// <summary>Dense layer y = x·Wᵀ + b with parameters <c>{name}.weight</c> [out, in] and <c>{name}.bias</c> [out],
    /// applied to the last axis of <paramref name="x"/>.</summary>
    [Op(OpKind.Linear)]
    public static Tensor Linear(Tensor x, int outFeatures, string name, bool bias = true, Init init = Init.Default, bool shared = false)
        => TapeOps.Linear(x, outFeatures, name, bias, init, shared);

    /// <summary>Sum of all elements of a sample. Backward: broadcast dy.</summary>
    [Op(OpKind.Reduce)]
    public static Tensor Sum(Tensor x) => TapeOps.Reduce(x, axis: null, mean: false, squared: false);

    /// <summary>Sum along <paramref name="axis"/>. Axes are per sample: axis 0 is the first axis after the batch
    /// (PyTorch's dim 1: the batch is not counted), and a negative axis counts from the end (-1: the last axis, as in
    /// PyTorch). The axis is removed.</summary>
    [Op(OpKind.Reduce)]
    public static Tensor Sum(Tensor x, int axis) => TapeOps.Reduce(x, axis, mean: false, squared: false);

    /// <summary>Mean of all elements of a sample.</summary>
    [Op(OpKind.Reduce, Mean = true)]
    public static Tensor Mean(Tensor x) => TapeOps.Reduce(x, axis: null, mean: true, squared: false);

    /// <summary>Mean along <paramref name="axis"/> (per-sample axes, as <see cref="Sum(Tensor, int)"/>: the batch is not
    /// counted; negative counts from the end). The axis is removed.</summary>
    [Op(OpKind.Reduce, Mean = true)]
    public static Tensor Mean(Tensor x, int axis) => TapeOps.Reduce(x, axis, mean: true, squared: false);

    /// <summary>L2 penalty Σ w². Scale it yourself (λ/2 Σ w² has gradient λw, PyTorch's weight_decay).</summary>
    [Op(OpKind.Reduce, typeof(SquareOp))]
    public static Tensor L2Penalty(Tensor w) => TapeOps.Reduce(w, axis: null, mean: false, squared: true);

    /// <summary>Per-sample transpose of a matrix [M, N] -> [N, M].</summary>
    [Op(OpKind.Transpose)]
    public static Tensor Transpose(Tensor x) => TapeOps.Transpose(x);

    /// <summary>Per-sample reshape; the element count must not change. One dimension may be -1.</summary>
    /// <remarks>A params span: the dynamic tape's call allocates nothing.</remarks>
    [Op(OpKind.Reshape)]
    public static Tensor Reshape(Tensor x, params ReadOnlySpan<int> shape) => TapeOps.Reshape(x, shape);

    /// <summary>Elements <c>start .. start + length</c> along <paramref name="axis"/>.</summary>
    [Op(OpKind.Slice)]
    public static Tensor Slice(Tensor x, int axis, int start, int length) => TapeOps.Slice(x, axis, start, length, keepAxis: true);

    /// <summary>Concatenation along <paramref name="axis"/> (per-sample; negative counts from the end): PyTorch's
    /// <c>torch.cat([a, b], dim)</c> with dim = axis + 1 for a non-negative axis (the batch is not counted).</summary>
    [Op(OpKind.Concat)]
    public static Tensor Concat(Tensor a, Tensor b, int axis = -1) => TapeOps.Concat(a, b, axis);

    /// <summary>Concatenation of two or more parts along <paramref name="axis"/>: <c>Concat([a, b, c], axis: 0)</c> is
    /// PyTorch's <c>torch.cat([a, b, c], dim=1)</c> (axes are per sample; negative counts from the end). The parts agree on
    /// every other axis. Backward: each part takes back its slice of dy.</summary>
    /// <remarks>In model code the parts are listed where they are passed (a collection expression); on the tape a
    /// collection expression of tensors lives on the stack, so the call allocates nothing.</remarks>
    [Op(OpKind.Concat)]
    public static Tensor Concat(ReadOnlySpan<Tensor> parts, int axis = -1) => TapeOps.Concat(parts, axis, stack: false);

    /// <summary>Parts of one shape joined along a new <paramref name="axis"/> of the result: <c>Stack([a, b, c])</c> of
    /// parts [N] is [3, N] per sample, PyTorch's <c>torch.stack([a, b, c], dim=1)</c> (the batch is not counted; negative
    /// axes count from the end of the result, as torch.stack's). Backward: each part takes back its slice of dy.</summary>
    [Op(OpKind.Stack)]
    public static Tensor Stack(ReadOnlySpan<Tensor> parts, int axis = 0) => TapeOps.Concat(parts, axis, stack: true);

    /// <summary>Stop gradient (PyTorch's <c>x.detach()</c>): the same values, and no gradient flows back to
    /// <paramref name="x"/>. A parameter that reaches the loss only through <c>Detach</c> is not trained (its gradient is
    /// 0); the generated code computes no backward step through it and reads the input's buffer (no copy).</summary>
    [Op(OpKind.Detach)]
    public static Tensor Detach(Tensor x) => TapeOps.Detach(x);
}
