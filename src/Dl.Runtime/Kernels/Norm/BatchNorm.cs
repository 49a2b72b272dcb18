using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>Batch normalisation (Ioffe and Szegedy, 2015) over a block x [batch, C, S], row-major: S is the size of
/// one channel plane (H·W for BatchNorm2d, L for BatchNorm1d over sequences, 1 for dense features [batch, C]).
/// Channel c is normalised over its N = batch·S values, which lie in <c>batch</c> contiguous segments of length S
/// starting at (n·C + c)·S.</summary>
/// <remarks>
/// <para>Semantics are PyTorch's: training mode normalises with the batch mean and the <em>biased</em> variance
/// σ² = Σ(x − μ)²/N, y = γ·(x − μ)/√(σ² + ε) + β, and moves the running statistics as
/// rm ← (1 − m)·rm + m·μ and rv ← (1 − m)·rv + m·σ²·N/(N − 1) (the unbiased variance; the biased one when N = 1).
/// Evaluation mode uses the running statistics in place of μ and σ², which then are constants for the backward.</para>
/// <para>The float kernels work channel by channel: one vectorised pass accumulates Σ(x − k) and Σ(x − k)² with the
/// shift k = the channel's first value (which keeps the one-pass variance from cancelling catastrophically when
/// |μ| ≫ σ), each segment's Vector256 lanes being reduced into double accumulators; a second pass writes
/// y = (x − μ)·a + β with a = γ/√(σ² + ε). The channel's N values are re-read while still in cache.
/// The backward has the same two-pass shape. Float sums run in vector lanes, so results may differ from the double
/// overloads (plain loops, exact two-pass variance) in the last bits.</para>
/// <para>Outputs may be the very same span as an input (in place) but must not otherwise overlap one. Nothing is
/// allocated: the saved statistics <c>mean</c> and <c>invStd</c> ([C] each) are the only workspace.</para>
/// </remarks>
public static partial class BatchNorm
{
    /// <summary>Training-mode forward: per-channel batch mean μ and biased variance σ² over batch·S values;
    /// y = γ·(x − μ)·invStd + β with invStd = 1/√(σ² + ε). Saves μ in <paramref name="mean"/> and invStd in
    /// <paramref name="invStd"/> for <see cref="BackwardTrain(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, bool)"/>,
    /// and updates the running statistics (PyTorch's rule, see the class remarks) unless both are empty.</summary>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="channels">C (≥ 1).</param>
    /// <param name="spatial">S, values per channel plane (H·W; 1 for dense features).</param>
    /// <param name="x">[batch, channels, spatial] input.</param>
    /// <param name="gamma">[channels] scale γ.</param>
    /// <param name="beta">[channels] shift β.</param>
    /// <param name="y">[batch, channels, spatial] output; may be <paramref name="x"/> itself.</param>
    /// <param name="mean">[channels] receives μ.</param>
    /// <param name="invStd">[channels] receives 1/√(σ² + ε).</param>
    /// <param name="runningMean">[channels] running mean, updated in place; empty (with <paramref name="runningVar"/>) to track none.</param>
    /// <param name="runningVar">[channels] running (unbiased) variance, updated in place; empty to track none.</param>
    /// <param name="momentum">m in [0, 1] (PyTorch's default 0.1).</param>
    /// <param name="eps">ε ≥ 0 added to the variance (PyTorch's default 1e-5; Dl.LayerRules.NormEps).</param>
    public static void ForwardTrain(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> y, Span<float> mean, Span<float> invStd, Span<float> runningMean, Span<float> runningVar, float momentum, float eps)
    {
        CheckForwardTrain(batch, channels, spatial, x.Length, gamma.Length, beta.Length, y.Length, mean.Length, invStd.Length,
            runningMean.Length, runningVar.Length, momentum, eps);
        CheckAlias(x, y, nameof(y));
        long count = (long)batch * spatial;
        bool track = !runningMean.IsEmpty;
        if (UseRowOrder(channels, spatial))
        {
            ForwardTrainRows(batch, channels, spatial, x, gamma, beta, y, mean, invStd, runningMean, runningVar, momentum, eps);
            return;
        }
        for (int c = 0; c < channels; c++)
        {
            float shift = x[c * spatial];
            double s1 = 0, s2 = 0;
            for (int n = 0; n < batch; n++)
            {
                ShiftedSums(x.Slice((n * channels + c) * spatial, spatial), shift, out double a1, out double a2);
                s1 += a1;
                s2 += a2;
            }
            double d = s1 / count;
            double variance = Math.Max(0.0, s2 / count - d * d);
            double mu = shift + d;
            double inv = 1.0 / Math.Sqrt(variance + eps);
            mean[c] = (float)mu;
            invStd[c] = (float)inv;
            if (track) UpdateRunning(ref runningMean[c], ref runningVar[c], mu, variance, count, momentum);
            float fa = (float)(gamma[c] * inv), fm = (float)mu, fb = beta[c];
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                Normalize(x.Slice(o, spatial), y.Slice(o, spatial), fm, fa, fb);
            }
        }
    }

    /// <summary>Evaluation-mode forward: y = γ·(x − rm)/√(rv + ε) + β with the running statistics.</summary>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="channels">C (≥ 1).</param>
    /// <param name="spatial">S, values per channel plane (H·W; 1 for dense features).</param>
    /// <param name="x">[batch, channels, spatial] input.</param>
    /// <param name="gamma">[channels] scale γ.</param>
    /// <param name="beta">[channels] shift β.</param>
    /// <param name="y">[batch, channels, spatial] output; may be <paramref name="x"/> itself.</param>
    /// <param name="runningMean">[channels] running mean rm.</param>
    /// <param name="runningVar">[channels] running variance rv.</param>
    /// <param name="eps">ε ≥ 0 added to rv.</param>
    public static void ForwardEval(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> y, ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float eps)
    {
        CheckEval(batch, channels, spatial, x.Length, gamma.Length, beta.Length, runningMean.Length, runningVar.Length, eps);
        CheckSize(y.Length, batch, channels, spatial, nameof(y));
        CheckAlias(x, y, nameof(y));
        if (UseRowOrder(channels, spatial))
        {
            Span<float> scale = stackalloc float[channels];
            for (int c = 0; c < channels; c++) scale[c] = (float)(gamma[c] / Math.Sqrt(runningVar[c] + (double)eps));
            for (int n = 0, j = 0; n < batch; n++)
                for (int c = 0; c < channels; c++)
                {
                    float m = runningMean[c], a = scale[c], b = beta[c];
                    for (int i = 0; i < spatial; i++, j++) y[j] = (x[j] - m) * a + b;
                }
            return;
        }
        for (int c = 0; c < channels; c++)
        {
            float fa = (float)(gamma[c] / Math.Sqrt(runningVar[c] + (double)eps)), fm = runningMean[c], fb = beta[c];
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                Normalize(x.Slice(o, spatial), y.Slice(o, spatial), fm, fa, fb);
            }
        }
    }

    /// <summary>Training-mode backward through the batch statistics. With x̂ = (x − μ)·invStd, per channel:
    /// dβ (+)= Σ dy; dγ (+)= Σ dy·x̂; dx (+)= γ·invStd·(dy − Σdy/N − x̂·Σ(dy·x̂)/N).</summary>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="channels">C (≥ 1).</param>
    /// <param name="spatial">S, values per channel plane (H·W; 1 for dense features).</param>
    /// <param name="x">The forward's input.</param>
    /// <param name="gamma">[channels] scale γ.</param>
    /// <param name="mean">μ saved by <see cref="ForwardTrain(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, Span{float}, Span{float}, float, float)"/>.</param>
    /// <param name="invStd">1/√(σ² + ε) saved by the forward.</param>
    /// <param name="dy">[batch, channels, spatial] gradient of the output.</param>
    /// <param name="dx">[batch, channels, spatial], or empty to skip the input gradient; may be <paramref name="dy"/> itself.</param>
    /// <param name="dgamma">[channels], or empty to skip.</param>
    /// <param name="dbeta">[channels], or empty to skip.</param>
    /// <param name="accumulate">false overwrites the gradients, true adds to them.</param>
    public static void BackwardTrain(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dgamma, Span<float> dbeta, bool accumulate)
    {
        CheckBackward(batch, channels, spatial, x.Length, gamma.Length, mean.Length, nameof(mean), invStd.Length, nameof(invStd),
            dy.Length, dx.Length, dgamma.Length, dbeta.Length);
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        long count = (long)batch * spatial;
        if (UseRowOrder(channels, spatial))
        {
            BackwardRows(batch, channels, spatial, x, gamma, mean, invStd, dy, dx, dgamma, dbeta, accumulate, count, train: true);
            return;
        }
        for (int c = 0; c < channels; c++)
        {
            float mu = mean[c];
            double inv = invStd[c];
            double sdy = 0, sxd = 0;
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                CenteredSums(x.Slice(o, spatial), dy.Slice(o, spatial), mu, out double a1, out double a2);
                sdy += a1;
                sxd += a2;
            }
            if (!dbeta.IsEmpty) dbeta[c] = accumulate ? (float)(dbeta[c] + sdy) : (float)sdy;
            if (!dgamma.IsEmpty) dgamma[c] = accumulate ? (float)(dgamma[c] + sxd * inv) : (float)(sxd * inv);
            if (dx.IsEmpty) continue;
            // dx = k·dy + p·(x − μ) + q with k = γ·invStd, p = −k·invStd²·Σ(dy·(x − μ))/N, q = −k·Σdy/N.
            double k = gamma[c] * inv;
            float fk = (float)k, fp = (float)(-k * inv * inv * sxd / count), fq = (float)(-k * sdy / count);
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                Combine(dy.Slice(o, spatial), x.Slice(o, spatial), dx.Slice(o, spatial), fk, fp, mu, fq, accumulate);
            }
        }
    }

    /// <summary>Evaluation-mode backward, the running statistics being constants. With r = 1/√(rv + ε), per channel:
    /// dβ (+)= Σ dy; dγ (+)= Σ dy·(x − rm)·r; dx (+)= γ·r·dy.</summary>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="channels">C (≥ 1).</param>
    /// <param name="spatial">S, values per channel plane (H·W; 1 for dense features).</param>
    /// <param name="x">The forward's input.</param>
    /// <param name="gamma">[channels] scale γ.</param>
    /// <param name="runningMean">[channels] running mean used by the forward.</param>
    /// <param name="runningVar">[channels] running variance used by the forward.</param>
    /// <param name="eps">ε used by the forward.</param>
    /// <param name="dy">[batch, channels, spatial] gradient of the output.</param>
    /// <param name="dx">[batch, channels, spatial], or empty to skip; may be <paramref name="dy"/> itself.</param>
    /// <param name="dgamma">[channels], or empty to skip.</param>
    /// <param name="dbeta">[channels], or empty to skip.</param>
    /// <param name="accumulate">false overwrites the gradients, true adds to them.</param>
    public static void BackwardEval(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVar, float eps, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dgamma, Span<float> dbeta, bool accumulate)
    {
        CheckBackward(batch, channels, spatial, x.Length, gamma.Length, runningMean.Length, nameof(runningMean), runningVar.Length, nameof(runningVar),
            dy.Length, dx.Length, dgamma.Length, dbeta.Length);
        CheckEps(eps);
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        if (UseRowOrder(channels, spatial))
        {
            Span<float> inv = stackalloc float[channels];
            for (int c = 0; c < channels; c++) inv[c] = (float)(1.0 / Math.Sqrt(runningVar[c] + (double)eps));
            BackwardRows(batch, channels, spatial, x, gamma, runningMean, inv, dy, dx, dgamma, dbeta, accumulate, (long)batch * spatial, train: false);
            return;
        }
        bool parameters = !dgamma.IsEmpty || !dbeta.IsEmpty;
        for (int c = 0; c < channels; c++)
        {
            float mu = runningMean[c];
            double inv = 1.0 / Math.Sqrt(runningVar[c] + (double)eps);
            if (parameters)
            {
                double sdy = 0, sxd = 0;
                for (int n = 0; n < batch; n++)
                {
                    int o = (n * channels + c) * spatial;
                    CenteredSums(x.Slice(o, spatial), dy.Slice(o, spatial), mu, out double a1, out double a2);
                    sdy += a1;
                    sxd += a2;
                }
                if (!dbeta.IsEmpty) dbeta[c] = accumulate ? (float)(dbeta[c] + sdy) : (float)sdy;
                if (!dgamma.IsEmpty) dgamma[c] = accumulate ? (float)(dgamma[c] + sxd * inv) : (float)(sxd * inv);
            }
            if (dx.IsEmpty) continue;
            float fk = (float)(gamma[c] * inv);
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                Combine(dy.Slice(o, spatial), x.Slice(o, spatial), dx.Slice(o, spatial), fk, 0f, mu, 0f, accumulate);
            }
        }
    }

    private static void UpdateRunning(ref float runningMean, ref float runningVar, double mean, double biasedVariance, long count, float momentum)
    {
        double unbiased = count > 1 ? biasedVariance * count / (count - 1) : biasedVariance;
        runningMean = (float)((1.0 - momentum) * runningMean + momentum * mean);
        runningVar = (float)((1.0 - momentum) * runningVar + momentum * unbiased);
    }

    // ---- Row order for small planes (dense features, S < 8) ----

    /// <summary>Largest C handled in row order (its per-channel scratch lives on the stack: 2·C doubles + 3·C floats).</summary>
    private const int RowOrderMaxChannels = 1024;

    /// <summary>Planes shorter than a vector gain nothing from the channel-by-channel vector loops, whose segments would
    /// be a few scalars each at a stride of C·S elements; walking the block in memory order with per-channel
    /// accumulators on the stack is several times faster.</summary>
    private static bool UseRowOrder(int channels, int spatial) => spatial < Vector256<float>.Count && channels <= RowOrderMaxChannels;

    [SkipLocalsInit]
    private static void ForwardTrainRows(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> y, Span<float> mean, Span<float> invStd, Span<float> runningMean, Span<float> runningVar, float momentum, float eps)
    {
        Span<double> s1 = stackalloc double[channels];
        Span<double> s2 = stackalloc double[channels];
        Span<float> scale = stackalloc float[channels];
        s1.Clear();
        s2.Clear();
        long count = (long)batch * spatial;
        for (int n = 0, j = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
            {
                float k = x[c * spatial];   // shift: the channel's first value
                double a1 = 0, a2 = 0;
                for (int i = 0; i < spatial; i++, j++)
                {
                    double d = x[j] - k;
                    a1 += d;
                    a2 += d * d;
                }
                s1[c] += a1;
                s2[c] += a2;
            }
        for (int c = 0; c < channels; c++)
        {
            double d = s1[c] / count;
            double variance = Math.Max(0.0, s2[c] / count - d * d);
            double mu = x[c * spatial] + d;
            double inv = 1.0 / Math.Sqrt(variance + eps);
            mean[c] = (float)mu;
            invStd[c] = (float)inv;
            if (!runningMean.IsEmpty) UpdateRunning(ref runningMean[c], ref runningVar[c], mu, variance, count, momentum);
            scale[c] = (float)(gamma[c] * inv);
        }
        for (int n = 0, j = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
            {
                float m = mean[c], a = scale[c], b = beta[c];
                for (int i = 0; i < spatial; i++, j++) y[j] = (x[j] - m) * a + b;
            }
    }

    /// <summary>Both backwards in row order; <paramref name="invStd"/> is the saved 1/σ (train) or 1/√(rv + ε) (eval).</summary>
    [SkipLocalsInit]
    private static void BackwardRows(int batch, int channels, int spatial, ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> invStd, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dgamma, Span<float> dbeta, bool accumulate, long count, bool train)
    {
        Span<double> sdy = stackalloc double[channels];
        Span<double> sxd = stackalloc double[channels];
        Span<float> coef = stackalloc float[3 * channels];
        sdy.Clear();
        sxd.Clear();
        if (train || !dgamma.IsEmpty || !dbeta.IsEmpty)
        {
            for (int n = 0, j = 0; n < batch; n++)
                for (int c = 0; c < channels; c++)
                {
                    float m = mean[c];
                    double a1 = 0, a2 = 0;
                    for (int i = 0; i < spatial; i++, j++)
                    {
                        float g = dy[j];
                        a1 += g;
                        a2 += g * (double)(x[j] - m);
                    }
                    sdy[c] += a1;
                    sxd[c] += a2;
                }
        }
        for (int c = 0; c < channels; c++)
        {
            double inv = invStd[c];
            if (!dbeta.IsEmpty) dbeta[c] = accumulate ? (float)(dbeta[c] + sdy[c]) : (float)sdy[c];
            if (!dgamma.IsEmpty) dgamma[c] = accumulate ? (float)(dgamma[c] + sxd[c] * inv) : (float)(sxd[c] * inv);
            double k = gamma[c] * inv;
            coef[3 * c] = (float)k;
            coef[3 * c + 1] = train ? (float)(-k * inv * inv * sxd[c] / count) : 0f;
            coef[3 * c + 2] = train ? (float)(-k * sdy[c] / count) : 0f;
        }
        if (dx.IsEmpty) return;
        for (int n = 0, j = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
            {
                float k = coef[3 * c], p = coef[3 * c + 1], q = coef[3 * c + 2], m = mean[c];
                for (int i = 0; i < spatial; i++, j++)
                {
                    float g = dy[j] * k + (x[j] - m) * p + q;
                    dx[j] = accumulate ? dx[j] + g : g;
                }
            }
    }

    // ---- Vectorised segment loops (one segment = one channel plane of one sample) ----

    /// <summary>Σ(x − k) and Σ(x − k)² over one segment. Four independent accumulator pairs (32 floats per step)
    /// keep the adds from waiting on each other's latency; the lanes are reduced into doubles once per segment.</summary>
    private static void ShiftedSums(ReadOnlySpan<float> x, float k, out double s1, out double s2)
    {
        const int W = 8; // Vector256<float>.Count
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        double r1 = 0, r2 = 0;
        if (Vector256.IsHardwareAccelerated && n >= W)
        {
            Vector256<float> kv = Vector256.Create(k);
            Vector256<float> a1 = default, a2 = default, b1 = default, b2 = default, c1 = default, c2 = default, d1 = default, d2 = default;
            for (; i <= n - 4 * W; i += 4 * W)
            {
                Vector256<float> p = Vector256.LoadUnsafe(ref xr, (nuint)i) - kv;
                Vector256<float> q = Vector256.LoadUnsafe(ref xr, (nuint)(i + W)) - kv;
                Vector256<float> r = Vector256.LoadUnsafe(ref xr, (nuint)(i + 2 * W)) - kv;
                Vector256<float> t = Vector256.LoadUnsafe(ref xr, (nuint)(i + 3 * W)) - kv;
                a1 += p; a2 += p * p;
                b1 += q; b2 += q * q;
                c1 += r; c2 += r * r;
                d1 += t; d2 += t * t;
            }
            for (; i <= n - W; i += W)
            {
                Vector256<float> p = Vector256.LoadUnsafe(ref xr, (nuint)i) - kv;
                a1 += p; a2 += p * p;
            }
            r1 = Vector256.Sum((a1 + b1) + (c1 + d1));
            r2 = Vector256.Sum((a2 + b2) + (c2 + d2));
        }
        for (; i < n; i++)
        {
            double d = Unsafe.Add(ref xr, i) - k;
            r1 += d;
            r2 += d * d;
        }
        s1 = r1;
        s2 = r2;
    }

    /// <summary>Σ dy and Σ dy·(x − m) over one segment (four accumulator pairs, as <see cref="ShiftedSums"/>).</summary>
    private static void CenteredSums(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float m, out double sdy, out double sxd)
    {
        const int W = 8;
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(dy);
        double r1 = 0, r2 = 0;
        if (Vector256.IsHardwareAccelerated && n >= W)
        {
            Vector256<float> mv = Vector256.Create(m);
            Vector256<float> a1 = default, a2 = default, b1 = default, b2 = default, c1 = default, c2 = default, d1 = default, d2 = default;
            for (; i <= n - 4 * W; i += 4 * W)
            {
                Vector256<float> p = Vector256.LoadUnsafe(ref gr, (nuint)i), q = Vector256.LoadUnsafe(ref gr, (nuint)(i + W));
                Vector256<float> r = Vector256.LoadUnsafe(ref gr, (nuint)(i + 2 * W)), t = Vector256.LoadUnsafe(ref gr, (nuint)(i + 3 * W));
                a1 += p; a2 += p * (Vector256.LoadUnsafe(ref xr, (nuint)i) - mv);
                b1 += q; b2 += q * (Vector256.LoadUnsafe(ref xr, (nuint)(i + W)) - mv);
                c1 += r; c2 += r * (Vector256.LoadUnsafe(ref xr, (nuint)(i + 2 * W)) - mv);
                d1 += t; d2 += t * (Vector256.LoadUnsafe(ref xr, (nuint)(i + 3 * W)) - mv);
            }
            for (; i <= n - W; i += W)
            {
                Vector256<float> p = Vector256.LoadUnsafe(ref gr, (nuint)i);
                a1 += p; a2 += p * (Vector256.LoadUnsafe(ref xr, (nuint)i) - mv);
            }
            r1 = Vector256.Sum((a1 + b1) + (c1 + d1));
            r2 = Vector256.Sum((a2 + b2) + (c2 + d2));
        }
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref gr, i);
            r1 += g;
            r2 += g * (double)(Unsafe.Add(ref xr, i) - m);
        }
        sdy = r1;
        sxd = r2;
    }

    /// <summary>y = (x − m)·a + b over one segment (y may be x). Centring first keeps y accurate when |m| ≫ σ.</summary>
    private static void Normalize(ReadOnlySpan<float> x, Span<float> y, float m, float a, float b)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> mv = Vector256.Create(m), av = Vector256.Create(a), bv = Vector256.Create(b);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                ((Vector256.LoadUnsafe(ref xr, (nuint)i) - mv) * av + bv).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref yr, i) = (Unsafe.Add(ref xr, i) - m) * a + b;
    }

    /// <summary>dx (+)= k·dy + p·(x − m) + q over one segment (dx may be dy or x).</summary>
    private static void Combine(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dx, float k, float p, float m, float q, bool accumulate)
    {
        int n = dy.Length, i = 0;
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> kv = Vector256.Create(k), pv = Vector256.Create(p), mv = Vector256.Create(m), qv = Vector256.Create(q);
            if (accumulate)
            {
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    Vector256<float> g = Vector256.LoadUnsafe(ref gr, (nuint)i) * kv + (Vector256.LoadUnsafe(ref xr, (nuint)i) - mv) * pv + qv;
                    (Vector256.LoadUnsafe(ref dr, (nuint)i) + g).StoreUnsafe(ref dr, (nuint)i);
                }
            }
            else
            {
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                    (Vector256.LoadUnsafe(ref gr, (nuint)i) * kv + (Vector256.LoadUnsafe(ref xr, (nuint)i) - mv) * pv + qv).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref gr, i) * k + (Unsafe.Add(ref xr, i) - m) * p + q;
            Unsafe.Add(ref dr, i) = accumulate ? Unsafe.Add(ref dr, i) + g : g;
        }
    }

    // ---- Argument checks (shared by the float and double overloads) ----

    private static void CheckShape(int batch, int channels, int spatial)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch is {batch}; expected at least 1.");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, $"channels is {channels}; expected at least 1.");
        if (spatial < 1) throw new ArgumentOutOfRangeException(nameof(spatial), spatial, $"spatial (the plane size H·W, 1 for dense features) is {spatial}; expected at least 1.");
        if ((long)batch * channels * spatial > int.MaxValue)
            throw new ArgumentException($"batch × channels × spatial = {batch} × {channels} × {spatial} exceeds the largest span ({int.MaxValue}).", nameof(batch));
    }

    private static void CheckSize(int length, int batch, int channels, int spatial, string name)
    {
        if (length != (long)batch * channels * spatial)
            throw new ArgumentException(
                $"{name} has {length} elements; expected batch × channels × spatial = {batch} × {channels} × {spatial} = {(long)batch * channels * spatial}.", name);
    }

    private static void CheckChannels(int length, int channels, string name, bool optional = false)
    {
        if (length != channels && !(optional && length == 0))
            throw new ArgumentException($"{name} has {length} elements; expected one per channel ({channels}){(optional ? " or none" : "")}.", name);
    }

    private static void CheckEps<T>(T eps) where T : IFloatingPointIeee754<T>
    {
        if (LayerRules.NormEps(double.CreateChecked(eps)) is { } why) throw new ArgumentOutOfRangeException(nameof(eps), eps, why + ".");
    }

    private static void CheckForwardTrain<T>(int batch, int channels, int spatial, int x, int gamma, int beta, int y, int mean, int invStd,
        int runningMean, int runningVar, T momentum, T eps) where T : IFloatingPointIeee754<T>
    {
        CheckShape(batch, channels, spatial);
        CheckSize(x, batch, channels, spatial, nameof(x));
        CheckSize(y, batch, channels, spatial, nameof(y));
        CheckChannels(gamma, channels, nameof(gamma));
        CheckChannels(beta, channels, nameof(beta));
        CheckChannels(mean, channels, nameof(mean));
        CheckChannels(invStd, channels, nameof(invStd));
        CheckChannels(runningMean, channels, nameof(runningMean), optional: true);
        CheckChannels(runningVar, channels, nameof(runningVar), optional: true);
        if (runningMean != runningVar)
            throw new ArgumentException($"runningMean has {runningMean} elements but runningVar has {runningVar}; track both running statistics or neither.", nameof(runningVar));
        if (!(momentum >= T.Zero && momentum <= T.One))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"momentum is {momentum}; expected a value in [0, 1] (typically 0.1).");
        CheckEps(eps);
    }

    private static void CheckEval<T>(int batch, int channels, int spatial, int x, int gamma, int beta, int runningMean, int runningVar, T eps)
        where T : IFloatingPointIeee754<T>
    {
        CheckShape(batch, channels, spatial);
        CheckSize(x, batch, channels, spatial, nameof(x));
        CheckChannels(gamma, channels, nameof(gamma));
        CheckChannels(beta, channels, nameof(beta));
        CheckChannels(runningMean, channels, nameof(runningMean));
        CheckChannels(runningVar, channels, nameof(runningVar));
        CheckEps(eps);
    }

    private static void CheckBackward(int batch, int channels, int spatial, int x, int gamma, int stat1, string stat1Name, int stat2, string stat2Name,
        int dy, int dx, int dgamma, int dbeta)
    {
        CheckShape(batch, channels, spatial);
        CheckSize(x, batch, channels, spatial, nameof(x));
        CheckSize(dy, batch, channels, spatial, nameof(dy));
        if (dx != 0) CheckSize(dx, batch, channels, spatial, nameof(dx));
        CheckChannels(gamma, channels, nameof(gamma));
        CheckChannels(stat1, channels, stat1Name);
        CheckChannels(stat2, channels, stat2Name);
        CheckChannels(dgamma, channels, nameof(dgamma), optional: true);
        CheckChannels(dbeta, channels, nameof(dbeta), optional: true);
    }

    /// <summary>An output may be an input exactly (in place, each element is read before it is written) but not
    /// shifted against it.</summary>
    private static void CheckAlias<T>(ReadOnlySpan<T> input, Span<T> output, string name)
    {
        if (input.Overlaps(output, out int offset) && offset != 0)
            throw new ArgumentException($"'{name}' overlaps an input at an offset of {offset} elements; it must be the same span or disjoint.", name);
    }
}
