using Dl.Kernels;

namespace Dl.Tests;

/// <summary>Float and double GEMM against a naive double reference, over odd shapes, all transposes and threads.</summary>
public class GemmTests
{
    private static readonly int[] OddSizes = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 100, 129];

    public static TheoryData<bool, bool> TransCombos => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    private static float[] Random(Random rnd, int length)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rnd.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Naive reference in double: C = (accumulate ? C0 : 0) + alpha·op(A)·op(B).</summary>
    private static double[] Reference(float[] a, float[] b, float[] c0, int m, int n, int k, bool ta, bool tb, bool accumulate, double alpha = 1)
    {
        var r = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                r[i * n + j] = (accumulate ? c0[i * n + j] : 0) + alpha * s;
            }
        return r;
    }

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, int k, string what)
    {
        double tol = 1e-5 * Math.Sqrt(Math.Max(k, 1));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]);
            if (!(err <= tol * (1 + Math.Abs(expected[i]))))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (|err| {err:E2} > tol {tol:E2}).");
        }
    }

    private static void CheckShape(GemmContext ctx, Random rnd, int m, int n, int k, bool ta, bool tb, bool accumulate)
    {
        float[] a = Random(rnd, m * k), b = Random(rnd, k * n), c0 = Random(rnd, m * n);
        float[] c = (float[])c0.Clone();
        // Without accumulate, old contents of C must not leak in (not even NaN).
        if (!accumulate) Array.Fill(c, float.NaN);
        Gemm.Multiply(a, b, c, m, n, k, ta, tb, accumulate, ctx);
        AssertClose(Reference(a, b, c0, m, n, k, ta, tb, accumulate), c, k,
            $"m={m} n={n} k={k} transA={ta} transB={tb} accumulate={accumulate} threads={ctx.Threads}");
    }

    [Theory]
    [MemberData(nameof(TransCombos))]
    public void OddShapes_AllSizeCombos_MatchReference(bool transA, bool transB)
    {
        using var ctx = new GemmContext(1);
        var rnd = new Random(42);
        foreach (int m in OddSizes)
            foreach (int n in OddSizes)
                foreach (int k in OddSizes)
                    CheckShape(ctx, rnd, m, n, k, transA, transB, accumulate: ((m + n + k) & 1) == 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Alpha_ScalesTheProduct_OnEveryPath(int threads)
    {
        // Shapes that reach each strategy: k = 1 (rank 1), m = 1 (gemv), small m with B transposed (dot), small m or k
        // (direct), large (packed, split over threads); alpha must scale the product, never the accumulated C.
        using var ctx = new GemmContext(threads);
        var rnd = new Random(7);
        int[][] shapes = [[9, 33, 1], [1, 65, 40], [4, 100, 70], [3, 9, 300], [17, 63, 64], [40, 129, 100], [200, 96, 150], [64, 64, 2048]];
        foreach (int[] s in shapes)
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
                foreach (bool accumulate in new[] { false, true })
                {
                    int m = s[0], n = s[1], k = s[2];
                    float[] a = Random(rnd, m * k), b = Random(rnd, k * n), c0 = Random(rnd, m * n), c = (float[])c0.Clone();
                    const float Alpha = -0.037f;
                    Gemm.Multiply(a, b, c, m, n, k, ta, tb, accumulate, ctx, Alpha);
                    AssertClose(Reference(a, b, c0, m, n, k, ta, tb, accumulate, Alpha), c, k,
                        $"alpha m={m} n={n} k={k} transA={ta} transB={tb} accumulate={accumulate} threads={threads}");
                }
    }

    [Theory]
    [MemberData(nameof(TransCombos))]
    public void PackedWidths_SplitIntoTwoVectorStrips_MatchReference(bool transA, bool transB)
    {
        // With AVX-512, 64, 160 and 256 columns are packed in 32-wide strips (48-wide ones would leave a one-vector strip);
        // m > 32 and k > 64 take the packed path.
        using var ctx = new GemmContext(1);
        var rnd = new Random(5);
        foreach (bool accumulate in new[] { false, true })
            foreach (int m in new[] { 40, 64 })
                foreach (int n in new[] { 64, 160, 256 })
                    foreach (int k in new[] { 65, 128 })
                        CheckShape(ctx, rnd, m, n, k, transA, transB, accumulate);
    }

    [Theory]
    [MemberData(nameof(TransCombos))]
    public void OddShapes_BothAccumulateModes_MatchReference(bool transA, bool transB)
    {
        using var ctx = new GemmContext(1);
        var rnd = new Random(7);
        int[] sizes = [1, 3, 8, 17, 33, 65, 129];
        foreach (bool accumulate in new[] { false, true })
            foreach (int m in sizes)
                foreach (int n in sizes)
                    foreach (int k in sizes)
                        CheckShape(ctx, rnd, m, n, k, transA, transB, accumulate);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LargeShapes_AllTransposes_MatchReference(int threads)
    {
        using var ctx = new GemmContext(threads);
        var rnd = new Random(threads);
        (int m, int n, int k)[] shapes =
        [
            (300, 257, 513),  // several k blocks, partial MR and NR tiles
            (64, 1000, 600),  // more than one NC column block
            (20, 1000, 600),  // small m: dot / direct paths, split across threads by columns
            (5, 1100, 300),
            (520, 30, 300),   // narrow n: split across threads by rows
            (1, 3000, 943),   // GEMV
            (700, 600, 3),    // outer-product-like (tiny k)
        ];
        foreach (var (m, n, k) in shapes)
            foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
                CheckShape(ctx, rnd, m, n, k, ta, tb, accumulate: (m & 1) == 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ZeroK_ClearsOrKeepsC(bool accumulate)
    {
        using var ctx = new GemmContext(1);
        float[] c = [1, 2, 3, 4, 5, 6];
        Gemm.Multiply(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, c, 2, 3, 0, false, false, accumulate, ctx);
        Assert.Equal(accumulate ? new float[] { 1, 2, 3, 4, 5, 6 } : new float[6], c);
    }

    [Fact]
    public void SmallExample_ExactValues()
    {
        using var ctx = new GemmContext(1);
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        float[] a = [1, 2, 3, 4, 5, 6], b = [7, 8, 9, 10, 11, 12], c = new float[4];
        Gemm.Multiply(a, b, c, 2, 2, 3, false, false, false, ctx);
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c);
        Gemm.Multiply(a, b, c, 2, 2, 3, false, false, true, ctx);
        Assert.Equal(new float[] { 116, 128, 278, 308 }, c);
        // Aᵀ stored 3×2, Bᵀ stored 2×3 give the same product.
        float[] at = [1, 4, 2, 5, 3, 6], bt = [7, 9, 11, 8, 10, 12];
        Gemm.Multiply(at, bt, c, 2, 2, 3, true, true, false, ctx);
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c);
    }

    [Fact]
    public void SubSpansLongerThanNeeded_OnlyTouchTheProduct()
    {
        using var ctx = new GemmContext(1);
        var rnd = new Random(3);
        float[] a = Random(rnd, 7 * 9 + 5), b = Random(rnd, 9 * 11 + 5), c = new float[7 * 11 + 5];
        Array.Fill(c, 42f);
        Gemm.Multiply(a, b, c, 7, 11, 9, false, false, false, ctx);
        Assert.All(c[(7 * 11)..], v => Assert.Equal(42f, v));
        AssertClose(Reference(a, b, c, 7, 11, 9, false, false, false), c.AsSpan(0, 77), 9, "prefix");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AfterWarmUp_AllocatesNothing(int threads)
    {
        using var ctx = new GemmContext(threads);
        var rnd = new Random(5);
        (int m, int n, int k, bool ta, bool tb)[] shapes =
        [
            (1, 128, 784, false, true), (128, 784, 1, true, false), (1, 784, 128, false, false),
            (32, 128, 784, false, true), (128, 784, 32, true, false), (32, 784, 128, false, false),
            (200, 300, 400, false, true), (300, 400, 200, true, false), (200, 400, 300, false, false),
            (129, 65, 33, true, true),
        ];
        var data = shapes.Select(s => (s, a: Random(rnd, s.m * s.k), b: Random(rnd, s.k * s.n), c: new float[s.m * s.n])).ToArray();
        void RunAll()
        {
            foreach (var (s, a, b, c) in data) Gemm.Multiply(a, b, c, s.m, s.n, s.k, s.ta, s.tb, false, ctx);
        }
        Assert.Equal(0, Allocation.PerCall(RunAll, calls: 5));
    }

    [Fact]
    public void BadArguments_ThrowClearExceptions()
    {
        using var ctx = new GemmContext(1);
        float[] a = new float[6], b = new float[6], c = new float[4];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a.AsSpan(0, 5), b, c, 2, 2, 3, false, false, false, ctx));
        Assert.Equal("a", e.ParamName);
        Assert.Contains("2×3", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b.AsSpan(0, 5), c, 2, 2, 3, false, true, false, ctx));
        Assert.Equal("b", e.ParamName);
        Assert.Contains("transposed", e.Message);
        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c.AsSpan(0, 3), 2, 2, 3, false, false, false, ctx));
        Assert.Equal("c", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, -1, 2, 3, false, false, false, ctx));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, 2, -2, 3, false, false, false, ctx));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(a, b, c, 2, 2, -3, false, false, false, ctx));
        Assert.Throws<ArgumentNullException>(() => Gemm.Multiply(a, b, c, 2, 2, 3, false, false, false, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GemmContext(0));
        var disposed = new GemmContext(2);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Gemm.Multiply(a, b, c, 2, 2, 3, false, false, false, disposed));
        double[] ad = new double[6], bd = new double[6], cd = new double[4];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(ad.AsSpan(0, 5), bd, cd, 2, 2, 3, false, false, false));
    }

    [Theory]
    [MemberData(nameof(TransCombos))]
    public void Double_OddShapes_MatchReference(bool transA, bool transB)
    {
        var rnd = new Random(11);
        int[] sizes = [1, 2, 7, 16, 33, 65, 300];
        foreach (bool accumulate in new[] { false, true })
            foreach (int m in sizes)
                foreach (int n in sizes)
                    foreach (int k in new[] { 0, 1, 9, 100, 257 })
                    {
                        double[] a = RandomD(rnd, m * k), b = RandomD(rnd, k * n), c0 = RandomD(rnd, m * n);
                        double[] c = (double[])c0.Clone();
                        Gemm.Multiply(a, b, c, m, n, k, transA, transB, accumulate);
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double s = accumulate ? c0[i * n + j] : 0;
                                for (int p = 0; p < k; p++)
                                    s += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                                Assert.True(Math.Abs(s - c[i * n + j]) <= 1e-12 * (k + 1) * (1 + Math.Abs(s)),
                                    $"double m={m} n={n} k={k} ({i},{j}): {c[i * n + j]} vs {s}");
                            }
                    }

        static double[] RandomD(Random rnd, int length)
        {
            var x = new double[length];
            for (int i = 0; i < length; i++) x[i] = rnd.NextDouble() * 2 - 1;
            return x;
        }
    }

    [Fact]
    public void ConvenienceOverload_UsesThreadContext()
    {
        var rnd = new Random(9);
        float[] a = Random(rnd, 33 * 65), b = Random(rnd, 65 * 17), c = new float[33 * 17];
        Gemm.Multiply(a, b, c, 33, 17, 65, false, false, false);
        AssertClose(Reference(a, b, c, 33, 17, 65, false, false, false), c, 65, "default context");
    }
}
