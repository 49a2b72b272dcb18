using Dl.Kernels;

namespace Dl.Tests.Ops;

/// <summary>The GroupNorm kernel: a direct double reference for the forward pass and finite differences for dx, dγ, dβ.</summary>
public class GroupNormKernelTests
{
    private const int Batch = 2, Channels = 6, Groups = 3, Plane = 5;
    private const int Size = Batch * Channels * Plane;

    private static double[] Random(int n, int seed, double scale, double offset)
    {
        var r = new DlRandom((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => offset + scale * (r.NextDouble() - 0.5)).ToArray();
    }

    private static double[] Forward(double[] x, double[] gamma, double[] beta)
    {
        var y = new double[Size];
        GroupNorm.Forward<double>(Batch, Channels, Groups, Plane, 1e-5f, x, gamma, beta, y, new double[2 * Batch * Groups]);
        return y;
    }

    [Fact]
    public void Forward_MatchesTheDefinition()
    {
        double[] x = Random(Size, 1, 4, 1), gamma = Random(Channels, 2, 1, 1), beta = Random(Channels, 3, 1, 0);
        double[] y = Forward(x, gamma, beta);
        int perGroup = Channels / Groups * Plane;
        for (int b = 0; b < Batch; b++)
            for (int g = 0; g < Groups; g++)
            {
                var values = x.Skip((b * Groups + g) * perGroup).Take(perGroup).ToArray();
                double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
                for (int j = 0; j < perGroup; j++)
                {
                    int c = g * (Channels / Groups) + j / Plane, i = (b * Groups + g) * perGroup + j;
                    Assert.Equal((x[i] - mean) / Math.Sqrt(variance + 1e-5) * gamma[c] + beta[c], y[i], 1e-12);
                }
            }
        // float gives the same to float rounding
        var yf = new float[Size];
        GroupNorm.Forward<float>(Batch, Channels, Groups, Plane, 1e-5f, x.Select(v => (float)v).ToArray(), gamma.Select(v => (float)v).ToArray(),
            beta.Select(v => (float)v).ToArray(), yf, new float[2 * Batch * Groups]);
        for (int i = 0; i < Size; i++) Assert.Equal(y[i], yf[i], 1e-5);
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        double[] x = Random(Size, 4, 4, 1), gamma = Random(Channels, 5, 1, 1), beta = Random(Channels, 6, 1, 0), w = Random(Size, 7, 2, 0);
        double Loss(double[] xs, double[] gs, double[] bs) => Forward(xs, gs, bs).Zip(w, (a, b) => a * b).Sum();
        var stats = new double[2 * Batch * Groups];
        GroupNorm.Forward<double>(Batch, Channels, Groups, Plane, 1e-5f, x, gamma, beta, new double[Size], stats);
        double[] dx = new double[Size], dg = new double[Channels], db = new double[Channels];
        GroupNorm.Backward<double>(Batch, Channels, Groups, Plane, x, gamma, stats, w, dx, false, dg, db, false);
        const double h = 1e-6;
        void Check(double[] v, double[] grad, string what)
        {
            for (int i = 0; i < v.Length; i++)
            {
                double keep = v[i];
                v[i] = keep + h; double up = Loss(x, gamma, beta);
                v[i] = keep - h; double down = Loss(x, gamma, beta);
                v[i] = keep;
                Assert.True(Math.Abs((up - down) / (2 * h) - grad[i]) < 1e-6, $"{what}[{i}]: {grad[i]} vs {(up - down) / (2 * h)}");
            }
        }
        Check(x, dx, "dx");
        Check(gamma, dg, "dγ");
        Check(beta, db, "dβ");
        // accumulate adds a second contribution
        double[] dx1 = (double[])dx.Clone(), dg1 = (double[])dg.Clone();
        GroupNorm.Backward<double>(Batch, Channels, Groups, Plane, x, gamma, stats, w, dx, true, dg, db, true);
        for (int i = 0; i < Size; i++) Assert.Equal(2 * dx1[i], dx[i], 1e-12);
        for (int c = 0; c < Channels; c++) Assert.Equal(2 * dg1[c], dg[c], 1e-12);
    }

    [Fact]
    public void GroupsMustDivideTheChannels()
        => Assert.Throws<ArgumentOutOfRangeException>(() => GroupNorm.Forward<float>(1, 6, 4, 1, 1e-5f, new float[6], new float[6], new float[6], new float[6], new float[8]));
}
