using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>
/// 2-D convolution (cross-correlation, PyTorch semantics) on NCHW tensors: x [batch, g.Channels, H, W],
/// w [cout, g.Channels, KH, KW], bias [cout] or empty, y [batch, cout, OutH, OutW].
/// </summary>
/// <remarks>
/// Two float algorithms with identical results (up to rounding), chosen per layer by the code generator:
/// <list type="bullet">
/// <item><b>Direct</b>: each sample's input is copied once into a zero-padded, stride-phase-split scratch block on the
/// stack, then a register tile of 8 output channels × 3 vectors of output columns (16 floats each with AVX-512, else 8)
/// accumulates Σ w·x with broadcast packed weights and FMAs. The data gradient (stride 1) is the same kernel run on dy
/// with the weight flipped and transposed; the weight gradient sums dy·x over the plane in vector lanes. No workspace,
/// and nothing the size of the im2col matrix goes through memory.</item>
/// <item><b>Im2Col</b>: the sample is unfolded into col [ColRows, OutPlane] and multiplied by the packed GEMM; the
/// matrix is kept so the weight gradient can reuse it.</item>
/// </list>
/// Measured on Zen 4 (one thread): direct is faster for stride-1 layers with OutW ≥ 8, a kernel larger than 1×1 and
/// ColRows up to ~300 (cnn_lenetish: forward 1.8x, weight gradient 1.1-1.8x); im2col wins for strided, 1×1, narrow
/// (OutW &lt; 8) and deep (ColRows ≳ 300) layers, and for the data gradient of layers with fewer than 8 input channels.
/// Every variant is correct for every geometry (narrow or unusual shapes fall back to plain loops).
/// Gradients take <c>accumulate</c>: false overwrites the destination, true adds to it. Double versions
/// (<see cref="Forward"/>, <see cref="BackwardData"/>, <see cref="BackwardWeight"/>) are plain reference loops.
/// </remarks>
public static partial class Conv2d
{
    /// <summary>Floats of the im2col workspace per sample: ColRows·OutPlane. The direct variants need none.</summary>
    public static int ColumnsPerSample(in Window2d g) => g.ColRows * g.OutPlane;

    /// <summary>y = conv(x, w) + bias by direct convolution (no workspace).</summary>
    public static unsafe void ForwardDirect(in Window2d g, int cout, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> y)
    {
        Check(in g, cout, batch, x.Length, w.Length, bias.Length, y.Length, nameof(x), nameof(y));
        if (batch == 0) return;
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            if (!UseVectors || !DirectForward(in g, cout, batch, px, pw, bias.IsEmpty ? null : pb, py))
                ScalarForward(in g, cout, batch, px, pw, bias.IsEmpty ? null : pb, py);
        }
    }

    /// <summary>dx (+)= convᵀ(dy, w) by direct convolution (no workspace).</summary>
    public static unsafe void BackwardDataDirect(in Window2d g, int cout, int batch, ReadOnlySpan<float> dy, ReadOnlySpan<float> w,
        Span<float> dx, bool accumulate)
    {
        Check(in g, cout, batch, dx.Length, w.Length, 0, dy.Length, nameof(dx), nameof(dy));
        if (batch == 0) return;
        fixed (float* pg = dy, pw = w, px = dx)
        {
            if (!UseVectors || !DirectBackwardData(in g, cout, batch, pg, pw, px, accumulate))
                ScalarBackwardData(in g, cout, batch, pg, pw, px, accumulate);
        }
    }

    /// <summary>dw (+)= Σ_n dy_n·col_nᵀ and dbias (+)= Σ dy by direct loops (no workspace; dbias skipped when empty).</summary>
    public static unsafe void BackwardWeightDirect(in Window2d g, int cout, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> dy,
        Span<float> dw, Span<float> dbias, bool accumulate)
    {
        Check(in g, cout, batch, x.Length, dw.Length, dbias.Length, dy.Length, nameof(x), nameof(dy));
        fixed (float* px = x, pg = dy, pw = dw, pb = dbias)
        {
            float* bias = dbias.IsEmpty ? null : pb;
            if (!accumulate)
            {
                new Span<float>(pw, cout * g.ColRows).Clear();
                if (bias != null) new Span<float>(bias, cout).Clear();
            }
            if (batch == 0) return;
            if (bias != null) BiasGradient(cout, batch, g.OutPlane, pg, bias);
            if (!UseVectors || !DirectBackwardWeight(in g, cout, batch, px, pg, pw))
                ScalarBackwardWeight(in g, cout, batch, px, pg, pw);
        }
    }

    /// <summary>The Vector256 paths run only where the JIT accelerates them; otherwise plain scalar loops (same results).</summary>
    private static bool UseVectors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256.IsHardwareAccelerated;
    }

    /// <summary>dbias[co] += Σ_{n, plane} dy[n, co, plane].</summary>
    private static unsafe void BiasGradient(int cout, int batch, int plane, float* dy, float* dbias)
    {
        for (int co = 0; co < cout; co++)
        {
            float s = 0;
            for (int n = 0; n < batch; n++) s += Sum(dy + ((nint)n * cout + co) * plane, plane);
            dbias[co] += s;
        }
    }

    private static unsafe float Sum(float* p, int n)
    {
        int i = 0;
        float s = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> a = Vector256<float>.Zero, b = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                a += Vector256.Load(p + i);
                b += Vector256.Load(p + i + 8);
            }
            for (; i <= n - 8; i += 8) a += Vector256.Load(p + i);
            s = Vector256.Sum(a + b);
        }
        for (; i < n; i++) s += p[i];
        return s;
    }

    /// <summary>Validates the geometry and that every span is long enough for <paramref name="batch"/> samples.</summary>
    private static void Check(in Window2d g, int cout, int batch, int inLength, int wLength, int biasLength, int outLength,
        string inName, string outName)
    {
        g.Validate();
        if (cout < 1) throw new ArgumentOutOfRangeException(nameof(cout), cout, "Conv2d needs at least one output channel.");
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        long inNeed = (long)batch * g.InSize, outNeed = (long)batch * cout * g.OutPlane, wNeed = (long)cout * g.ColRows;
        if (inNeed > int.MaxValue || outNeed > int.MaxValue || wNeed > int.MaxValue)
            throw new ArgumentException($"Conv2d batch {batch} × {g} with {cout} output channels exceeds int.MaxValue elements.");
        if (inLength < inNeed)
            throw new ArgumentException($"'{inName}' has {inLength} elements; batch {batch} × [C {g.Channels}, H {g.Height}, W {g.Width}] needs {inNeed}.", inName);
        if (outLength < outNeed)
            throw new ArgumentException($"'{outName}' has {outLength} elements; batch {batch} × [cout {cout}, OutH {g.OutH}, OutW {g.OutW}] needs {outNeed}.", outName);
        if (wLength < wNeed)
            throw new ArgumentException($"The weight has {wLength} elements; [cout {cout}, C {g.Channels}, KH {g.KernelH}, KW {g.KernelW}] needs {wNeed}.");
        if (biasLength != 0 && biasLength < cout)
            throw new ArgumentException($"The bias has {biasLength} elements; expected {cout} (one per output channel) or none.");
    }

    private static void CheckColumns(in Window2d g, int samples, int colLength)
    {
        long need = (long)samples * ColumnsPerSample(in g);
        if (colLength < need)
            throw new ArgumentException(
                $"The im2col workspace has {colLength} floats; {samples} sample(s) × ColRows {g.ColRows} × OutPlane {g.OutPlane} needs {need}.", "col");
    }
}
