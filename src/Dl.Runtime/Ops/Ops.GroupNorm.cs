using System.Numerics;
using Dl.Dynamic;

namespace Dl
{
    public static partial class Ops
    {
        /// <summary>Group normalization (PyTorch's nn.GroupNorm(groups, C)): the channels of each sample [C, ...] are split into
        /// <paramref name="groups"/> groups, each normalized over its channels and positions with the biased variance, then
        /// y = x̂·γ[c] + β[c]. Parameters <c>{name}.weight</c> (γ, ones) and <c>{name}.bias</c> (β, zeros) [C]. The same in
        /// training and evaluation (statistics per sample, not over the batch).</summary>
        /// <param name="x">A sample [C] or [C, ...].</param>
        /// <param name="groups">Groups; divides C.</param>
        /// <param name="name">The layer's name (the parameters' prefix).</param>
        /// <param name="eps">Added to the variance; finite, ≥ 0.</param>
        [Op(OpKind.GroupNorm)]
        public static Tensor GroupNorm(Tensor x, int groups, string name, float eps = 1e-5f) => TapeOps.GroupNorm(x, groups, name, eps);
    }
}

namespace Dl.Dynamic
{
    internal static partial class TapeOps
    {
        // GroupNorm on the tape: one node reads (x, γ, β) and saves each group's (μ, r); its rule writes dx, dγ and dβ in
        // one call of the kernel the generated code calls (Dl.Kernels.GroupNorm).
        public static Tensor GroupNorm(Tensor x, int groups, string name, float eps)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentException.ThrowIfNullOrEmpty(name);
            if (LayerRules.NormEps(eps) is { } why) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"group_norm '{name}': {why}.");
            if (x.Rank < 1) throw new ArgumentException($"group_norm '{name}': expected a sample with a channel axis, got {x.ShapeText}.");
            int channels = x.ShapeArray[0];
            if (LayerRules.Groups(channels, groups) is { } badGroups)
                throw new ArgumentOutOfRangeException(nameof(groups), groups, $"group_norm '{name}': {badGroups}.");
            (Tensor gamma, Tensor? beta) = DynamicContext.Current.LinearParameters(name, bias: true);
            if (gamma.SizeValue != channels || beta!.SizeValue != channels)
                throw new ArgumentException($"group_norm '{name}': '{name}.weight' {gamma.ShapeText} and '{name}.bias' {beta!.ShapeText} must both be [{channels}].");
            if (!ReferenceEquals(gamma.Tape, x.Tape)) throw new ArgumentException($"group_norm '{name}': the input belongs to another model's tape.");
            return x.Tape.IsDouble ? GroupNormCore<double>(x, gamma, beta, groups, eps) : GroupNormCore<float>(x, gamma, beta, groups, eps);
        }

        private static Tensor GroupNormCore<T>(Tensor x, Tensor gamma, Tensor beta, int groups, float eps) where T : unmanaged, IFloatingPointIeee754<T>
        {
            Tape tape = x.Tape;
            int channels = x.ShapeArray[0], plane = x.SizeValue / channels, batch = x.Samples;
            Tensor y = tape.Node<T>("group_norm", x.ShapeArray, x.Batched, x, gamma, beta);
            y.Arg0 = groups;
            y.ScalarA = eps;
            T[] stats = tape.Rent<T>(2 * batch * groups);
            Kernels.GroupNorm.Forward<T>(batch, channels, groups, plane, eps, x.Values<T>(), gamma.Values<T>(), beta.Values<T>(), y.Values<T>(), stats);
            y.Aux0 = stats;
            if (y.RequiresGrad) y.BackwardRule = GroupNormRules<T>.Backward;
            return y;
        }

        private static class GroupNormRules<T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            public static readonly Action<Tensor> Backward = static y =>
            {
                Tensor x = y.In0!, gamma = y.In1!, beta = y.In2!;
                int groups = y.Arg0, channels = x.ShapeArray[0], plane = x.SizeValue / channels, batch = x.Samples;
                Span<T> dx = Target(x, out bool accX), dg = Target(gamma, out bool accG), db = Target(beta, out bool accB);
                if (dx.IsEmpty && dg.IsEmpty && db.IsEmpty) return;
                // One accumulate flag for γ and β: if either already holds a gradient, zero the other (when it is fresh) and add.
                bool accParams = (!dg.IsEmpty && accG) || (!db.IsEmpty && accB);
                if (accParams)
                {
                    if (!accG) dg.Clear();
                    if (!accB) db.Clear();
                }
                ReadOnlySpan<T> stats = ((T[])y.Aux0!).AsSpan(0, 2 * batch * groups);
                Kernels.GroupNorm.Backward<T>(batch, channels, groups, plane, x.Values<T>(), gamma.Values<T>(), stats, y.Upstream<T>(), dx, accX, dg, db, accParams);
            };

            private static Span<T> Target(Tensor t, out bool accumulate)
            {
                accumulate = false;
                return t.RequiresGrad ? t.GradTarget<T>(out accumulate) : default;
            }
        }
    }
}
