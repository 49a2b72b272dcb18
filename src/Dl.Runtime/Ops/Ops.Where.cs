using System.Numerics;
using Dl.Dynamic;

namespace Dl
{
    public static partial class Ops
    {
        /// <summary>Select by a mask: y = a where <paramref name="mask"/> ≠ 0, b elsewhere (PyTorch's
        /// <c>torch.where(mask != 0, a, b)</c>; a NaN in the mask selects a). The three broadcast together as the binary
        /// operators do (NumPy's rule over the per-sample axes; an unbatched operand repeats over the batch).</summary>
        /// <remarks>The gradient goes to <paramref name="a"/> where the mask is nonzero and to <paramref name="b"/>
        /// elsewhere (summed over the axes an operand was broadcast along); the mask gets none, so a parameter that reaches
        /// the loss only through a mask is not trained.</remarks>
        [Op(OpKind.Where)]
        public static Tensor Where(Tensor mask, Tensor a, Tensor b) => TapeOps.Where(mask, a, b);

        /// <inheritdoc cref="Where(Tensor, Tensor, Tensor)"/>
        [Op(OpKind.Where)]
        public static Tensor Where(Tensor mask, Tensor a, float b)
        {
            ArgumentNullException.ThrowIfNull(mask);
            return TapeOps.Where(mask, a, TapeOps.Constant(mask.Tape, b));
        }

        /// <inheritdoc cref="Where(Tensor, Tensor, Tensor)"/>
        [Op(OpKind.Where)]
        public static Tensor Where(Tensor mask, float a, Tensor b)
        {
            ArgumentNullException.ThrowIfNull(mask);
            return TapeOps.Where(mask, TapeOps.Constant(mask.Tape, a), b);
        }
    }
}

namespace Dl.Dynamic
{
    internal static partial class TapeOps
    {
        // Where on the tape: one node over (mask, a, b). Operands smaller than the result are expanded into pooled buffers
        // (forward and again in backward), and a broadcast operand's gradient is summed back with Broadcasting.SumTo.
        public static Tensor Where(Tensor mask, Tensor a, Tensor b)
        {
            ArgumentNullException.ThrowIfNull(mask);
            ArgumentNullException.ThrowIfNull(a);
            ArgumentNullException.ThrowIfNull(b);
            if (!ReferenceEquals(mask.Tape, a.Tape) || !ReferenceEquals(mask.Tape, b.Tape))
                throw new ArgumentException($"where: the operands {mask}, {a} and {b} belong to different models' tapes.");
            Tape tape = mask.Tape;
            int[] ab = BroadcastShape("where", a.ShapeArray, b.ShapeArray, tape);
            int[] shape = BroadcastShape("where", mask.ShapeArray, ab, tape);
            return tape.IsDouble ? WhereCore<double>(mask, a, b, shape) : WhereCore<float>(mask, a, b, shape);
        }

        private static Tensor WhereCore<T>(Tensor mask, Tensor a, Tensor b, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
        {
            Tensor y = mask.Tape.Node<T>("where", shape, mask.Batched || a.Batched || b.Batched, mask, a, b);
            ReadOnlySpan<T> m = Full<T>(mask, y), av = Full<T>(a, y), bv = Full<T>(b, y);
            Span<T> yv = y.Values<T>();
            for (int i = 0; i < yv.Length; i++) yv[i] = m[i] != T.Zero ? av[i] : bv[i];
            if (y.RequiresGrad) y.BackwardRule = WhereRules<T>.Backward;
            return y;
        }

        /// <summary>The operand at the result's full size: itself, or a broadcast copy in a pooled buffer.</summary>
        private static ReadOnlySpan<T> Full<T>(Tensor x, Tensor y) where T : unmanaged
        {
            if (x.Length == y.Length) return x.Values<T>();
            T[] full = y.Tape.Rent<T>(y.Length);
            Broadcasting.Expand<T>(x.Values<T>(), full, x, y);
            return full;
        }

        private static class WhereRules<T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            public static readonly Action<Tensor> Backward = static y =>
            {
                ReadOnlySpan<T> m = Full<T>(y.In0!, y), dy = y.Upstream<T>();
                for (int slot = 1; slot <= 2; slot++)
                {
                    Tensor x = slot == 1 ? y.In1! : y.In2!;
                    if (!x.RequiresGrad) continue;
                    bool selected = slot == 1, accumulate = false;
                    Span<T> g = x.Length == y.Length ? x.GradTarget<T>(out accumulate) : y.Tape.Rent<T>(y.Length);
                    for (int i = 0; i < g.Length; i++)
                    {
                        T d = (m[i] != T.Zero) == selected ? dy[i] : T.Zero;
                        g[i] = accumulate ? g[i] + d : d;
                    }
                    if (x.Length != y.Length) Broadcasting.SumTo<T>(g, x, y);
                }
            };
        }
    }
}
