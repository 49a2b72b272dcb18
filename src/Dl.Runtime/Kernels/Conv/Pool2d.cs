using System.Numerics;

namespace Dl.Kernels;

/// <summary>
/// 2-D max and average pooling on NCHW tensors: x [batch, C, H, W] → y [batch, C, OutH, OutW], each channel pooled
/// on its own over the windows of a <see cref="Window2d"/>.
/// </summary>
/// <remarks>
/// PyTorch semantics: max pooling treats padding as -∞ (never selected) and routes each window's gradient to the
/// FIRST maximum in row-major window order (a NaN counts as a maximum, as in PyTorch); the backward pass recomputes
/// that position from x instead of keeping an index buffer. Average pooling divides by KH·KW including padding cells
/// (count_include_pad = true). Gradients take <c>accumulate</c>: false overwrites dx, true adds to it.
/// </remarks>
public static partial class Pool2d
{
    /// <summary>y = max over each window of x (padding never wins); with <paramref name="relu"/>, y = max(0, that), which
    /// equals max pooling of ReLU(x) (ReLU is monotone), so the generator fuses ReLU → max pool into this one pass.</summary>
    public static void MaxForward(in Window2d g, int batch, ReadOnlySpan<float> x, Span<float> y, bool relu = false)
    {
        Check(in g, batch, x.Length, y.Length, nameof(x), nameof(y));
        if (FastMax2x2(in g)) MaxForward2x2(in g, batch, x, y);
        else MaxForwardCore(in g, batch, x, y);
        if (relu)
        {
            Span<float> outputs = y[..(batch * g.Channels * g.OutPlane)];
            Elementwise.Unary<ReluOp>(outputs, outputs, 0f);
        }
    }

    /// <inheritdoc cref="MaxForward(in Window2d, int, ReadOnlySpan{float}, Span{float}, bool)"/>
    public static void MaxForward(in Window2d g, int batch, ReadOnlySpan<double> x, Span<double> y, bool relu = false)
    {
        Check(in g, batch, x.Length, y.Length, nameof(x), nameof(y));
        MaxForwardCore(in g, batch, x, y);
        if (relu)
            foreach (ref double v in y[..(batch * g.Channels * g.OutPlane)]) v = ReluOp.Forward(v, 0.0);
    }

    /// <summary>dx (+)= dy routed to the first maximum of each window (recomputed from x). With <paramref name="relu"/>
    /// (the forward pass was <c>MaxForward(relu: true)</c>), only windows whose output y is positive pass their
    /// gradient: the ReLU's derivative (0 at 0), applied on the pooled side.</summary>
    public static void MaxBackward(in Window2d g, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy,
        Span<float> dx, bool accumulate, bool relu = false)
    {
        Check(in g, batch, x.Length, y.Length, nameof(x), nameof(y));
        Check(in g, batch, dx.Length, dy.Length, nameof(dx), nameof(dy));
        if (FastMax2x2(in g)) MaxBackward2x2(in g, batch, x, relu ? y : default, dy, dx, accumulate);
        else MaxBackwardCore(in g, batch, x, relu ? y : default, dy, dx, accumulate);
    }

    /// <inheritdoc cref="MaxBackward(in Window2d, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, bool, bool)"/>
    public static void MaxBackward(in Window2d g, int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy,
        Span<double> dx, bool accumulate, bool relu = false)
    {
        Check(in g, batch, x.Length, y.Length, nameof(x), nameof(y));
        Check(in g, batch, dx.Length, dy.Length, nameof(dx), nameof(dy));
        MaxBackwardCore(in g, batch, x, relu ? y : default, dy, dx, accumulate);
    }

    /// <summary>y = Σ window / (KH·KW), padding cells counted as zeros.</summary>
    public static void AvgForward(in Window2d g, int batch, ReadOnlySpan<float> x, Span<float> y)
    {
        Check(in g, batch, x.Length, y.Length, nameof(x), nameof(y));
        AvgForwardCore(in g, batch, x, y);
    }

    /// <inheritdoc cref="AvgForward(in Window2d, int, ReadOnlySpan{float}, Span{float})"/>
    public static void AvgForward(in Window2d g, int batch, ReadOnlySpan<double> x, Span<double> y)
    {
        Check(in g, batch, x.Length, y.Length, nameof(x), nameof(y));
        AvgForwardCore(in g, batch, x, y);
    }

    /// <summary>dx (+)= dy / (KH·KW) spread over each window's real cells.</summary>
    public static void AvgBackward(in Window2d g, int batch, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate)
    {
        Check(in g, batch, dx.Length, dy.Length, nameof(dx), nameof(dy));
        AvgBackwardCore(in g, batch, dy, dx, accumulate);
    }

    /// <inheritdoc cref="AvgBackward(in Window2d, int, ReadOnlySpan{float}, Span{float}, bool)"/>
    public static void AvgBackward(in Window2d g, int batch, ReadOnlySpan<double> dy, Span<double> dx, bool accumulate)
    {
        Check(in g, batch, dx.Length, dy.Length, nameof(dx), nameof(dy));
        AvgBackwardCore(in g, batch, dy, dx, accumulate);
    }

