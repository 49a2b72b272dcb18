using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Sinusoidal position encoding: the table against direct sines and cosines, the course notes' example (in
/// radians), Add against x + Table for float and double, in place, odd widths, the cache, checks and allocation.</summary>
public class PositionalEncodingTests
{
    [Theory]
    [InlineData(50, 16)]
    [InlineData(33, 15)] // odd: the last column is a sine
    [InlineData(7, 1)]
    [InlineData(128, 64)]
    public void Table_Base10000_MatchesDirectSinCos(int length, int dimension)
    {
        float[] table = PositionalEncoding.Table(length, dimension);
        Assert.Equal(length * dimension, table.Length);
        for (int p = 0; p < length; p++)
            for (int c = 0; c < dimension; c++)
            {
                int i = c / 2;
                double angle = p / Math.Pow(10000, 2.0 * i / dimension);
                double want = c % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle);
                // Computed in double and rounded once: within half an ulp plus the angle's rounding (p·2^-52).
                Assert.True(Math.Abs(table[p * dimension + c] - want) <= 1e-7, $"PE[{p}, {c}] = {table[p * dimension + c]:R}, expected {want:R}");
            }
    }

    [Fact]
    public void Table_RowZero_IsZerosAndOnes()
    {
        float[] table = PositionalEncoding.Table(1, 9);
        Assert.Equal([0f, 1f, 0f, 1f, 0f, 1f, 0f, 1f, 0f], table);
    }

    [Fact]
    public void CourseNotesExample_D4Base100_InRadians()
    {
        // d = 4, base 100: pair 0 has frequency 1, pair 1 has 100^(-2/4) = 1/10.
        float[] pe = PositionalEncoding.Table(2, 4, 100f);
        Assert.Equal([0f, 1f, 0f, 1f], pe.AsSpan(0, 4).ToArray());
        float[] expected = [(float)Math.Sin(1), (float)Math.Cos(1), (float)Math.Sin(0.1), (float)Math.Cos(0.1)];
        Assert.Equal(expected, pe.AsSpan(4, 4).ToArray());
        double[] rounded = [0.8415, 0.5403, 0.0998, 0.9950];
        for (int c = 0; c < 4; c++) Assert.Equal(rounded[c], pe[4 + c], 4);

        // The notes print PE[1] = [0.017, 0.9998, 0.0017, 1.0]: sin 1° and sin 0.1°, a calculator left in degree mode.
        // The encoding (Vaswani et al., PyTorch tutorials) is in radians; make sure we did not reproduce the slip.
        Assert.True(Math.Abs(pe[4] - Math.Sin(Math.PI / 180)) > 0.5, $"PE[1, 0] = {pe[4]} looks like sin(1°)");
        Assert.True(Math.Abs(pe[6] - Math.Sin(0.1 * Math.PI / 180)) > 0.05, $"PE[1, 2] = {pe[6]} looks like sin(0.1°)");
        Assert.NotEqual(0.017, pe[4], 3);
        Assert.NotEqual(0.0017, pe[6], 4);
    }

    [Theory]
    [InlineData(3, 5, 7, 10000f)]
    [InlineData(2, 9, 16, 100f)]
    [InlineData(1, 4, 1, 10000f)]
    [InlineData(4, 6, 33, 10f)]
    public void Add_EqualsXPlusTable_FloatAndDouble(int batch, int length, int dimension, float @base)
    {
        var rnd = new Random(length * dimension);
        float[] table = PositionalEncoding.Table(length, dimension, @base);
        float[] x = Enumerable.Range(0, batch * length * dimension).Select(_ => (float)(rnd.NextDouble() * 4 - 2)).ToArray();
        var y = new float[x.Length];
        PositionalEncoding.Add<float>(batch, length, dimension, @base, x, y);
        for (int i = 0; i < x.Length; i++) Assert.Equal(x[i] + table[i % table.Length], y[i]);

        // In place.
        float[] z = (float[])x.Clone();
        PositionalEncoding.Add<float>(batch, length, dimension, @base, z, z);
        Assert.Equal(y, z);

        // Double: the table in double (not the float one widened).
        double[] xd = Array.ConvertAll(x, v => (double)v), yd = new double[x.Length];
        PositionalEncoding.Add<double>(batch, length, dimension, @base, xd, yd);
        for (int i = 0; i < x.Length; i++)
        {
            int p = i % table.Length / dimension, c = i % dimension;
            double angle = p / Math.Pow(@base, 2.0 * (c / 2) / dimension);
            double want = xd[i] + (c % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
            Assert.True(Math.Abs(yd[i] - want) <= 1e-14, $"double y[{i}] = {yd[i]:R}, expected {want:R}");
        }
    }

    [Fact]
    public void Add_ShorterAndLongerSequences_ShareOneGrowingTable()
    {
        // A dimension and base no other test uses, so that this test sees the cache from its first entry.
        const int dimension = 11;
        const float @base = 1234f;
        foreach (int length in new[] { 20, 3, 41, 1, 100, 41 })
        {
            float[] x = new float[2 * length * dimension];
            var y = new float[x.Length];
            PositionalEncoding.Add<float>(2, length, dimension, @base, x, y);
            float[] table = PositionalEncoding.Table(length, dimension, @base);
            Assert.Equal(table, y.AsSpan(0, table.Length).ToArray());
            Assert.Equal(table, y.AsSpan(table.Length).ToArray());
        }
    }

    [Fact]
    public void Add_ConcurrentCallsForManyShapes_AreCorrect()
    {
        Parallel.For(0, 64, k =>
        {
            int dimension = 40 + k % 8, length = 5 + k % 13;
            float @base = 500f + k % 3;
            float[] x = new float[length * dimension], y = new float[x.Length];
            PositionalEncoding.Add<float>(1, length, dimension, @base, x, y);
            Assert.Equal(PositionalEncoding.Table(length, dimension, @base), y);
        });
    }

    [Fact]
    public void Add_AfterTheFirstCall_AllocatesNothing()
    {
        float[] x = new float[3 * 17 * 24], y = new float[x.Length];
        double[] xd = new double[x.Length], yd = new double[x.Length];
        Assert.Equal(0, Allocation.PerCall(() => PositionalEncoding.Add<float>(3, 17, 24, 10000f, x, y)));
        Assert.Equal(0, Allocation.PerCall(() => PositionalEncoding.Add<double>(3, 17, 24, 10000f, xd, yd)));
        Assert.Equal(0, Allocation.PerCall(() => PositionalEncoding.Add<float>(3, 17, 24, 10000f, x, x)));
    }

    [Fact]
    public void WrongArguments_Throw()
    {
        float[] x = new float[2 * 3 * 4], y = new float[x.Length];
        ArgumentException e = Assert.Throws<ArgumentException>(() => PositionalEncoding.Add<float>(2, 3, 4, 100f, new float[23], y));
        Assert.Contains("x has 23 elements", e.Message);
        Assert.Contains("2 × 3 × 4 = 24", e.Message);
        e = Assert.Throws<ArgumentException>(() => PositionalEncoding.Add<float>(2, 3, 4, 100f, x, new float[25]));
        Assert.Equal("y", e.ParamName);
        float[] shared = new float[25];
        e = Assert.Throws<ArgumentException>(() => PositionalEncoding.Add<float>(2, 3, 4, 100f, shared.AsSpan(0, 24), shared.AsSpan(1, 24)));
        Assert.Contains("overlaps", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => PositionalEncoding.Add<float>(2, 0, 4, 100f, default, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => PositionalEncoding.Add<float>(-1, 3, 4, 100f, x, y));
        foreach (float bad in new[] { 0f, -10f, float.NaN, float.PositiveInfinity })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => PositionalEncoding.Table(3, 4, bad));
            Assert.Throws<ArgumentOutOfRangeException>(() => PositionalEncoding.Add<float>(2, 3, 4, bad, x, y));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => PositionalEncoding.Table(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => PositionalEncoding.Table(3, 0));
    }
}
