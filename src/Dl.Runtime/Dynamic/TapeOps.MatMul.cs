using System.Numerics;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // MatMul: C = A·B per sample. Backward (two matrix products, JAX's bilinear rule): dA += dC·Bᵀ, dB += Aᵀ·dC.
    // A batched A against an unbatched B is one GEMM with M = batch·rows; two batched operands multiply per sample.
    // ================================================================================================================

    public static Tensor MatMul(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!ReferenceEquals(a.Tape, b.Tape)) throw new ArgumentException($"matmul: the operands {a} and {b} belong to different models' tapes.");
        return a.Tape.IsDouble ? MatMulCore<double>(a, b) : MatMulCore<float>(a, b);
    }

    private static Tensor MatMulCore<T>(Tensor a, Tensor b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // [.., M, K]·[K, N] = [.., M, N]; [.., K]·[K, N] = [.., N]; a vector B ([K]) gives [.., M].
        if (a.Rank < 1 || b.Rank < 1 || b.Rank > 2)
            throw new ArgumentException($"matmul: expected A of rank >= 1 and B of rank 1 or 2 (per sample), got {a.ShapeText} and {b.ShapeText}.");
        int k = a.ShapeArray[^1];
        if (b.ShapeArray[0] != k)
            throw new ArgumentException($"matmul: inner dimensions differ: A {a.ShapeText} has {k} columns, B {b.ShapeText} has {b.ShapeArray[0]} rows.");
        int n = b.Rank == 2 ? b.ShapeArray[1] : 1;
        int m = a.SizeValue / k;
        Tape tape = a.Tape;
        Span<int> shape = stackalloc int[a.Rank];
        a.ShapeArray.AsSpan(0, a.Rank - 1).CopyTo(shape);
        if (b.Rank == 2) shape[^1] = n;
        else shape = shape[..^1];
        Tensor c = tape.Node<T>("matmul", tape.Intern(shape), a.Batched || b.Batched, a, b);
        c.Arg0 = m;
        c.Arg1 = n;
        c.Arg2 = k;
        GemmGeometry forward = MatMulGeometry.Forward(transB: false);
        if (!b.Batched)
            RunGemm<T>(forward, a.Values<T>(), b.Values<T>(), default, c.Values<T>(), a.Samples * m, k, n, false, tape.Gemm);
        else
            for (int s = 0; s < c.Samples; s++)
                RunGemm<T>(forward, a.SampleValues<T>(s), b.SampleValues<T>(s), default, c.SampleValues<T>(s), m, k, n, false, tape.Gemm);
        if (c.RequiresGrad) c.BackwardRule = MatMulRules<T>.Backward;
        return c;
    }

    private static class MatMulRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static c =>
        {
            Tensor a = c.In0!, b = c.In1!;
            int m = c.Arg0, n = c.Arg1, k = c.Arg2;
            Tape tape = c.Tape;
            ReadOnlySpan<T> dc = c.Upstream<T>();
            if (!b.Batched)
            {
                int rows = a.Samples * m;
                if (a.RequiresGrad)      // dA[rows, K] (+)= dC[rows, N] · Bᵀ (B stored [K, N])
                {
                    Span<T> da = a.GradTarget<T>(out bool acc);
                    RunGemm<T>(MatMulGeometry.GradA(transB: false), default, b.Values<T>(), dc, da, rows, k, n, acc, tape.Gemm);
                }
                if (b.RequiresGrad)      // dB[K, N] (+)= Aᵀ · dC (A stored [rows, K]); summing over the batch is the GEMM's k
                {
                    Span<T> db = b.GradTarget<T>(out bool acc);
                    RunGemm<T>(MatMulGeometry.GradB(transB: false), a.Values<T>(), default, dc, db, rows, k, n, acc, tape.Gemm);
                }
                return;
            }
            int cs = m * n;
            if (a.RequiresGrad)
            {
                Span<T> da = a.GradTarget<T>(out bool acc);
                for (int s = 0; s < c.Samples; s++)
                {
                    Span<T> das = a.Batched ? da.Slice(s * m * k, m * k) : da;
                    RunGemm<T>(MatMulGeometry.GradA(transB: false), default, b.SampleValues<T>(s), dc.Slice(s * cs, cs), das, m, k, n,
                        acc || (!a.Batched && s > 0), tape.Gemm);
                }
            }
            if (b.RequiresGrad)
            {
                Span<T> db = b.GradTarget<T>(out bool acc);
                for (int s = 0; s < c.Samples; s++)
                    RunGemm<T>(MatMulGeometry.GradB(transB: false), a.SampleValues<T>(s), default, dc.Slice(s * cs, cs), db.Slice(s * k * n, k * n),
                        m, k, n, acc, tape.Gemm);
            }
        };
    }

    // ================================================================================================================
    // Linear: y = x·Wᵀ + b over the last axis, W [out, in], b [out]. Backward: dx += dy·W, dW += dyᵀ·x, db += Σ_rows dy.
    // ================================================================================================================

    public static Tensor Linear(Tensor x, int outFeatures, string name, bool bias, Init init, bool shared = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, $"linear '{name}': outFeatures must be positive.");
        if (x.Rank < 1)
            throw new ArgumentException($"linear '{name}': the input must have at least one axis (features last), got {x.ShapeText}.");
        _ = init; // the initializer is part of the model description; the tape only reads the current values
        DynamicContext context = DynamicContext.Current;
        int inFeatures = x.ShapeArray[^1];
        // shared: the earlier call's parameter tensors, whose gradients then add up over the uses (LayerRules.Shared).
        (Tensor w, Tensor? b) = context.LinearParameters(name, bias, shared);
        if (shared && LayerRules.Shared(name, w.ShapeArray, [outFeatures, inFeatures]) is { } why)
            throw new ArgumentException($"linear '{name}': {why}.");
        if (w.Rank != 2 || w.ShapeArray[0] != outFeatures || w.ShapeArray[1] != inFeatures)
            throw new ArgumentException(
                $"linear '{name}': weight '{name}.weight' has shape {w.ShapeText} but an input {x.ShapeText} with {outFeatures} outputs needs [{outFeatures}, {inFeatures}].");
        if (b is not null)
        {
            if (b.Rank != 1 || b.ShapeArray[0] != outFeatures)
                throw new ArgumentException($"linear '{name}': bias '{name}.bias' has shape {b.ShapeText}, expected [{outFeatures}].");
        }
        return x.Tape.IsDouble ? LinearCore<double>(x, w, b, outFeatures) : LinearCore<float>(x, w, b, outFeatures);
    }

    private static Tensor LinearCore<T>(Tensor x, Tensor w, Tensor? b, int outFeatures) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        int inFeatures = x.ShapeArray[^1];
        Span<int> shape = stackalloc int[x.Rank];
        x.ShapeArray.CopyTo(shape);
        shape[^1] = outFeatures;
        Tensor y = tape.Node<T>("linear", tape.Intern(shape), x.Batched, x, w, b);
        int rows = x.Length / inFeatures;
        Span<T> values = y.Values<T>();
        if (b is not null)
        {
            // Start every row at the bias, then accumulate the product into it (GEMM with beta = 1).
            ReadOnlySpan<T> bv = b.Values<T>();
            for (int r = 0; r < rows; r++) bv.CopyTo(values.Slice(r * outFeatures, outFeatures));
        }
        RunGemm<T>(MatMulGeometry.Forward(transB: true), x.Values<T>(), w.Values<T>(), default, values, rows, inFeatures, outFeatures, b is not null, tape.Gemm);
        y.Arg0 = rows;
        y.Arg1 = outFeatures;
        y.Arg2 = inFeatures;
        if (y.RequiresGrad) y.BackwardRule = LinearRules<T>.Backward;
        return y;
    }

    private static class LinearRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!, w = y.In1!;
            Tensor? b = y.In2;
            int rows = y.Arg0, outF = y.Arg1, inF = y.Arg2;
            Tape tape = y.Tape;
            ReadOnlySpan<T> dy = y.Upstream<T>();
            if (x.RequiresGrad)      // dx[rows, in] (+)= dy[rows, out] · W[out, in]
            {
                Span<T> dx = x.GradTarget<T>(out bool acc);
                RunGemm<T>(MatMulGeometry.GradA(transB: true), default, w.Values<T>(), dy, dx, rows, inF, outF, acc, tape.Gemm);
            }
            if (w.RequiresGrad)      // dW[out, in] (+)= dyᵀ · x (dy stored [rows, out])
            {
                Span<T> dw = w.GradTarget<T>(out bool acc);
                RunGemm<T>(MatMulGeometry.GradB(transB: true), x.Values<T>(), default, dy, dw, rows, inF, outF, acc, tape.Gemm);
            }
            if (b is not null && b.RequiresGrad)
            {
                Span<T> db = b.GradTarget<T>(out bool acc);
                if (!acc) dy[..outF].CopyTo(db);
                for (int r = acc ? 0 : 1; r < rows; r++) TapeKernels.AddInto(db, dy.Slice(r * outF, outF));
            }
        };
    }

    /// <summary>One GEMM of the shared <see cref="MatMulGeometry"/> (the one the generator lowers the same pass to) on the
    /// tape's spans: <paramref name="a"/> = A, <paramref name="b"/> = B, <paramref name="c"/> = C or dC (default when the
    /// pass does not read it), sizes rows × inner by inner × cols.</summary>
    private static void RunGemm<T>(in GemmGeometry g, ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> target,
        int rows, int inner, int cols, bool accumulate, GemmContext gemm) where T : unmanaged
        => TapeKernels.Gemm<T>(Of(g.Left, a, b, c), Of(g.Right, a, b, c), target, MatMulGeometry.Size(g.M, rows, inner, cols),
            MatMulGeometry.Size(g.N, rows, inner, cols), MatMulGeometry.Size(g.K, rows, inner, cols), g.TransLeft, g.TransRight, accumulate, gemm);

    private static ReadOnlySpan<T> Of<T>(MatMulRole role, ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c)
        => role == MatMulRole.A ? a : role == MatMulRole.B ? b : c;
}
