using System.Runtime.Intrinsics;
using Dl.Kernels;

namespace Dl.Tests.Ops;

/// <summary>Softplus beyond the generic unary-op tests (which find it by its [DlOp] and check every length, NaN, the
/// vector path against the scalar one and the derivative by finite differences): PyTorch's threshold and the tails.</summary>
public class SoftplusOpTests
{
    // x, ln(1 + e^x) in double (Python's math.log1p(math.exp(x))), or x above the threshold.
    public static TheoryData<float, double> Values => new()
    {
        { float.NegativeInfinity, 0 }, { -87f, 1.6458114310822737e-38 }, { -20f, 2.061153620314381e-09 }, { -1f, 0.31326168751822286 },
        { 0f, 0.6931471805599453 }, { -0f, 0.6931471805599453 }, { 1f, 1.3132616875182228 }, { 5f, 5.006715348489118 },
        { 20f, 20.000000002061153 }, { 20.5f, 20.5 }, { 1e30f, 1e30 }, { float.PositiveInfinity, double.PositiveInfinity },
    };

    [Theory, MemberData(nameof(Values))]
    public void Forward_MatchesTheReference_InEveryPath(float x, double expected)
    {
        float[] xs = Enumerable.Repeat(x, Vector256<float>.Count + 3).ToArray(), ys = new float[xs.Length];
        Elementwise.Unary<SoftplusOp>(xs, ys, 0f);
        var got = new List<double>(ys.Select(v => (double)v))
        {
            SoftplusOp.Forward(Vector256.Create(x), default).GetElement(2), SoftplusOp.Forward(x, 0f), SoftplusOp.Forward((double)x, 0.0),
        };
        foreach (double y in got)
            Assert.True(y == expected || Math.Abs(y - expected) <= 2.4e-7 * Math.Abs(expected), $"softplus({x:R}) = {y:R}, expected {expected:R}");
    }

    [Theory]
    [InlineData(20.001f, 1.0)]                 // above the threshold the gradient passes unchanged (PyTorch)
    [InlineData(float.PositiveInfinity, 1.0)]
    [InlineData(3f, 0.9525741268224334)]       // σ(3)
    [InlineData(0f, 0.5)]
    [InlineData(float.NegativeInfinity, 0.0)]
    public void Backward_IsTheSigmoid_AndOneAboveTheThreshold(float x, double expected)
    {
        float[] xs = Enumerable.Repeat(x, Vector256<float>.Count + 3).ToArray(), dx = new float[xs.Length];
        float[] ys = new float[xs.Length], dy = Enumerable.Repeat(2f, xs.Length).ToArray();
        Elementwise.Unary<SoftplusOp>(xs, ys, 0f);
        Elementwise.UnaryBackward<SoftplusOp>(xs, ys, dy, dx, 0f, accumulate: false);
        Assert.All(dx, g => Assert.Equal(2 * expected, g, 1e-6));
        Assert.Equal(2 * expected, SoftplusOp.Backward((double)x, 0.0, 2.0, 0.0), 1e-12);
    }
}
