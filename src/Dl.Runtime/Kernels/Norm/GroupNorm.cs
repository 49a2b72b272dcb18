using System.Numerics;

namespace Dl.Kernels;

/// <summary>
/// Group normalization (PyTorch's nn.GroupNorm(groups, channels)): the channels of a sample [C, plane] are split into
/// <c>groups</c> groups of C/groups channels; each group's C/groups·plane values (contiguous) are normalized with their own
/// mean μ and r = 1/√(σ² + eps) (σ² biased), then scaled and shifted per channel: y = (x − μ)·r·γ[c] + β[c].
/// </summary>
/// <remarks>
/// <para>Statistics: <c>stats[2·(b·groups + g)]</c> = μ and <c>[… + 1]</c> = r, written by Forward and read by Backward.
/// Sums are taken in double around the group's first value (a constant group is exact: y = β).</para>
/// <para>Backward, with x̂ = (x − μ)·r and h = γ[c]·dy: dx = r·(h − mean(h) − x̂·mean(h·x̂)) over the group,
/// dγ[c] = Σ_{batch, plane} dy·x̂, dβ[c] = Σ_{batch, plane} dy. An empty dx, dγ or dβ is not wanted; <c>accumulate</c>
/// adds into dx, <c>accumulateParameters</c> into dγ and dβ, otherwise they are overwritten.</para>
/// </remarks>
public static class GroupNorm
{
    /// <summary>y = (x − μ)/√(σ² + eps)·γ[c] + β[c] per group, and each group's (μ, 1/√(σ² + eps)) into <paramref name="stats"/>.</summary>
    /// <param name="batch">Samples.</param>
    /// <param name="channels">C, a multiple of <paramref name="groups"/>.</param>
    /// <param name="groups">Groups per sample.</param>
    /// <param name="plane">Values per channel (1 for a vector of features).</param>
    /// <param name="eps">Added to the variance; finite, ≥ 0 (Dl.LayerRules.NormEps).</param>
    /// <param name="x">[batch, C, plane].</param>
    /// <param name="gamma">γ [C].</param>
    /// <param name="beta">β [C].</param>
    /// <param name="y">[batch, C, plane]; may be x.</param>
    /// <param name="stats">At least 2·batch·groups.</param>
    public static void Forward<T>(int batch, int channels, int groups, int plane, float eps, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, Span<T> stats) where T : IFloatingPointIeee754<T>
    {
        int size = Check(batch, channels, groups, plane, x.Length, gamma.Length, stats.Length);
        if (LayerRules.NormEps(eps) is { } why) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"group norm: {why}.");
        if (y.Length < size || beta.Length != channels) throw new ArgumentException($"group norm: y needs {size} values and β {channels}.");
        int perGroup = channels / groups * plane;
        for (int row = 0; row < batch * groups; row++)
        {
            int start = row * perGroup;
            ReadOnlySpan<T> xr = x.Slice(start, perGroup);
            double x0 = double.CreateTruncating(xr[0]), s = 0;
            for (int j = 0; j < perGroup; j++) s += double.CreateTruncating(xr[j]) - x0;
            double mean = x0 + s / perGroup, v = 0;
            for (int j = 0; j < perGroup; j++)
            {
                double d = double.CreateTruncating(xr[j]) - mean;
                v += d * d;
            }
            double r = 1 / Math.Sqrt(v / perGroup + eps);
            stats[2 * row] = T.CreateTruncating(mean);
            stats[2 * row + 1] = T.CreateTruncating(r);
            int firstChannel = row % groups * (channels / groups);
            for (int j = 0; j < perGroup; j++)
            {
                int c = firstChannel + j / plane;
                double xhat = (double.CreateTruncating(xr[j]) - mean) * r;
                y[start + j] = T.CreateTruncating(xhat * double.CreateTruncating(gamma[c]) + double.CreateTruncating(beta[c]));
            }
        }
    }

    /// <summary>dx, dγ and dβ from dy and the statistics of <see cref="Forward{T}"/>.</summary>
    public static void Backward<T>(int batch, int channels, int groups, int plane, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> stats, ReadOnlySpan<T> dy, Span<T> dx, bool accumulate, Span<T> dgamma, Span<T> dbeta, bool accumulateParameters)
        where T : IFloatingPointIeee754<T>
    {
        int size = Check(batch, channels, groups, plane, x.Length, gamma.Length, stats.Length);
        if (dy.Length < size || !dx.IsEmpty && dx.Length < size || !dgamma.IsEmpty && dgamma.Length != channels || !dbeta.IsEmpty && dbeta.Length != channels)
            throw new ArgumentException($"group norm: dy and dx need {size} values, dγ and dβ {channels}.");
        if (!accumulateParameters)
        {
            dgamma.Clear();
            dbeta.Clear();
        }
        int perChannel = plane, perGroup = channels / groups * plane;
        for (int row = 0; row < batch * groups; row++)
        {
            int start = row * perGroup, firstChannel = row % groups * (channels / groups);
            double mean = double.CreateTruncating(stats[2 * row]), r = double.CreateTruncating(stats[2 * row + 1]);
            double sumH = 0, sumHX = 0;
            for (int j = 0; j < perGroup; j++)
            {
                int c = firstChannel + j / perChannel;
                double xhat = (double.CreateTruncating(x[start + j]) - mean) * r, g = double.CreateTruncating(dy[start + j]);
                double h = double.CreateTruncating(gamma[c]) * g;
                sumH += h;
                sumHX += h * xhat;
                if (!dgamma.IsEmpty) dgamma[c] += T.CreateTruncating(g * xhat);
                if (!dbeta.IsEmpty) dbeta[c] += T.CreateTruncating(g);
            }
            if (dx.IsEmpty) continue;
            double meanH = sumH / perGroup, meanHX = sumHX / perGroup;
            for (int j = 0; j < perGroup; j++)
            {
                int c = firstChannel + j / perChannel;
                double xhat = (double.CreateTruncating(x[start + j]) - mean) * r;
                double h = double.CreateTruncating(gamma[c]) * double.CreateTruncating(dy[start + j]);
                T d = T.CreateTruncating(r * (h - meanH - xhat * meanHX));
                dx[start + j] = accumulate ? dx[start + j] + d : d;
            }
        }
    }

    private static int Check(int batch, int channels, int groups, int plane, int x, int gamma, int stats)
    {
        if (batch < 0 || groups < 1 || channels < 1 || channels % groups != 0 || plane < 1)
            throw new ArgumentOutOfRangeException(nameof(groups), $"group norm: need batch ≥ 0, plane ≥ 1 and groups ≥ 1 dividing channels; got batch {batch}, {channels} channels, {groups} groups, plane {plane}.");
        int size = batch * channels * plane;
        if (x < size || gamma != channels || stats < 2 * batch * groups)
            throw new ArgumentException($"group norm: x needs {size} values, γ {channels} and stats {2 * batch * groups}.");
        return size;
    }
}
