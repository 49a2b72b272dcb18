using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Dropout: the documented hash re-implemented here from the XML doc (so the doc and the code cannot drift),
/// keep rates, determinism, independence of streams and counters, p = 0, checks, backward, allocation.</summary>
public class DropoutTests
{
    // ---- Reference implementation, written from Dropout's remarks ----

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static uint L(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        return x;
    }

    private static uint ReferenceBits(ulong seed, int stream, long counter, uint index)
    {
        const ulong G = 0x9E3779B97F4A7C15UL;
        ulong k = Mix(Mix(Mix(seed + G) ^ (ulong)(uint)stream) + (ulong)counter);
        uint k0 = (uint)k, k1 = (uint)(k >> 32);
        return L(L(index + k0) ^ k1) >> 8;
    }

    private static float[] Ramp(int n) => Enumerable.Range(0, n).Select(i => 1f + i * 0.25f).ToArray();

    [Theory]
    [InlineData(0.5f, 0UL, 0, 0L)]
    [InlineData(0.25f, 42UL, 3, 17L)]
    [InlineData(0.1f, ulong.MaxValue, -1, long.MaxValue)]
    [InlineData(0.9f, 7UL, int.MinValue, -5L)]
    public void Forward_MatchesTheDocumentedHash_AtEveryLength(float p, ulong seed, int stream, long counter)
    {
        float scale = 1f / (1f - p);
        uint threshold = (uint)Math.Ceiling(p * 16777216.0);
        foreach (int n in new[] { 0, 1, 7, 8, 9, 15, 16, 17, 37, 1000 })
        {
            float[] x = Ramp(n);
            var y = new float[n];
            var mask = new float[n];
            Dropout.Forward(x, y, mask, p, seed, stream, counter);
            for (int i = 0; i < n; i++)
            {
                uint bits = ReferenceBits(seed, stream, counter, (uint)i);
                bool kept = bits >= threshold;
                Assert.Equal(kept ? scale : 0f, mask[i]);
                Assert.Equal(x[i] * mask[i], y[i]);
                float u = Dropout.Uniform(seed, stream, counter, i);
                Assert.Equal(bits * (1f / (1 << 24)), u);
                Assert.Equal(kept, u >= p);
            }
        }
    }

    [Fact]
    public void Uniform_PinnedValues_DoNotChange()
    {
        // Guards the definition itself: generated code and saved experiments depend on these exact draws.
        Assert.Equal(ReferenceBits(0, 0, 0, 0) / 16777216f, Dropout.Uniform(0, 0, 0, 0));
        Assert.Equal(ReferenceBits(123, 4, 5, 6) / 16777216f, Dropout.Uniform(123, 4, 5, 6));
        Assert.Equal(ReferenceBits(1, 2, 3, uint.MaxValue) / 16777216f, Dropout.Uniform(1, 2, 3, uint.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.Uniform(1, 2, 3, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.Uniform(1, 2, 3, 1L << 32));
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.25f)]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    public void KeepRate_IsOneMinusP_AndMaskMeanIsOne(float p)
    {
        const int n = 100_000;
        var x = new float[n];
        x.AsSpan().Fill(1f);
        var y = new float[n];
        var mask = new float[n];
        Dropout.Forward(x, y, mask, p, seed: 9, stream: 1, counter: 0);
        int kept = mask.Count(m => m != 0);
        double sigma = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(kept, n * (1 - p) - 5 * sigma, n * (1 - p) + 5 * sigma);
        Assert.All(mask, m => Assert.True(m == 0f || m == 1f / (1f - p)));
        Assert.InRange(mask.Average(m => (double)m), 1 - 5 * sigma / n / (1 - p), 1 + 5 * sigma / n / (1 - p));
        // Neighbours are independent: P(both kept) ≈ (1 − p)².
        int pairs = 0;
        for (int i = 0; i + 1 < n; i++) if (mask[i] != 0 && mask[i + 1] != 0) pairs++;
        double q = (1 - p) * (1 - p);
        Assert.InRange(pairs, (n - 1) * q - 5 * Math.Sqrt(n * q * (1 - q)) - 100, (n - 1) * q + 5 * Math.Sqrt(n * q * (1 - q)) + 100);
    }

    [Fact]
    public void Uniform_IsEvenlySpread_ChiSquare()
    {
        const int n = 160_000, bins = 16;
        var counts = new int[bins];
        // 160 calls (counters) of 1000 elements each.
        for (int i = 0; i < n; i++) counts[(int)(Dropout.Uniform(77, 2, i / 1000, i % 1000) * bins)]++;
        double expected = (double)n / bins, chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 45, $"chi² = {chi2:F1} over {bins - 1} degrees of freedom"); // p ≈ 1e-4 for 15 dof
    }

    [Fact]
    public void SameInputs_GiveTheSameMask_AndEachKeyComponentChangesIt()
    {
        const int n = 4096;
        float[] x = Ramp(n);
        float[] Mask(ulong seed, int stream, long counter)
        {
            var y = new float[n];
            var m = new float[n];
            Dropout.Forward(x, y, m, 0.5f, seed, stream, counter);
            return m;
        }
        float[] a = Mask(1, 2, 3);
        Assert.Equal(a, Mask(1, 2, 3));
        foreach (float[] other in new[] { Mask(1, 2, 4), Mask(1, 3, 3), Mask(2, 2, 3) })
        {
            int same = 0;
            for (int i = 0; i < n; i++) if ((a[i] != 0) == (other[i] != 0)) same++;
            // Independent masks agree on about half the elements (p² + (1 − p)² = 0.5).
            Assert.InRange(same, n / 2 - 200, n / 2 + 200);
        }
    }

