using System.Numerics;
using Dl.Dynamic;
using Dl.Kernels;

namespace Dl
{
    public static partial class Ops
    {
        /// <summary>Transposed 2-D convolution (PyTorch's nn.ConvTranspose2d(C, outChannels, kernel, stride, padding,
        /// output_padding, bias)) of a sample [C, H, W]: each input cell spreads weight·x over a kernel-sized patch of the
        /// output, patches stride apart, so the output has (n - 1)·stride - 2·padding + kernel + outputPadding cells per
        /// dimension (a stride-2 layer doubles the size: the decoder's upsampling). It is the adjoint (the data gradient) of
        /// the Conv2d with the same kernel, stride and padding. Parameters <c>{name}.weight</c> [C, outChannels, kh, kw]
        /// (PyTorch's layout: input channels first) and <c>{name}.bias</c> [outChannels].</summary>
        /// <param name="x">A batched sample [C, H, W].</param>
        /// <param name="outChannels">Output channels.</param>
        /// <param name="kernel">Kernel height and width: <c>3</c> or <c>(3, 5)</c>.</param>
        /// <param name="name">Layer name: the parameters are <c>{name}.weight</c> and <c>{name}.bias</c>.</param>
        /// <param name="stride">Per dimension; <c>default</c> = 1.</param>
        /// <param name="padding">Cells removed from both sides of each output dimension (PyTorch's padding); smaller than
        /// the kernel. <c>default</c> = 0.</param>
        /// <param name="outputPadding">Cells added at the bottom and right of the output (PyTorch's output_padding), smaller
        /// than the stride: chooses among the output sizes a strided Conv2d maps to the same input size. <c>default</c> = 0.</param>
        /// <param name="bias">Whether each output channel has a bias.</param>
        /// <param name="init">The weight initializer (default Glorot uniform with fan-in C·kh·kw and fan-out outChannels·kh·kw).</param>
        [Op(OpKind.ConvTranspose)]
        public static Tensor ConvTranspose2d(Tensor x, int outChannels, Size2 kernel, string name, Size2 stride = default, Size2 padding = default,
            Size2 outputPadding = default, bool bias = true, Init init = Init.Default)
            => TapeOps.ConvTranspose2d(x, outChannels, kernel, name, stride, padding, outputPadding, bias);
    }
}

