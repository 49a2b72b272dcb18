using System.Numerics;

namespace Dl.Dynamic;

/// <summary>
/// The ops of the dynamic tape: each entry point checks shapes, computes the forward value through the shared kernels
/// and, when a gradient may flow, records the node's vector-Jacobian rule. Called by <see cref="Ops"/> and by the
/// operators of <see cref="Tensor"/>; precision is the tape's (float or double).
/// </summary>
internal static partial class TapeOps
{
    // ================================================================================================================
    // Unary: y = f(x; a, b).  Backward: dx += f'(x) · dy.
    // ================================================================================================================

    public static Tensor Unary<TOp>(Tensor x, float a, float b = 0f) where TOp : struct, IUnaryOp
    {
        ArgumentNullException.ThrowIfNull(x);
        if (OpInfo<TOp>.ConstantsAreBounds && LayerRules.Bounds(a, b) is { } why)
            throw new ArgumentOutOfRangeException(nameof(a), $"{OpInfo<TOp>.Name}: {why}.");
        return x.Tape.IsDouble ? UnaryCore<TOp, double>(x, a, b) : UnaryCore<TOp, float>(x, a, b);
    }

    private static Tensor UnaryCore<TOp, T>(Tensor x, float a, float b) where TOp : struct, IUnaryOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor y = x.Tape.Node<T>(OpInfo<TOp>.Name, x.ShapeArray, x.Batched, x);
        y.ScalarA = a;
        y.ScalarB = b;
        TapeKernels.Unary<TOp, T>(x.Values<T>(), y.Values<T>(), a, b);
        if (y.RequiresGrad) y.BackwardRule = UnaryRules<TOp, T>.Backward;
        if (x.Tape.TraceAll) y.LocalRule = UnaryRules<TOp, T>.Local;
        return y;
    }

    private static class UnaryRules<TOp, T> where TOp : struct, IUnaryOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            if (!OpInfo<TOp>.Differentiable) throw OpInfo<TOp>.NotDifferentiable(y);
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            Span<T> dx = x.GradTarget<T>(out bool accumulate);
            TapeKernels.UnaryBackward<TOp, T>(x.Values<T>(), y.Values<T>(), y.Upstream<T>(), dx, y.ScalarA, y.ScalarB, accumulate);
        };

        // d y / d x element-wise: the op's Backward with dy = 1.
        public static readonly Func<Tensor, double[][]> Local = static y =>
        {
            ReadOnlySpan<T> x = y.In0!.Values<T>(), v = y.Values<T>();
            var local = new double[x.Length];
            T a = T.CreateTruncating(y.ScalarA), b = T.CreateTruncating(y.ScalarB);
            for (int i = 0; i < local.Length; i++) local[i] = double.CreateTruncating(TOp.Backward(x[i], v[i], T.One, a, b));
            return [local];
        };
    }

    // ================================================================================================================
    // Binary: y = f(a, b) with numpy broadcasting over the per-sample dims; an unbatched operand broadcasts over the
    // batch. Backward: da += sum_to(∂f/∂a · dy, shape of a), likewise b.
    // ================================================================================================================

    public static Tensor Binary<TOp>(Tensor a, Tensor b) where TOp : struct, IBinaryOp
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!ReferenceEquals(a.Tape, b.Tape))
            throw new ArgumentException($"{OpInfo<TOp>.Name}: the operands {a} and {b} belong to different models' tapes.");
        return a.Tape.IsDouble ? BinaryCore<TOp, double>(a, b) : BinaryCore<TOp, float>(a, b);
    }

    public static Tensor Binary<TOp>(Tensor a, float b) where TOp : struct, IBinaryOp
    {
        ArgumentNullException.ThrowIfNull(a);
        return Binary<TOp>(a, Constant(a.Tape, b));
    }

    public static Tensor Binary<TOp>(float a, Tensor b) where TOp : struct, IBinaryOp
    {
        ArgumentNullException.ThrowIfNull(b);
        return Binary<TOp>(Constant(b.Tape, a), b);
    }

    /// <summary>A float scalar as an unbatched constant tensor of shape [] (no gradient, except when tracing).</summary>
    internal static Tensor Constant(Tape tape, float value)
    {
        Tensor c;
        if (tape.IsDouble)
        {
            c = tape.Node<double>("const", [], batched: false);
            c.Values<double>()[0] = value;
        }
        else
        {
            c = tape.Node<float>("const", [], batched: false);
            c.Values<float>()[0] = value;
        }
        c.Kind = Tensor.NodeKind.Constant;
        c.ScalarA = value;
        c.RequiresGrad = tape.TraceAll;
        return c;
    }

    // How a binary node was computed (Arg0), which decides its backward form.
    private const int SameLayout = 0, PerSample = 1, ScalarB = 2, ScalarA = 3, Expanded = 4;

    private static Tensor BinaryCore<TOp, T>(Tensor a, Tensor b) where TOp : struct, IBinaryOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = a.Tape;
        bool sameShape = SameShape(a, b);
        int[] shape = sameShape ? a.ShapeArray : BroadcastShape(OpInfo<TOp>.Name, a.ShapeArray, b.ShapeArray, tape);
        Tensor y = tape.Node<T>(OpInfo<TOp>.Name, shape, a.Batched || b.Batched, a, b);
        Span<T> yv = y.Values<T>();
        if (sameShape && a.Batched == b.Batched)
        {
            y.Arg0 = SameLayout;
            TapeKernels.Binary<TOp, T>(a.Values<T>(), b.Values<T>(), yv);
        }
        else if (sameShape)
        {
            // A parameter against a batch of the same per-sample shape: one kernel call per sample, no copies.
            y.Arg0 = PerSample;
            for (int s = 0; s < y.Samples; s++)
                TapeKernels.Binary<TOp, T>(a.SampleValues<T>(s), b.SampleValues<T>(s), y.SampleValues<T>(s));
        }
        else if (b.Length == 1 && a.Length == y.Length)
        {
            y.Arg0 = ScalarB;   // x ∘ c: the scalar driver
            TapeKernels.BinaryScalarB<TOp, T>(a.Values<T>(), b.Values<T>()[0], yv);
        }
        else if (a.Length == 1 && b.Length == y.Length)
        {
            y.Arg0 = ScalarA;
            TapeKernels.BinaryScalarA<TOp, T>(a.Values<T>()[0], b.Values<T>(), yv);
        }
        else
        {
            // General broadcast: materialize the smaller operand(s) at the output's full size, then one kernel call.
            y.Arg0 = Expanded;
            ReadOnlySpan<T> fa = ExpandedOperand<T>(a, y, ref y.Aux0);
            ReadOnlySpan<T> fb = ExpandedOperand<T>(b, y, ref y.Aux1);
            TapeKernels.Binary<TOp, T>(fa, fb, yv);
        }
        if (y.RequiresGrad) y.BackwardRule = BinaryRules<TOp, T>.Backward;
        if (tape.TraceAll) y.LocalRule = BinaryRules<TOp, T>.Local;
        return y;
    }

    private static bool SameShape(Tensor a, Tensor b) => a.ShapeArray.AsSpan().SequenceEqual(b.ShapeArray);

    /// <summary>The operand at the output's full size: itself when it already is, else a broadcast copy kept in
    /// <paramref name="saved"/> (for the backward pass).</summary>
    private static ReadOnlySpan<T> ExpandedOperand<T>(Tensor x, Tensor y, ref Array? saved) where T : unmanaged, INumberBase<T>
    {
        if (x.Length == y.Length) return x.Values<T>();
        if (saved is T[] done) return done;
        T[] full = y.Tape.Rent<T>(y.Length);
        Broadcasting.Expand<T>(x.Values<T>(), full, x, y);
        saved = full;
        return full;
    }

    private static class BinaryRules<TOp, T> where TOp : struct, IBinaryOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            if (!OpInfo<TOp>.Differentiable) throw OpInfo<TOp>.NotDifferentiable(y);
            Tensor a = y.In0!, b = y.In1!;
            ReadOnlySpan<T> dy = y.Upstream<T>(), v = y.Values<T>();
            switch (y.Arg0)
            {
                case SameLayout:
                {
                    bool accA = false, accB = false;
                    Span<T> da = a.RequiresGrad ? a.GradTarget<T>(out accA) : default;
                    Span<T> db = b.RequiresGrad ? b.GradTarget<T>(out accB) : default;
                    TapeKernels.BinaryBackward<TOp, T>(a.Values<T>(), b.Values<T>(), v, dy, da, accA, db, accB);
                    return;
                }
                case PerSample:
                {
                    // The unbatched operand's gradient sums over the batch (its first write overwrites).
                    bool accA = a.RequiresGrad && a.GradReady, accB = b.RequiresGrad && b.GradReady;
                    Span<T> da = a.RequiresGrad ? a.GradBuffer<T>() : default, db = b.RequiresGrad ? b.GradBuffer<T>() : default;
                    int n = y.SizeValue;
                    for (int s = 0; s < y.Samples; s++)
                    {
                        int ao = a.Batched ? s * n : 0, bo = b.Batched ? s * n : 0, yo = s * n;
                        TapeKernels.BinaryBackward<TOp, T>(a.SampleValues<T>(s), b.SampleValues<T>(s), v.Slice(yo, n), dy.Slice(yo, n),
                            da.IsEmpty ? default : da.Slice(ao, n), accA || (!a.Batched && s > 0),
                            db.IsEmpty ? default : db.Slice(bo, n), accB || (!b.Batched && s > 0));
                    }
                    if (a.RequiresGrad) a.GradReady = true;
                    if (b.RequiresGrad) b.GradReady = true;
                    return;
                }
                case ScalarB:
                    if (a.RequiresGrad)
                    {
                        Span<T> da = a.GradTarget<T>(out bool acc);
                        TapeKernels.BinaryScalarBBackward<TOp, T>(a.Values<T>(), b.Values<T>()[0], v, dy, da, acc);
                    }
                    if (b.RequiresGrad) Broadcast(y, a, b, v, dy, wantA: false, wantB: true);
                    return;
                case ScalarA:
                    if (b.RequiresGrad)
                    {
                        Span<T> db = b.GradTarget<T>(out bool acc);
                        TapeKernels.BinaryScalarABackward<TOp, T>(a.Values<T>()[0], b.Values<T>(), v, dy, db, acc);
                    }
                    if (a.RequiresGrad) Broadcast(y, a, b, v, dy, wantA: true, wantB: false);
                    return;
                default:
                    Broadcast(y, a, b, v, dy, a.RequiresGrad, b.RequiresGrad);
                    return;
            }
        };

        /// <summary>The general form: gradients at the output's full size, then sum_to each broadcast operand's shape.</summary>
        private static void Broadcast(Tensor y, Tensor a, Tensor b, ReadOnlySpan<T> v, ReadOnlySpan<T> dy, bool wantA, bool wantB)
        {
            Tape tape = y.Tape;
            ReadOnlySpan<T> fa = ExpandedOperand<T>(a, y, ref y.Aux0);
            ReadOnlySpan<T> fb = ExpandedOperand<T>(b, y, ref y.Aux1);
            Span<T> ga = default, gb = default;
            bool accA = false, accB = false;
            if (wantA) ga = a.Length == y.Length ? a.GradTarget<T>(out accA) : tape.Rent<T>(y.Length);
            if (wantB) gb = b.Length == y.Length ? b.GradTarget<T>(out accB) : tape.Rent<T>(y.Length);
            TapeKernels.BinaryBackward<TOp, T>(fa, fb, v, dy, ga, accA, gb, accB);
            if (wantA && a.Length != y.Length) Broadcasting.SumTo<T>(ga, a, y);
            if (wantB && b.Length != y.Length) Broadcasting.SumTo<T>(gb, b, y);
        }

        // ∂y/∂a and ∂y/∂b element-wise at the output's size: GradA / GradB with dy = 1.
        public static readonly Func<Tensor, double[][]> Local = static y =>
        {
            Tensor a = y.In0!, b = y.In1!;
            ReadOnlySpan<T> v = y.Values<T>();
            var la = new double[v.Length];
            var lb = new double[v.Length];
            T[] fa = new T[v.Length], fb = new T[v.Length];
            Broadcasting.Expand<T>(a.Values<T>(), fa, a, y);
            Broadcasting.Expand<T>(b.Values<T>(), fb, b, y);
            for (int i = 0; i < v.Length; i++)
            {
                la[i] = double.CreateTruncating(TOp.GradA(fa[i], fb[i], v[i], T.One));
                lb[i] = double.CreateTruncating(TOp.GradB(fa[i], fb[i], v[i], T.One));
            }
            return [la, lb];
        };
    }

    /// <summary>numpy's rule, right-aligned: two dims agree when equal or when one of them is 1.</summary>
    internal static int[] BroadcastShape(string op, int[] a, int[] b, Tape tape)
    {
        int rank = Math.Max(a.Length, b.Length);
        Span<int> shape = stackalloc int[rank];
        for (int i = 1; i <= rank; i++)
        {
            int da = i <= a.Length ? a[^i] : 1, db = i <= b.Length ? b[^i] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException(
                    $"{op}: shapes {Tensor.FormatShape(a)} and {Tensor.FormatShape(b)} do not broadcast " +
                    $"(axis {rank - i} from the left of the result: {da} vs {db}; dims must be equal or 1).");
            shape[rank - i] = da == 1 ? db : da;
        }
        return tape.Intern(shape);
    }
}
