namespace Dl.Kernels;

// Double-precision batch norm: the dynamic tape's reference mode and the finite-difference tests. Plain loops with an
// exact two-pass variance (mean first, then Σ(x − μ)²); the same semantics, checks and aliasing rules as the float kernels.
public static partial class BatchNorm
{
    /// <summary>Training-mode forward in double precision (see the float overload).</summary>
    public static void ForwardTrain(int batch, int channels, int spatial, ReadOnlySpan<double> x, ReadOnlySpan<double> gamma, ReadOnlySpan<double> beta,
        Span<double> y, Span<double> mean, Span<double> invStd, Span<double> runningMean, Span<double> runningVar, double momentum, double eps)
    {
        CheckForwardTrain(batch, channels, spatial, x.Length, gamma.Length, beta.Length, y.Length, mean.Length, invStd.Length,
            runningMean.Length, runningVar.Length, momentum, eps);
        CheckAlias(x, y, nameof(y));
        long count = (long)batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double s = 0;
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) s += x[o + i];
            }
            double mu = s / count, v = 0;
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) { double d = x[o + i] - mu; v += d * d; }
            }
            double variance = v / count;
            double inv = 1.0 / Math.Sqrt(variance + eps);
            mean[c] = mu;
            invStd[c] = inv;
            if (!runningMean.IsEmpty)
            {
                double unbiased = count > 1 ? variance * count / (count - 1) : variance;
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mu;
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * unbiased;
            }
            double g = gamma[c], b = beta[c];
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) y[o + i] = g * (x[o + i] - mu) * inv + b;
            }
        }
    }

    /// <summary>Evaluation-mode forward in double precision (see the float overload).</summary>
    public static void ForwardEval(int batch, int channels, int spatial, ReadOnlySpan<double> x, ReadOnlySpan<double> gamma, ReadOnlySpan<double> beta,
        Span<double> y, ReadOnlySpan<double> runningMean, ReadOnlySpan<double> runningVar, double eps)
    {
        CheckEval(batch, channels, spatial, x.Length, gamma.Length, beta.Length, runningMean.Length, runningVar.Length, eps);
        CheckSize(y.Length, batch, channels, spatial, nameof(y));
        CheckAlias(x, y, nameof(y));
        for (int c = 0; c < channels; c++)
        {
            double inv = 1.0 / Math.Sqrt(runningVar[c] + eps), mu = runningMean[c], g = gamma[c], b = beta[c];
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++) y[o + i] = g * (x[o + i] - mu) * inv + b;
            }
        }
    }

    /// <summary>Training-mode backward in double precision (see the float overload).</summary>
    public static void BackwardTrain(int batch, int channels, int spatial, ReadOnlySpan<double> x, ReadOnlySpan<double> gamma, ReadOnlySpan<double> mean,
        ReadOnlySpan<double> invStd, ReadOnlySpan<double> dy, Span<double> dx, Span<double> dgamma, Span<double> dbeta, bool accumulate)
    {
        CheckBackward(batch, channels, spatial, x.Length, gamma.Length, mean.Length, nameof(mean), invStd.Length, nameof(invStd),
            dy.Length, dx.Length, dgamma.Length, dbeta.Length);
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        long count = (long)batch * spatial;
        for (int c = 0; c < channels; c++)
        {
            double mu = mean[c], inv = invStd[c], sdy = 0, sdh = 0;
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++)
                {
                    sdy += dy[o + i];
                    sdh += dy[o + i] * (x[o + i] - mu) * inv;
                }
            }
            if (!dbeta.IsEmpty) dbeta[c] = accumulate ? dbeta[c] + sdy : sdy;
            if (!dgamma.IsEmpty) dgamma[c] = accumulate ? dgamma[c] + sdh : sdh;
            if (dx.IsEmpty) continue;
            double k = gamma[c] * inv, mdy = sdy / count, mdh = sdh / count;
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++)
                {
                    double g = k * (dy[o + i] - mdy - (x[o + i] - mu) * inv * mdh);
                    dx[o + i] = accumulate ? dx[o + i] + g : g;
                }
            }
        }
    }

    /// <summary>Evaluation-mode backward in double precision (see the float overload).</summary>
    public static void BackwardEval(int batch, int channels, int spatial, ReadOnlySpan<double> x, ReadOnlySpan<double> gamma, ReadOnlySpan<double> runningMean,
        ReadOnlySpan<double> runningVar, double eps, ReadOnlySpan<double> dy, Span<double> dx, Span<double> dgamma, Span<double> dbeta, bool accumulate)
    {
        CheckBackward(batch, channels, spatial, x.Length, gamma.Length, runningMean.Length, nameof(runningMean), runningVar.Length, nameof(runningVar),
            dy.Length, dx.Length, dgamma.Length, dbeta.Length);
        CheckEps(eps);
        CheckAlias(x, dx, nameof(dx));
        CheckAlias(dy, dx, nameof(dx));
        for (int c = 0; c < channels; c++)
        {
            double mu = runningMean[c], inv = 1.0 / Math.Sqrt(runningVar[c] + eps), k = gamma[c] * inv, sdy = 0, sdh = 0;
            for (int n = 0; n < batch; n++)
            {
                int o = (n * channels + c) * spatial;
                for (int i = 0; i < spatial; i++)
                {
                    double g = dy[o + i];
                    sdy += g;
                    sdh += g * (x[o + i] - mu) * inv;
                    if (!dx.IsEmpty) dx[o + i] = accumulate ? dx[o + i] + k * g : k * g;
                }
            }
            if (!dbeta.IsEmpty) dbeta[c] = accumulate ? dbeta[c] + sdy : sdy;
            if (!dgamma.IsEmpty) dgamma[c] = accumulate ? dgamma[c] + sdh : sdh;
        }
    }
}
