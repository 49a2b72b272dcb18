using System.Numerics;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // Conv2d / Conv1d: y = W ⋆ x + b per sample (cross-correlation), W [out, C, kh, kw]. Backward: dx += Wᵀ ⋆ dy (the
    // transposed convolution), dW += Σ_n dy_n ⋅ col(x_n)ᵀ, db += Σ dy. Float runs the same kernels the generator picks.
    // ================================================================================================================

    public static Tensor Conv2d(Tensor x, int outChannels, Size2 kernel, string name, Size2 stride, Pad padding, bool bias, bool one)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentException.ThrowIfNullOrEmpty(name);
        string op = one ? "conv1d" : "conv2d";
        if (outChannels <= 0) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, $"{op} '{name}': outChannels must be positive.");
        if (x.Rank != (one ? 2 : 3))
            throw new ArgumentException($"{op} '{name}': expected a sample of shape {(one ? "[C, L]" : "[C, H, W]")}, got {x.ShapeText}.");
        Window2d g = Geometry(op, name, x, kernel, stride.IsDefault ? new Size2(1, 1) : stride, padding, one);
        (Tensor w, Tensor? b) = DynamicContext.Current.LinearParameters(name, bias);
        int expectedSize = outChannels * g.ColRows;
        bool shapeOk = w.Rank == (one ? 3 : 4) && w.ShapeArray[0] == outChannels && w.ShapeArray[1] == g.Channels && w.SizeValue == expectedSize;
        if (!shapeOk)
            throw new ArgumentException($"{op} '{name}': weight '{name}.weight' has shape {w.ShapeText}, expected " +
                (one ? $"[{outChannels}, {g.Channels}, {g.KernelW}]." : $"[{outChannels}, {g.Channels}, {g.KernelH}, {g.KernelW}]."));
        if (b is not null && (b.Rank != 1 || b.ShapeArray[0] != outChannels))
            throw new ArgumentException($"{op} '{name}': bias '{name}.bias' has shape {b.ShapeText}, expected [{outChannels}].");
        Tape tape = x.Tape;
        int[] shape = one ? tape.Intern([outChannels, g.OutW]) : tape.Intern([outChannels, g.OutH, g.OutW]);
        return tape.IsDouble ? ConvCore<double>(op, x, w, b, g, shape) : ConvCore<float>(op, x, w, b, g, shape);
    }

    /// <summary>The window of a conv or pool call, validated with the shared rule (WindowGeometry.Check, the generator's DL0013),
    /// the output-size formula's values in the message.</summary>
    private static Window2d Geometry(string op, string? name, Tensor x, Size2 kernel, Size2 stride, Pad padding, bool one, bool pooling = false)
    {
        // Built only for a message: a steady-state step allocates nothing.
        string What() => name is null ? op : op + " '" + name + "'";
        // Conv1d: an int pads both ends (Pad's int conversion fills all four sides; the vertical ones are dropped).
        if (one && padding.Mode == PadMode.Explicit && padding.Top == padding.Left && padding.Bottom == padding.Right)
            padding = padding with { Top = 0, Bottom = 0 };
        if (one && padding.Mode == PadMode.Explicit && (padding.Top != 0 || padding.Bottom != 0))
            throw new ArgumentException($"{What()}: a 1-D padding has no top or bottom; use an int, Pad.Same/Valid/Full or (0, 0, left, right), got {padding}.");
        if (WindowGeometry.ModeFitsStride(padding.Mode, stride.H, stride.W) is { } mode) throw new ArgumentException($"{What()}: {mode}.");
        var (top, bottom, left, right) = padding.Resolve(kernel.H, kernel.W);
        int c = x.ShapeArray[0], h = one ? 1 : x.ShapeArray[1], w = x.ShapeArray[^1];
        if (WindowGeometry.Check(c, h, w, kernel.H, kernel.W, stride.H, stride.W, top, bottom, left, right, pooling) is { } why)
            throw new ArgumentException($"{What()}: {why}.");
        return new Window2d(c, h, w, kernel.H, kernel.W, stride.H, stride.W, top, bottom, left, right);
    }

    private static Tensor ConvCore<T>(string op, Tensor x, Tensor w, Tensor? b, Window2d g, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        Tensor y = tape.Node<T>(op, shape, x.Batched, x, w, b);
        y.Window = g;
        int cout = shape[0], batch = x.Samples;
        if (typeof(T) == typeof(double))
        {
            Kernels.Conv2d.Forward(in g, cout, batch, x.Values<double>(), w.Values<double>(), b is null ? default : b.Values<double>(), y.Values<double>());
        }
        else if (!DirectConv(in g))
        {
            float[] col = tape.Rent<float>(batch * Kernels.Conv2d.ColumnsPerSample(in g));
            Kernels.Conv2d.ForwardIm2Col(in g, cout, batch, x.Values<float>(), w.Values<float>(), b is null ? default : b.Values<float>(),
                y.Values<float>(), col, tape.Gemm);
            y.Aux0 = col;
        }
        else
        {
            Kernels.Conv2d.ForwardDirect(in g, cout, batch, x.Values<float>(), w.Values<float>(), b is null ? default : b.Values<float>(), y.Values<float>());
            y.Aux0 = null;
        }
        if (y.RequiresGrad) y.BackwardRule = ConvRules<T>.Backward;
        return y;
    }

    /// <summary>The convolution kernels for a shape: the rule the generator applies too (the shared Dl.Kernels.ConvAlgorithm),
    /// so that the tape runs the same float kernels as the compiled model.</summary>
    internal static bool DirectConv(in Window2d g) => ConvAlgorithm.Direct(g.StrideH, g.StrideW, g.OutW, g.KernelH, g.KernelW, g.ColRows);

    internal static bool DirectConvData(in Window2d g) =>
        ConvAlgorithm.DirectData(g.StrideH, g.StrideW, g.OutW, g.KernelH, g.KernelW, g.ColRows, g.Channels, g.Width);

    private static class ConvRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!, w = y.In1!;
            Tensor? b = y.In2;
            Window2d g = y.Window;
            int cout = y.ShapeArray[0], batch = x.Samples;
            Tape tape = y.Tape;
            ReadOnlySpan<T> dy = y.Upstream<T>();
            if (x.RequiresGrad)
            {
                Span<T> dx = x.GradTarget<T>(out bool acc);
                if (typeof(T) == typeof(double))
                    Kernels.Conv2d.BackwardData(in g, cout, batch, Cast<T, double>(dy), w.Values<double>(), Cast<T, double>(dx), acc);
                else if (!DirectConvData(in g))
                {
                    float[] scratch = tape.Rent<float>(Kernels.Conv2d.ColumnsPerSample(in g));
                    Kernels.Conv2d.BackwardDataIm2Col(in g, cout, batch, Cast<T, float>(dy), w.Values<float>(), Cast<T, float>(dx), acc, scratch, tape.Gemm);
                }
                else
                    Kernels.Conv2d.BackwardDataDirect(in g, cout, batch, Cast<T, float>(dy), w.Values<float>(), Cast<T, float>(dx), acc);
            }
            bool needW = w.RequiresGrad, needB = b is not null && b.RequiresGrad;
            if (!needW && !needB) return;
            // One call computes dW and db with one accumulate flag: a target that is not wanted, or whose flag differs from
            // dW's, is computed into zeroed scratch and added afterwards.
            bool accW = false, accB = false;
            Span<T> dw = needW ? w.GradTarget<T>(out accW) : tape.Rent<T>(w.SizeValue).AsSpan(0, w.SizeValue);
            Span<T> db = b is null ? default : needB ? b.GradTarget<T>(out accB) : tape.Rent<T>(b.SizeValue).AsSpan(0, b.SizeValue);
            bool split = b is not null && (accB != accW || !needB);
            Span<T> dbCall = split ? tape.Rent<T>(b!.SizeValue).AsSpan(0, b.SizeValue) : db;
            if (split) dbCall.Clear();
            if (typeof(T) == typeof(double))
                Kernels.Conv2d.BackwardWeight(in g, cout, batch, x.Values<double>(), Cast<T, double>(dy), Cast<T, double>(dw), Cast<T, double>(dbCall), accW);
            else if (y.Aux0 is float[] col)
                Kernels.Conv2d.BackwardWeightIm2Col(in g, cout, batch, x.Values<float>(), Cast<T, float>(dy), Cast<T, float>(dw), Cast<T, float>(dbCall), accW,
                    col, colValid: true, tape.Gemm);
            else
                Kernels.Conv2d.BackwardWeightDirect(in g, cout, batch, x.Values<float>(), Cast<T, float>(dy), Cast<T, float>(dw), Cast<T, float>(dbCall), accW);
            if (split && needB) TapeKernels.CopyOrAdd(db, dbCall, accB);
        };
    }

    private static Span<TTo> Cast<TFrom, TTo>(Span<TFrom> s) where TFrom : unmanaged where TTo : unmanaged
        => System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);

    private static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged
        => System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);

    // ================================================================================================================
    // Pooling: max (the gradient goes to each window's first maximum) or average (dy / window area to every cell).
    // ================================================================================================================

    public static Tensor Pool2d(Tensor x, Size2 kernel, Size2 stride, Pad padding, bool average)
    {
        ArgumentNullException.ThrowIfNull(x);
        string op = average ? "avg_pool2d" : "max_pool2d";
        if (x.Rank != 3) throw new ArgumentException($"{op}: expected a sample of shape [C, H, W], got {x.ShapeText}.");
        if (padding.Mode != PadMode.Explicit) throw new ArgumentException($"{op}: pooling takes explicit padding, got {padding}.");
        Window2d g = Geometry(op, null, x, kernel, stride.IsDefault ? kernel : stride, padding, one: false, pooling: true);
        Tape tape = x.Tape;
        int[] shape = tape.Intern([g.Channels, g.OutH, g.OutW]);
        return PoolNode(x, g, shape, average, op);
    }

    /// <summary>MaxPool1d/AvgPool1d: a sample [C, L] pooled as a [C, 1, L] plane by the 2-D kernels (a window of height 1),
    /// checked with the shared rule the generator's DL0013 applies.</summary>
    public static Tensor Pool1d(Tensor x, int kernel, int? stride, int padding, bool average)
    {
        ArgumentNullException.ThrowIfNull(x);
        string op = average ? "avg_pool1d" : "max_pool1d";
        if (x.Rank != 2) throw new ArgumentException($"{op}: expected a sample of shape [C, L], got {x.ShapeText}.");
        Window2d g = Geometry(op, null, x, new Size2(1, kernel), new Size2(1, stride ?? kernel), new Pad(0, 0, padding, padding), one: true, pooling: true);
        int[] shape = x.Tape.Intern([g.Channels, g.OutW]);
        return PoolNode(x, g, shape, average, op);
    }

    public static Tensor GlobalAvgPool2d(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 3) throw new ArgumentException($"global_avg_pool2d: expected a sample of shape [C, H, W], got {x.ShapeText}.");
        var g = new Window2d(x.ShapeArray[0], x.ShapeArray[1], x.ShapeArray[2], x.ShapeArray[1], x.ShapeArray[2], 1, 1, 0, 0, 0, 0);
        return PoolNode(x, g, x.Tape.Intern([g.Channels]), average: true, "global_avg_pool2d");
    }

    private static Tensor PoolNode(Tensor x, Window2d g, int[] shape, bool average, string op)
    {
        Tape tape = x.Tape;
        if (tape.IsDouble) return PoolCore<double>(x, g, shape, average, op);
        return PoolCore<float>(x, g, shape, average, op);
    }

    private static Tensor PoolCore<T>(Tensor x, Window2d g, int[] shape, bool average, string op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tensor y = x.Tape.Node<T>(op, shape, x.Batched, x);
        y.Window = g;
        y.Flag0 = average;
        int batch = x.Samples;
        if (typeof(T) == typeof(double))
        {
            if (average) Kernels.Pool2d.AvgForward(in g, batch, x.Values<double>(), y.Values<double>());
            else Kernels.Pool2d.MaxForward(in g, batch, x.Values<double>(), y.Values<double>());
        }
        else
        {
            if (average) Kernels.Pool2d.AvgForward(in g, batch, x.Values<float>(), y.Values<float>());
            else Kernels.Pool2d.MaxForward(in g, batch, x.Values<float>(), y.Values<float>());
        }
        if (y.RequiresGrad) y.BackwardRule = PoolRules<T>.Backward;
        return y;
    }

    private static class PoolRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            Window2d g = y.Window;
            int batch = x.Samples;
            Span<T> dx = x.GradTarget<T>(out bool acc);
            ReadOnlySpan<T> dy = y.Upstream<T>();
            if (typeof(T) == typeof(double))
            {
                if (y.Flag0) Kernels.Pool2d.AvgBackward(in g, batch, Cast<T, double>(dy), Cast<T, double>(dx), acc);
                else Kernels.Pool2d.MaxBackward(in g, batch, x.Values<double>(), y.Values<double>(), Cast<T, double>(dy), Cast<T, double>(dx), acc);
            }
            else
            {
                if (y.Flag0) Kernels.Pool2d.AvgBackward(in g, batch, Cast<T, float>(dy), Cast<T, float>(dx), acc);
                else Kernels.Pool2d.MaxBackward(in g, batch, x.Values<float>(), y.Values<float>(), Cast<T, float>(dy), Cast<T, float>(dx), acc);
            }
        };
    }

    // ================================================================================================================
    // BatchNorm: per channel (axis 0 of a sample) over the batch and the rest of the sample. Training mode uses and
    // saves the batch mean and 1/sqrt(var + eps) and updates the running statistics; evaluation mode uses those.
    // ================================================================================================================

    public static Tensor BatchNorm(Tensor x, string name, float momentum, float eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (x.Rank < 1) throw new ArgumentException($"batch_norm '{name}': expected a sample with a channel or feature axis, got {x.ShapeText}.");
        if (!x.Batched) throw new ArgumentException($"batch_norm '{name}': the input must be batched (statistics are over the batch).");
        if (!(momentum >= 0f && momentum <= 1f)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"batch_norm '{name}': momentum must be in [0, 1].");
        if (LayerRules.NormEps(eps) is { } why) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"batch_norm '{name}': {why}.");
        DynamicContext context = DynamicContext.Current;
        (Tensor gamma, Tensor? beta) = context.LinearParameters(name, bias: true);
        int channels = x.ShapeArray[0];
        if (gamma.SizeValue != channels || beta!.SizeValue != channels)
            throw new ArgumentException($"batch_norm '{name}': '{name}.weight' {gamma.ShapeText} and '{name}.bias' {beta!.ShapeText} must both be [{channels}] for an input {x.ShapeText}.");
        Tensor y = x.Tape.IsDouble
            ? BatchNormCore<double>(x, gamma, beta, context, name, momentum, eps)
            : BatchNormCore<float>(x, gamma, beta, context, name, momentum, eps);
        return y;
    }

    private static Tensor BatchNormCore<T>(Tensor x, Tensor gamma, Tensor beta, DynamicContext context, string name, float momentum, float eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        int channels = x.ShapeArray[0], spatial = x.SizeValue / channels, batch = x.Samples;
        Tensor y = tape.Node<T>("batch_norm", x.ShapeArray, batched: true, x, gamma, beta);
        y.Arg0 = channels;
        y.Arg1 = spatial;
        y.ScalarA = eps;
        y.Flag0 = context.Training;
        context.RunningStatistics(name, channels, out Span<T> runningMean, out Span<T> runningVar);
        if (context.Training)
        {
            T[] mean = tape.Rent<T>(channels), invStd = tape.Rent<T>(channels);
            if (typeof(T) == typeof(double))
                Kernels.BatchNorm.ForwardTrain(batch, channels, spatial, x.Values<double>(), gamma.Values<double>(), beta.Values<double>(), y.Values<double>(),
                    Cast<T, double>(mean.AsSpan(0, channels)), Cast<T, double>(invStd.AsSpan(0, channels)), Cast<T, double>(runningMean), Cast<T, double>(runningVar), momentum, eps);
            else
                Kernels.BatchNorm.ForwardTrain(batch, channels, spatial, x.Values<float>(), gamma.Values<float>(), beta.Values<float>(), y.Values<float>(),
                    Cast<T, float>(mean.AsSpan(0, channels)), Cast<T, float>(invStd.AsSpan(0, channels)), Cast<T, float>(runningMean), Cast<T, float>(runningVar), momentum, eps);
            y.Aux0 = mean;
            y.Aux1 = invStd;
        }
        else
        {
            if (typeof(T) == typeof(double))
                Kernels.BatchNorm.ForwardEval(batch, channels, spatial, x.Values<double>(), gamma.Values<double>(), beta.Values<double>(), y.Values<double>(),
                    Cast<T, double>(runningMean), Cast<T, double>(runningVar), eps);
            else
                Kernels.BatchNorm.ForwardEval(batch, channels, spatial, x.Values<float>(), gamma.Values<float>(), beta.Values<float>(), y.Values<float>(),
                    Cast<T, float>(runningMean), Cast<T, float>(runningVar), eps);
            // Evaluation-mode backward reads the running statistics as they were in this forward pass.
            T[] rm = tape.Rent<T>(channels), rv = tape.Rent<T>(channels);
            runningMean.CopyTo(rm);
            runningVar.CopyTo(rv);
            y.Aux0 = rm;
            y.Aux1 = rv;
        }
        if (y.RequiresGrad) y.BackwardRule = BatchNormRules<T>.Backward;
        return y;
    }

    private static class BatchNormRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!, gamma = y.In1!, beta = y.In2!;
            Tape tape = y.Tape;
            int channels = y.Arg0, spatial = y.Arg1, batch = x.Samples;
            // The kernel writes dx, dgamma and dbeta with one accumulate flag: compute into zeroed scratch where a target
            // is not wanted or its flag differs, then add.
            Span<T> dx = Target(x, tape, out bool accX, out bool wantX);
            Span<T> dg = Target(gamma, tape, out bool accG, out bool wantG);
            Span<T> db = Target(beta, tape, out bool accB, out bool wantB);
            Span<T> sx = tape.Rent<T>(x.Length).AsSpan(0, x.Length), sg = tape.Rent<T>(channels).AsSpan(0, channels), sb = tape.Rent<T>(channels).AsSpan(0, channels);
            ReadOnlySpan<T> dy = y.Upstream<T>();
            ReadOnlySpan<T> a0 = ((T[])y.Aux0!).AsSpan(0, channels), a1 = ((T[])y.Aux1!).AsSpan(0, channels);
            if (typeof(T) == typeof(double))
            {
                if (y.Flag0)
                    Kernels.BatchNorm.BackwardTrain(batch, channels, spatial, x.Values<double>(), gamma.Values<double>(), Cast<T, double>(a0), Cast<T, double>(a1),
                        Cast<T, double>(dy), Cast<T, double>(sx), Cast<T, double>(sg), Cast<T, double>(sb), accumulate: false);
                else
                    Kernels.BatchNorm.BackwardEval(batch, channels, spatial, x.Values<double>(), gamma.Values<double>(), Cast<T, double>(a0), Cast<T, double>(a1), y.ScalarA,
                        Cast<T, double>(dy), Cast<T, double>(sx), Cast<T, double>(sg), Cast<T, double>(sb), accumulate: false);
            }
            else
            {
                if (y.Flag0)
                    Kernels.BatchNorm.BackwardTrain(batch, channels, spatial, x.Values<float>(), gamma.Values<float>(), Cast<T, float>(a0), Cast<T, float>(a1),
                        Cast<T, float>(dy), Cast<T, float>(sx), Cast<T, float>(sg), Cast<T, float>(sb), accumulate: false);
                else
                    Kernels.BatchNorm.BackwardEval(batch, channels, spatial, x.Values<float>(), gamma.Values<float>(), Cast<T, float>(a0), Cast<T, float>(a1), y.ScalarA,
                        Cast<T, float>(dy), Cast<T, float>(sx), Cast<T, float>(sg), Cast<T, float>(sb), accumulate: false);
            }
            if (wantX) TapeKernels.CopyOrAdd(dx, sx, accX);
            if (wantG) TapeKernels.CopyOrAdd(dg, sg, accG);
            if (wantB) TapeKernels.CopyOrAdd(db, sb, accB);
        };

        private static Span<T> Target(Tensor t, Tape tape, out bool accumulate, out bool wanted)
        {
            wanted = t.RequiresGrad;
            if (wanted) return t.GradTarget<T>(out accumulate);
            accumulate = false;
            return default;
        }
    }

    // ================================================================================================================
    // Dropout: y = x·mask, mask = 0 or 1/(1-p) from the counter-based generator (seed, dropout index, step). Identity
    // in evaluation mode. Backward: dx += dy·mask.
    // ================================================================================================================

    public static Tensor Dropout(Tensor x, float p)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout: p must be in [0, 1).");
        DynamicContext context = DynamicContext.Current;
        if (!x.Batched) throw new ArgumentException($"dropout: the input must be a batched sample, got the unbatched {x.ShapeText} (a parameter or constant).");
        int index = context.NextDropoutIndex();
        if (!context.Training) return x;
        return x.Tape.IsDouble ? DropoutCore<double>(x, p, context, index) : DropoutCore<float>(x, p, context, index);
    }

    private static Tensor DropoutCore<T>(Tensor x, float p, DynamicContext context, int index) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        Tensor y = tape.Node<T>("dropout", x.ShapeArray, x.Batched, x);
        y.ScalarA = p;
        T[] mask = tape.Rent<T>(x.Length);
        if (typeof(T) == typeof(double))
            Kernels.Dropout.Forward(x.Values<double>(), y.Values<double>(), Cast<T, double>(mask.AsSpan(0, x.Length)), p, context.Seed, index, context.DropoutStep);
        else
            Kernels.Dropout.Forward(x.Values<float>(), y.Values<float>(), Cast<T, float>(mask.AsSpan(0, x.Length)), p, context.Seed, index, context.DropoutStep);
        y.Aux0 = mask;
        if (y.RequiresGrad) y.BackwardRule = DropoutRules<T>.Backward;
        return y;
    }

    private static class DropoutRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!;
            if (!x.RequiresGrad) return;
            Span<T> dx = x.GradTarget<T>(out bool acc);
            ReadOnlySpan<T> mask = ((T[])y.Aux0!).AsSpan(0, y.Length);
            if (typeof(T) == typeof(double))
                Kernels.Dropout.Backward(Cast<T, double>(y.Upstream<T>()), Cast<T, double>(mask), Cast<T, double>(dx), acc);
            else
                Kernels.Dropout.Backward(Cast<T, float>(y.Upstream<T>()), Cast<T, float>(mask), Cast<T, float>(dx), acc);
        };
    }
}