namespace Dl.Dynamic
{
    internal static partial class TapeOps
    {
        // ConvTranspose2d on the tape: one node reads (x, W[, b]); forward is the adjoint convolution's data gradient, the rule
        // runs its forward pass on dy for dx and its weight gradient (dy as input, x as output gradient) for dW, with the
        // kernels and the kernel choice (ConvAlgorithm on the adjoint geometry) of the generated code.
        public static Tensor ConvTranspose2d(Tensor x, int outChannels, Size2 kernel, string name, Size2 stride, Size2 padding, Size2 outputPadding, bool bias)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentException.ThrowIfNullOrEmpty(name);
            const string op = "conv_transpose2d";
            if (outChannels <= 0) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, $"{op} '{name}': outChannels must be positive.");
            if (x.Rank != 3) throw new ArgumentException($"{op} '{name}': expected a sample of shape [C, H, W], got {x.ShapeText}.");
            if (stride.IsDefault) stride = new Size2(1, 1);
            int c = x.ShapeArray[0], h = x.ShapeArray[1], wd = x.ShapeArray[2];
            if (WindowGeometry.CheckTransposed(c, h, wd, outChannels, kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W, outputPadding.H, outputPadding.W)
                is { } why)
                throw new ArgumentException($"{op} '{name}': {why}.");
            Window2d g = Kernels.ConvTranspose2d.Adjoint(c, h, wd, outChannels, kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W,
                outputPadding.H, outputPadding.W);
            (Tensor w, Tensor? b) = DynamicContext.Current.LinearParameters(name, bias);
            if (w.Rank != 4 || w.ShapeArray[0] != c || w.ShapeArray[1] != outChannels || w.ShapeArray[2] != kernel.H || w.ShapeArray[3] != kernel.W)
                throw new ArgumentException($"{op} '{name}': weight '{name}.weight' has shape {w.ShapeText}, expected [{c}, {outChannels}, {kernel.H}, {kernel.W}].");
            if (b is not null && (b.Rank != 1 || b.ShapeArray[0] != outChannels))
                throw new ArgumentException($"{op} '{name}': bias '{name}.bias' has shape {b.ShapeText}, expected [{outChannels}].");
            Tape tape = x.Tape;
            int[] shape = tape.Intern([outChannels, g.Height, g.Width]);
            return tape.IsDouble ? ConvTransposeCore<double>(x, w, b, g, shape) : ConvTransposeCore<float>(x, w, b, g, shape);
        }

        private static Tensor ConvTransposeCore<T>(Tensor x, Tensor w, Tensor? b, Window2d g, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
        {
            Tape tape = x.Tape;
            Tensor y = tape.Node<T>("conv_transpose2d", shape, x.Batched, x, w, b);
            y.Window = g;
            int cin = x.ShapeArray[0], batch = x.Samples;
            if (typeof(T) == typeof(double))
                Kernels.ConvTranspose2d.Forward(in g, cin, batch, x.Values<double>(), w.Values<double>(), b is null ? default : b.Values<double>(), y.Values<double>());
            else if (!DirectConvData(in g))
            {
                float[] scratch = tape.Rent<float>(Kernels.Conv2d.ColumnsPerSample(in g));
                Kernels.ConvTranspose2d.ForwardIm2Col(in g, cin, batch, x.Values<float>(), w.Values<float>(), b is null ? default : b.Values<float>(),
                    y.Values<float>(), scratch, tape.Gemm);
            }
            else
                Kernels.ConvTranspose2d.ForwardDirect(in g, cin, batch, x.Values<float>(), w.Values<float>(), b is null ? default : b.Values<float>(), y.Values<float>());
            if (y.RequiresGrad) y.BackwardRule = ConvTransposeRules<T>.Backward;
            return y;
        }

        private static class ConvTransposeRules<T> where T : unmanaged, IFloatingPointIeee754<T>
        {
            public static readonly Action<Tensor> Backward = static y =>
            {
                Tensor x = y.In0!, w = y.In1!;
                Tensor? b = y.In2;
                Window2d g = y.Window;
                Tape tape = y.Tape;
                int cin = x.ShapeArray[0], batch = x.Samples;
                ReadOnlySpan<T> dy = y.Upstream<T>();
                bool direct = DirectConv(in g);
                float[]? col = null;
                if (x.RequiresGrad)
                {
                    // dx = conv(dy, W): the convolution's forward pass, which overwrites; an existing gradient gets it added.
                    Span<T> dx = x.GradTarget<T>(out bool acc);
                    Span<T> target = acc ? tape.Rent<T>(x.Length).AsSpan(0, x.Length) : dx;
                    if (typeof(T) == typeof(double))
                        Kernels.Conv2d.Forward(in g, cin, batch, Cast<T, double>(dy), w.Values<double>(), default, Cast<T, double>(target));
                    else if (!direct)
                    {
                        col = tape.Rent<float>(batch * Kernels.Conv2d.ColumnsPerSample(in g));
                        Kernels.Conv2d.ForwardIm2Col(in g, cin, batch, Cast<T, float>(dy), w.Values<float>(), default, Cast<T, float>(target), col, tape.Gemm);
                    }
                    else
                        Kernels.Conv2d.ForwardDirect(in g, cin, batch, Cast<T, float>(dy), w.Values<float>(), default, Cast<T, float>(target));
                    if (acc) TapeKernels.CopyOrAdd(dx, target, accumulate: true);
                }
                if (w.RequiresGrad)
                {
                    // dW[ci, co, ky, kx] = Σ x[ci]·dy[co] over the taps: the convolution's weight gradient with dy as its input.
                    Span<T> dw = w.GradTarget<T>(out bool accW);
                    if (typeof(T) == typeof(double))
                        Kernels.Conv2d.BackwardWeight(in g, cin, batch, Cast<T, double>(dy), x.Values<double>(), Cast<T, double>(dw), default, accW);
                    else if (!direct)
                    {
                        bool valid = col is not null;
                        col ??= tape.Rent<float>(batch * Kernels.Conv2d.ColumnsPerSample(in g));
                        Kernels.Conv2d.BackwardWeightIm2Col(in g, cin, batch, Cast<T, float>(dy), x.Values<float>(), Cast<T, float>(dw), default, accW,
                            col, valid, tape.Gemm);
                    }
                    else
                        Kernels.Conv2d.BackwardWeightDirect(in g, cin, batch, Cast<T, float>(dy), x.Values<float>(), Cast<T, float>(dw), default, accW);
                }
                if (b is not null && b.RequiresGrad)
                {
                    Span<T> db = b.GradTarget<T>(out bool accB);
                    Kernels.ConvTranspose2d.BiasGradient<T>(in g, batch, dy, db, accB);
                }
            };
        }
    }
}