    private static void Check(in Window2d g, int batch, int inLength, int outLength, string inName, string outName)
    {
        g.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        long inNeed = (long)batch * g.InSize, outNeed = (long)batch * g.Channels * g.OutPlane;
        if (inNeed > int.MaxValue || outNeed > int.MaxValue)
            throw new ArgumentException($"Pool2d batch {batch} × {g} exceeds int.MaxValue elements.");
        if (inLength < inNeed)
            throw new ArgumentException($"'{inName}' has {inLength} elements; batch {batch} × [C {g.Channels}, H {g.Height}, W {g.Width}] needs {inNeed}.", inName);
        if (outLength < outNeed)
            throw new ArgumentException($"'{outName}' has {outLength} elements; batch {batch} × [C {g.Channels}, OutH {g.OutH}, OutW {g.OutW}] needs {outNeed}.", outName);
    }

    /// <summary>Row-major index inside the plane of the first maximum of window (oy, ox) (PyTorch: NaN wins, later NaN too).</summary>
    private static int ArgMax<T>(in Window2d g, ReadOnlySpan<T> plane, int oy, int ox) where T : IFloatingPointIeee754<T>
    {
        int iy0 = oy * g.StrideH - g.PadTop, ix0 = ox * g.StrideW - g.PadLeft;
        int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(g.KernelH, g.Height - iy0);
        int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(g.KernelW, g.Width - ix0);
        int best = (iy0 + ky0) * g.Width + ix0 + kx0;
        T bv = plane[best];
        for (int ky = ky0; ky < ky1; ky++)
        {
            int row = (iy0 + ky) * g.Width + ix0;
            for (int kx = kx0; kx < kx1; kx++)
            {
                T v = plane[row + kx];
                if (v > bv || T.IsNaN(v)) { bv = v; best = row + kx; }
            }
        }
        return best;
    }

    private static void MaxForwardCore<T>(in Window2d g, int batch, ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        int planes = batch * g.Channels, inPlane = g.Height * g.Width, outPlane = g.OutPlane, ow = g.OutW;
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<T> xp = x.Slice(p * inPlane, inPlane);
            Span<T> yp = y.Slice(p * outPlane, outPlane);
            for (int oy = 0; oy < g.OutH; oy++)
                for (int ox = 0; ox < ow; ox++) yp[oy * ow + ox] = xp[ArgMax(in g, xp, oy, ox)];
        }
    }

    /// <summary><paramref name="reluOutput"/>: empty, or the fused ReLU's pooled output (a window passes its gradient
    /// only where it is positive).</summary>
    private static void MaxBackwardCore<T>(in Window2d g, int batch, ReadOnlySpan<T> x, ReadOnlySpan<T> reluOutput, ReadOnlySpan<T> dy,
        Span<T> dx, bool accumulate)
        where T : IFloatingPointIeee754<T>
    {
        bool relu = !reluOutput.IsEmpty;
        int planes = batch * g.Channels, inPlane = g.Height * g.Width, outPlane = g.OutPlane, ow = g.OutW;
        if (!accumulate) dx[..(planes * inPlane)].Clear();
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<T> xp = x.Slice(p * inPlane, inPlane);
            ReadOnlySpan<T> gp = dy.Slice(p * outPlane, outPlane);
            Span<T> dp = dx.Slice(p * inPlane, inPlane);
            for (int oy = 0; oy < g.OutH; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    if (relu && !(reluOutput[p * outPlane + oy * ow + ox] > T.Zero)) continue;
                    dp[ArgMax(in g, xp, oy, ox)] += gp[oy * ow + ox];
                }
        }
    }

    private static void AvgForwardCore<T>(in Window2d g, int batch, ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        int planes = batch * g.Channels, inPlane = g.Height * g.Width, outPlane = g.OutPlane, ow = g.OutW;
        T scale = T.One / T.CreateTruncating(g.KernelH * g.KernelW);
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<T> xp = x.Slice(p * inPlane, inPlane);
            Span<T> yp = y.Slice(p * outPlane, outPlane);
            for (int oy = 0; oy < g.OutH; oy++)
            {
                int iy0 = oy * g.StrideH - g.PadTop;
                int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(g.KernelH, g.Height - iy0);
                for (int ox = 0; ox < ow; ox++)
                {
                    int ix0 = ox * g.StrideW - g.PadLeft;
                    int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(g.KernelW, g.Width - ix0);
                    T s = T.Zero;
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) s += xp[(iy0 + ky) * g.Width + ix0 + kx];
                    yp[oy * ow + ox] = s * scale;
                }
            }
        }
    }

    private static void AvgBackwardCore<T>(in Window2d g, int batch, ReadOnlySpan<T> dy, Span<T> dx, bool accumulate)
        where T : IFloatingPointIeee754<T>
    {
        int planes = batch * g.Channels, inPlane = g.Height * g.Width, outPlane = g.OutPlane, ow = g.OutW;
        T scale = T.One / T.CreateTruncating(g.KernelH * g.KernelW);
        if (!accumulate) dx[..(planes * inPlane)].Clear();
        for (int p = 0; p < planes; p++)
        {
            ReadOnlySpan<T> gp = dy.Slice(p * outPlane, outPlane);
            Span<T> dp = dx.Slice(p * inPlane, inPlane);
            for (int oy = 0; oy < g.OutH; oy++)
            {
                int iy0 = oy * g.StrideH - g.PadTop;
                int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(g.KernelH, g.Height - iy0);
                for (int ox = 0; ox < ow; ox++)
                {
                    int ix0 = ox * g.StrideW - g.PadLeft;
                    int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(g.KernelW, g.Width - ix0);
                    T v = gp[oy * ow + ox] * scale;
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++) dp[(iy0 + ky) * g.Width + ix0 + kx] += v;
                }
            }
        }
    }
}
