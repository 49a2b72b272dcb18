using System.Numerics;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // LayerNorm over the last axis: y = (x − μ)·r·γ + β per row, r = 1/√(σ² + eps), γ = {name}.weight, β = {name}.bias.
    // One node reads (x, γ, β) and saves the row statistics (μ, r); its rule writes dx, dγ and dβ in one kernel call.
    // ================================================================================================================

    public static Tensor LayerNorm(Tensor x, string name, float eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (LayerRules.NormEps(eps) is { } why) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"layer_norm '{name}': {why}.");
        if (x.Rank < 1 || x.ShapeArray[^1] < 1)
            throw new ArgumentException($"layer_norm '{name}': expected an input with a non-empty last axis to normalize (e.g. [T, D]), got {x.ShapeText}.");
        int dim = x.ShapeArray[^1];
        // {name}.weight and {name}.bias, with the names resolved once per layer (no strings built per step).
        (Tensor gamma, Tensor? beta) = DynamicContext.Current.LinearParameters(name, bias: true);
        if (gamma.Rank != 1 || gamma.ShapeArray[0] != dim)
            throw new ArgumentException($"layer_norm '{name}': '{name}.weight' (γ) has shape {gamma.ShapeText}, expected [{dim}] for an input {x.ShapeText}.");
        if (beta!.Rank != 1 || beta.ShapeArray[0] != dim)
            throw new ArgumentException($"layer_norm '{name}': '{name}.bias' (β) has shape {beta.ShapeText}, expected [{dim}] for an input {x.ShapeText}.");
        if (!ReferenceEquals(gamma.Tape, x.Tape)) throw new ArgumentException($"layer_norm '{name}': the input belongs to another model's tape.");
        return x.Tape.IsDouble ? LayerNormCore<double>(x, gamma, beta, eps) : LayerNormCore<float>(x, gamma, beta, eps);
    }

    private static Tensor LayerNormCore<T>(Tensor x, Tensor gamma, Tensor beta, float eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        int dim = x.ShapeArray[^1], rows = x.Length / dim;
        Tensor y = tape.Node<T>("layer_norm", x.ShapeArray, x.Batched, x, gamma, beta);
        y.Arg0 = rows;
        y.Arg1 = dim;
        y.ScalarA = eps;
        T[] stats = tape.Rent<T>(2 * rows);
        Kernels.LayerNorm.Forward<T>(rows, dim, eps, x.Values<T>(), gamma.Values<T>(), beta.Values<T>(), y.Values<T>(), stats);
        y.Aux0 = stats;
        if (y.RequiresGrad) y.BackwardRule = LayerNormRules<T>.Backward;
        return y;
    }

    private static class LayerNormRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!, gamma = y.In1!, beta = y.In2!;
            int rows = y.Arg0, dim = y.Arg1;
            Span<T> dx = Target(x, out bool accX), dg = Target(gamma, out bool accG), db = Target(beta, out bool accB);
            if (dx.IsEmpty && dg.IsEmpty && db.IsEmpty) return;
            // One accumulate flag for γ and β: if either already holds a gradient, zero the other (when it is fresh) and add.
            bool accParams = (!dg.IsEmpty && accG) || (!db.IsEmpty && accB);
            if (accParams)
            {
                if (!accG) dg.Clear();
                if (!accB) db.Clear();
            }
            ReadOnlySpan<T> stats = ((T[])y.Aux0!).AsSpan(0, 2 * rows);
            Kernels.LayerNorm.Backward<T>(rows, dim, x.Values<T>(), gamma.Values<T>(), stats, y.Upstream<T>(), dx, accX, dg, db, accParams);
        };

        /// <summary>The gradient to write (empty when not wanted) and whether it already holds one.</summary>
        private static Span<T> Target(Tensor t, out bool accumulate)
        {
            accumulate = false;
            return t.RequiresGrad ? t.GradTarget<T>(out accumulate) : default;
        }
    }

    // ================================================================================================================
    // Positions: y = x + PE for a sequence x [T, D]. Sinusoidal: PE is the fixed table (no parameters); backward passes
    // the gradient unchanged. Learned: PE = {name}.weight [T, D], an ordinary add (dP = Σ_batch dy).
    // ================================================================================================================

    public static Tensor SinusoidalPositions(Tensor x, float @base)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!(@base > 0f) || float.IsInfinity(@base))
            throw new ArgumentOutOfRangeException(nameof(@base), @base, $"sinusoidal_positions: base is {@base}; expected a finite positive number (10000 in the paper).");
        if (x.Rank != 2 || x.ShapeArray[0] < 1 || x.ShapeArray[1] < 1)
            throw new ArgumentException($"sinusoidal_positions: expected a sequence of shape [T, D] per sample, got {x.ShapeText}.");
        return x.Tape.IsDouble ? SinusoidalCore<double>(x, @base) : SinusoidalCore<float>(x, @base);
    }

    private static Tensor SinusoidalCore<T>(Tensor x, float @base) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor y = x.Tape.Node<T>("sinusoidal_positions", x.ShapeArray, x.Batched, x);
        y.ScalarA = @base;
        PositionalEncoding.Add<T>(x.Samples, x.ShapeArray[0], x.ShapeArray[1], @base, x.Values<T>(), y.Values<T>());
        if (y.RequiresGrad) y.BackwardRule = PassThroughRules<T>.Backward;
        return y;
    }

    private static class PassThroughRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            Span<T> dx = x.GradTarget<T>(out bool acc);
            TapeKernels.CopyOrAdd(dx, y.Upstream<T>(), acc);
        };
    }

    public static Tensor LearnedPositions(Tensor x, string name)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (x.Rank != 2 || x.ShapeArray[0] < 1 || x.ShapeArray[1] < 1)
            throw new ArgumentException($"learned_positions '{name}': expected a sequence of shape [T, D] per sample, got {x.ShapeText}.");
        (Tensor p, _) = DynamicContext.Current.LinearParameters(name, bias: false);
        if (p.Rank != 2 || p.ShapeArray[0] != x.ShapeArray[0] || p.ShapeArray[1] != x.ShapeArray[1])
            throw new ArgumentException($"learned_positions '{name}': '{name}.weight' has shape {p.ShapeText}, expected [{x.ShapeArray[0]}, {x.ShapeArray[1]}] " +
                $"(one row per position) for an input {x.ShapeText}.");
        return Binary<AddOp>(x, p);
    }
}
