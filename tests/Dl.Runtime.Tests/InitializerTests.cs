using Dl;

namespace Dl.Tests;

public class InitializerTests
{
    private const int N = 100_000;

    private static (double Mean, double Variance) Moments(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (float v in x) sum += v;
        double mean = sum / x.Length, ss = 0;
        foreach (float v in x) ss += (v - mean) * (v - mean);
        return (mean, ss / (x.Length - 1));
    }

    private static float[] Draw(Init init, float scale = 0, int fanIn = 300, int fanOut = 100, ulong seed = 1)
    {
        var x = new float[N];
        Initializers.Fill(x, init, scale, fanIn, fanOut, new DlRandom(seed));
        return x;
    }

    // Uniform U[-a, a]: variance a²/3, sd of the sample variance ≈ a²·√(4/45)/√n (≈ 0.9% of a²/3 at n = 1e5).
    [Theory]
    [InlineData(Init.GlorotUniform, 0.12247449)]   // √(6/400)
    [InlineData(Init.HeUniform, 0.14142136)]       // √(6/300)
    [InlineData(Init.Uniform, 0.05)]
    public void UniformFamilies_HaveBoundAndMoments(Init init, double a)
    {
        float[] x = Draw(init, scale: 0.05f);
        Assert.All(x, v => Assert.True(Math.Abs(v) <= a * (1 + 1e-6), $"{v} outside ±{a}"));
        Assert.True(x.Max() > a * 0.999 && x.Min() < -a * 0.999, "the draws should reach close to both bounds");
        (double mean, double variance) = Moments(x);
        double expectedVar = a * a / 3;
        Assert.True(Math.Abs(mean) < 5 * Math.Sqrt(expectedVar / N), $"mean {mean}");
        Assert.True(Math.Abs(variance / expectedVar - 1) < 0.03, $"variance {variance} vs {expectedVar}");
    }

    // Normal N(0, σ²): the sample variance has relative sd √(2/n) ≈ 0.45% at n = 1e5.
    [Theory]
    [InlineData(Init.GlorotNormal, 2.0 / 400)]
    [InlineData(Init.HeNormal, 2.0 / 300)]
    public void NormalFamilies_HaveMoments(Init init, double expectedVar)
    {
        float[] x = Draw(init);
        (double mean, double variance) = Moments(x);
        Assert.True(Math.Abs(mean) < 5 * Math.Sqrt(expectedVar / N), $"mean {mean}");
        Assert.True(Math.Abs(variance / expectedVar - 1) < 0.025, $"variance {variance} vs {expectedVar}");
        // Tail mass beyond 2σ is 4.55% for a normal.
        double sigma = Math.Sqrt(expectedVar);
        double tail = x.Count(v => Math.Abs(v) > 2 * sigma) / (double)N;
        Assert.InRange(tail, 0.0455 - 0.005, 0.0455 + 0.005);
    }