    [Fact]
    public void PZero_IsTheIdentity()
    {
        float[] x = [1.5f, -2f, 0f, float.MaxValue, 3f, 4f, 5f, 6f, 7f, -8f, 1e-30f];
        var y = new float[x.Length];
        var mask = new float[x.Length];
        Dropout.Forward(x, y, mask, 0f, 5, 0, 0);
        Assert.Equal(x, y);
        Assert.All(mask, m => Assert.Equal(1f, m));
        double[] xd = x.Select(v => (double)v).ToArray();
        var yd = new double[x.Length];
        var md = new double[x.Length];
        Dropout.Forward(xd, yd, md, 0.0, 5, 0, 0);
        Assert.Equal(xd, yd);
    }

    [Fact]
    public void DoubleOverload_HasExactlyTheFloatMask()
    {
        const int n = 1001;
        float[] x = Ramp(n);
        var y = new float[n];
        var mask = new float[n];
        Dropout.Forward(x, y, mask, 0.25f, 3, 1, 8);
        double[] xd = x.Select(v => (double)v).ToArray();
        var yd = new double[n];
        var md = new double[n];
        Dropout.Forward(xd, yd, md, 0.25, 3, 1, 8);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal((double)mask[i], md[i]);
            Assert.Equal(xd[i] * md[i], yd[i]);
        }
    }

    [Fact]
    public void Backward_MultipliesByTheMask_OverwritingOrAccumulating()
    {
        const int n = 29;
        float[] x = Ramp(n), dy = Ramp(n).Select(v => -v).ToArray();
        var y = new float[n];
        var mask = new float[n];
        Dropout.Forward(x, y, mask, 0.3f, 11, 0, 2);
        var dx = new float[n];
        Dropout.Backward(dy, mask, dx, accumulate: false);
        for (int i = 0; i < n; i++) Assert.Equal(dy[i] * mask[i], dx[i]);
        Dropout.Backward(dy, mask, dx, accumulate: true);
        for (int i = 0; i < n; i++) Assert.Equal(dy[i] * mask[i] + dy[i] * mask[i], dx[i]);
        float[] inPlace = (float[])dy.Clone();
        Dropout.Backward(inPlace, mask, inPlace, accumulate: false);
        for (int i = 0; i < n; i++) Assert.Equal(dy[i] * mask[i], inPlace[i]);

        double[] dyd = dy.Select(v => (double)v).ToArray(), md = mask.Select(v => (double)v).ToArray();
        double[] dxd = Enumerable.Repeat(1.0, n).ToArray();
        Dropout.Backward(dyd, md, dxd, accumulate: true);
        for (int i = 0; i < n; i++) Assert.Equal(1 + dyd[i] * md[i], dxd[i]);
    }

    [Fact]
    public void InPlaceForward_MatchesOutOfPlace()
    {
        float[] x = Ramp(100);
        var y = new float[100];
        var mask = new float[100];
        Dropout.Forward(x, y, mask, 0.5f, 1, 2, 3);
        float[] z = (float[])x.Clone();
        var mask2 = new float[100];
        Dropout.Forward(z, z, mask2, 0.5f, 1, 2, 3);
        Assert.Equal(y, z);
        Assert.Equal(mask, mask2);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var x = new float[10];
        var y = new float[10];
        var m = new float[10];
        foreach (float p in new[] { -0.1f, 1f, 1.5f, float.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.Forward(x, y, m, p, 0, 0, 0));
            Assert.Equal("p", e.ParamName);
            Assert.Contains("[0, 1)", e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.Forward(new double[3], new double[3], new double[3], p, 0, 0, 0));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Dropout.Forward(new double[3], new double[3], new double[3], 0.99999999999, 0, 0, 0));
        var a = Assert.Throws<ArgumentException>(() => Dropout.Forward(x, new float[9], m, 0.5f, 0, 0, 0));
        Assert.Equal("y", a.ParamName);
        a = Assert.Throws<ArgumentException>(() => Dropout.Forward(x, y, new float[11], 0.5f, 0, 0, 0));
        Assert.Equal("mask", a.ParamName);
        Assert.Contains("11", a.Message);
        a = Assert.Throws<ArgumentException>(() => Dropout.Forward(x, y, x, 0.5f, 0, 0, 0));
        Assert.Equal("mask", a.ParamName);
        a = Assert.Throws<ArgumentException>(() => Dropout.Backward(x, m, new float[3], false));
        Assert.Equal("dx", a.ParamName);
        var shared = new float[11];
        a = Assert.Throws<ArgumentException>(() => Dropout.Forward(shared.AsSpan(0, 10), shared.AsSpan(1, 10), m, 0.5f, 0, 0, 0));
        Assert.Contains("overlaps", a.Message);
    }

    [Fact]
    public void Kernels_AllocateNothingPerCall()
    {
        float[] x = Ramp(3136 * 4), y = new float[3136 * 4], mask = new float[3136 * 4], dx = new float[3136 * 4];
        long counter = 0;
        Assert.Equal(0, Allocation.PerCall(() => Dropout.Forward(x, y, mask, 0.25f, 1, 0, counter++)));
        Assert.Equal(0, Allocation.PerCall(() => Dropout.Backward(y, mask, dx, true)));
        double[] xd = new double[100], yd = new double[100], md = new double[100];
        Assert.Equal(0, Allocation.PerCall(() => Dropout.Forward(xd, yd, md, 0.5, 1, 0, counter++)));
    }
}
