using System.Numerics;

namespace Dl.Kernels;

/// <summary>
/// Transposed 2-D convolution (PyTorch's nn.ConvTranspose2d, no groups or dilation) on NCHW tensors: x [batch, cin, H, W],
/// w [cin, cout, KH, KW], bias [cout] or empty, y [batch, cout, OutH, OutW] with OutH = (H - 1)·s - 2·p + k + output_padding.
/// </summary>
/// <remarks>
/// A transposed convolution is the adjoint of a <see cref="Conv2d"/>: the convolution whose input is y's shape
/// [cout, OutH, OutW], whose output is x's [cin, H, W] and whose weight [cin (its out), cout (its C), KH, KW] is this one's
/// weight as stored. Its geometry (<see cref="Adjoint"/>) is the <see cref="Window2d"/> every method here takes, and all
/// the work is done by the Conv2d kernels with the roles exchanged:
/// <list type="bullet">
/// <item>forward: y = bias + the convolution's data gradient applied to x (<see cref="Conv2d.BackwardDataDirect"/> or
/// <see cref="Conv2d.BackwardDataIm2Col"/>, accumulating onto the bias planes);</item>
/// <item>dx = the convolution's forward pass applied to dy, no bias (<see cref="Conv2d.ForwardDirect"/>,
/// <see cref="Conv2d.ForwardIm2Col"/>);</item>
/// <item>dw = the convolution's weight gradient with dy as its input and x as its output gradient
/// (<see cref="Conv2d.BackwardWeightDirect"/>, <see cref="Conv2d.BackwardWeightIm2Col"/>, which can reuse the im2col
/// matrix of dy that the dx pass made);</item>
/// <item>dbias = Σ over the batch and the plane of dy (<see cref="BiasGradient{T}"/>).</item>
/// </list>
/// The output-padding rows and columns at the bottom and right are reached by no window of the adjoint convolution:
/// they hold the bias in the forward pass and pass no gradient back. Which kernels run is the rule Conv2d's callers use
/// (<see cref="ConvAlgorithm"/>) on the adjoint geometry.
/// </remarks>
public static class ConvTranspose2d
{
    /// <summary>The adjoint convolution's geometry: input [outChannels, OutH, OutW] (this op's output), the kernel, stride
    /// and symmetric padding as given; its output is [H, W] again because output padding is smaller than the stride.</summary>
    /// <exception cref="ArgumentException">The shared rule (WindowGeometry.CheckTransposed) rejects the arguments.</exception>
    public static Window2d Adjoint(int inChannels, int height, int width, int outChannels, int kernelH, int kernelW, int strideH, int strideW,
        int padH, int padW, int outPadH, int outPadW)
    {
        if (WindowGeometry.CheckTransposed(inChannels, height, width, outChannels, kernelH, kernelW, strideH, strideW, padH, padW, outPadH, outPadW)
            is { } why)
            throw new ArgumentException($"ConvTranspose2d: {why}.");
        return new Window2d(outChannels, (int)WindowGeometry.TransposedOutSize(height, kernelH, strideH, padH, outPadH),
            (int)WindowGeometry.TransposedOutSize(width, kernelW, strideW, padW, outPadW), kernelH, kernelW, strideH, strideW, padH, padH, padW, padW);
    }

    /// <summary>y = convT(x, w) + bias by the direct data-gradient kernel of the adjoint convolution <paramref name="g"/>
    /// (no workspace).</summary>
    public static void ForwardDirect(in Window2d g, int inChannels, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> y)
    {
        FillBias(in g, batch, bias, y);
        Conv2d.BackwardDataDirect(in g, inChannels, batch, x, w, y, accumulate: !bias.IsEmpty);
    }

    /// <summary>y = convT(x, w) + bias by GEMM and col2im (<paramref name="col"/>: one sample's
    /// <see cref="Conv2d.ColumnsPerSample"/> floats of scratch).</summary>
    public static void ForwardIm2Col(in Window2d g, int inChannels, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> y, Span<float> col, GemmContext ctx)
    {
        FillBias(in g, batch, bias, y);
        Conv2d.BackwardDataIm2Col(in g, inChannels, batch, x, w, y, accumulate: !bias.IsEmpty, col, ctx);
    }

    /// <summary>y = convT(x, w) + bias in double precision (the reference loops of <see cref="Conv2d.BackwardData"/>).</summary>
    public static void Forward(in Window2d g, int inChannels, int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> w,
        ReadOnlySpan<double> bias, Span<double> y)
    {
        FillBias(in g, batch, bias, y);
        Conv2d.BackwardData(in g, inChannels, batch, x, w, y, accumulate: !bias.IsEmpty);
    }

    /// <summary>dbias (+)= Σ over the batch and each channel's plane of dy [batch, g.Channels, g.Height, g.Width].</summary>
    public static void BiasGradient<T>(in Window2d g, int batch, ReadOnlySpan<T> dy, Span<T> dbias, bool accumulate) where T : IFloatingPointIeee754<T>
    {
        int channels = g.Channels, plane = g.Height * g.Width;
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (dy.Length < (long)batch * g.InSize) throw new ArgumentException($"'dy' has {dy.Length} elements; batch {batch} × {g.InSize} needed.", nameof(dy));
        if (dbias.Length < channels) throw new ArgumentException($"The bias gradient has {dbias.Length} elements; expected {channels}.", nameof(dbias));
        for (int c = 0; c < channels; c++)
        {
            T s = T.Zero;
            for (int n = 0; n < batch; n++)
                foreach (T v in dy.Slice((n * channels + c) * plane, plane)) s += v;
            dbias[c] = accumulate ? dbias[c] + s : s;
        }
    }

    /// <summary>Every output plane of channel c starts at bias[c] (nothing when there is no bias).</summary>
    private static void FillBias<T>(in Window2d g, int batch, ReadOnlySpan<T> bias, Span<T> y)
    {
        if (bias.IsEmpty) return;
        int channels = g.Channels, plane = g.Height * g.Width;
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (bias.Length < channels) throw new ArgumentException($"The bias has {bias.Length} elements; expected {channels} (one per output channel).", nameof(bias));
        if (y.Length < (long)batch * g.InSize) throw new ArgumentException($"'y' has {y.Length} elements; batch {batch} × {g.InSize} needed.", nameof(y));
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++) y.Slice((n * channels + c) * plane, plane).Fill(bias[c]);
    }
}