    [Fact]
    public void ZerosAndConstant_FillExactly()
    {
        Assert.All(Draw(Init.Zeros), v => Assert.Equal(0f, v));
        Assert.All(Draw(Init.Constant, scale: 0.25f), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void Default_IsZerosForBias_AndGlorotUniformForWeights()
    {
        var weight = new ParameterInfo("fc1.weight", [64, 32], 0, Init.Default, 0, 32, 64);
        var bias = new ParameterInfo("fc1.bias", [64], 2048, Init.Default, 0, 32, 64);
        float[] w = new float[weight.Length], b = Enumerable.Repeat(1f, 64).ToArray();
        Initializers.Fill(w, weight, 7);
        Initializers.Fill(b, bias, 7);
        Assert.All(b, v => Assert.Equal(0f, v));
        float bound = (float)Math.Sqrt(6.0 / 96);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > bound * 0.9f);

        float[] expected = new float[w.Length];
        Initializers.Fill(expected, Init.GlorotUniform, 0, 32, 64, DlRandom.ForStream(7, "fc1.weight"));
        Assert.Equal(expected, w);
    }

    [Fact]
    public void SameSeedAndName_GiveSameValues_WhateverTheOrder()
    {
        var a = new ParameterInfo("a.weight", [20, 10], 0, Init.HeNormal, 0, 10, 20);
        var b = new ParameterInfo("b.weight", [5, 20], 200, Init.GlorotNormal, 0, 20, 5);
        float[] a1 = new float[200], b1 = new float[100], a2 = new float[200], b2 = new float[100];
        Initializers.Fill(a1, a, 42); Initializers.Fill(b1, b, 42);
        Initializers.Fill(b2, b, 42); Initializers.Fill(a2, a, 42);
        Assert.Equal(a1, a2);
        Assert.Equal(b1, b2);

        float[] other = new float[200];
        Initializers.Fill(other, a, 43);
        Assert.NotEqual(a1, other);
    }

    [Fact]
    public void Streams_AreIndependent()
    {
        // Two named streams of the same seed: their correlation is within 5/√n of zero.
        var x = DlRandom.ForStream(1, "fc1.weight");
        var y = DlRandom.ForStream(1, "fc1.weigh");
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < N; i++)
        {
            double u = x.NextDouble() - 0.5, v = y.NextDouble() - 0.5;
            sxy += u * v; sxx += u * u; syy += v * v;
        }
        Assert.True(Math.Abs(sxy / Math.Sqrt(sxx * syy)) < 5 / Math.Sqrt(N));
    }

    [Fact]
    public void DlRandom_MatchesIndependentXoshiroReference()
    {
        // Values from a separate Python implementation of SplitMix64 seeding + xoshiro256**.
        var r = new DlRandom(42);
        Assert.Equal(0x15780b2e0c2ec716UL, r.NextUInt64());
        Assert.Equal(0x6104d9866d113a7eUL, r.NextUInt64());
        Assert.Equal(0xae17533239e499a1UL, r.NextUInt64());
        var s = DlRandom.ForStream(7, "fc1.weight");
        Assert.Equal(0xf7fa5aee3b7226a0UL, s.NextUInt64());
        Assert.Equal(0x23fc0b770752062fUL, s.NextUInt64());
    }

    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    [InlineData("é", 0x0ac21707b7181e01UL)]   // UTF-8 c3 a9
    public void Fnv1a64_MatchesKnownValues(string text, ulong expected) =>
        Assert.Equal(expected, DlRandom.Fnv1a64(text));

    [Fact]
    public void DlRandom_RangesAndShuffle()
    {
        var r = new DlRandom(5);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[r.NextInt(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        for (int i = 0; i < 10_000; i++)
        {
            float f = r.NextFloat();
            double d = r.NextDouble();
            Assert.True(f >= 0 && f < 1 && d >= 0 && d < 1);
            Assert.InRange(r.NextInt(-3, 4), -3, 3);
        }
        int[] items = Enumerable.Range(0, 100).ToArray();
        r.Shuffle(items.AsSpan());
        Assert.NotEqual(Enumerable.Range(0, 100), items);
        Assert.Equal(Enumerable.Range(0, 100), items.Order());

        var again = new DlRandom(5);
        r.Reseed(5);
        Assert.Equal(again.NextNormal(), r.NextNormal());
        Assert.Throws<ArgumentOutOfRangeException>(() => r.NextInt(0));
    }

    [Fact]
    public void BadArguments_AreReportedWithTheParameterName()
    {
        var p = new ParameterInfo("w", [3], 0, Init.Uniform, 0, 3, 3);
        var e = Assert.Throws<ArgumentException>(() => Initializers.Fill(new float[3], p, 1));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("Scale", e.Message);
        var q = new ParameterInfo("fc.weight", [4, 2], 0, Init.Default, 0, 2, 4);
        e = Assert.Throws<ArgumentException>(() => Initializers.Fill(new float[7], q, 1));
        Assert.Contains("8 elements", e.Message);
    }
}
