using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;
using Dl.Kernels;

namespace Dl.Tests.Ops;

// The op table: every [DlOp] struct of Dl.Runtime, found by reflection (tests only; the runtime is AOT-clean), wrapped
// in a generic harness so that the shared theories can call its static abstract members. Adding an op file adds its tests.

public interface IOpCase
{
    string Name { get; }
    Type OpType { get; }
    DlOpAttribute Meta { get; }
}

public interface IUnaryCase : IOpCase
{
    void Forward(ReadOnlySpan<float> x, Span<float> y, float a);
    void Forward(ReadOnlySpan<double> x, Span<double> y, double a);
    void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float a, bool accumulate);
    void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> dx, double a, bool accumulate);
    float Scalar(float x, float a);
    double Scalar(double x, double a);
    float ScalarBackward(float x, float y, float dy, float a);
    double ScalarBackward(double x, double y, double dy, double a);
    Vector256<float> Vector(Vector256<float> x, float a);
}

public interface IBinaryCase : IOpCase
{
    void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
    void ForwardScalarB(ReadOnlySpan<float> a, float b, Span<float> y);
    void ForwardScalarA(float a, ReadOnlySpan<float> b, Span<float> y);
    void Backward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> da, Span<float> db);
    void BackwardScalarB(ReadOnlySpan<float> a, float b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> da);
    void BackwardScalarA(float a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> db);
    void Backward(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> da, Span<double> db);
    T Scalar<T>(T a, T b) where T : IFloatingPointIeee754<T>;
    T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T>;
    T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T>;
}

public interface IRowCase : IOpCase
{
    void Forward<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>;
    void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : IFloatingPointIeee754<T>;
    void Forward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols);
    void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int rows, int cols);
}

public interface ILossCase : IOpCase
{
    T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T>;
    void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>;
    void Loss(ReadOnlySpan<float> x, ReadOnlySpan<float> target, Span<float> scratch, Span<float> loss, int rows, int cols);
    void LossBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> target, ReadOnlySpan<float> scratch, ReadOnlySpan<float> dLoss, Span<float> dx, int rows, int cols);
}

public abstract class OpCaseBase<TOp> : IOpCase
{
    public Type OpType => typeof(TOp);
    public DlOpAttribute Meta { get; } = typeof(TOp).GetCustomAttribute<DlOpAttribute>()!;
    public string Name => Meta.Name;
    public override string ToString() => Name;
}

public sealed class UnaryCase<TOp> : OpCaseBase<TOp>, IUnaryCase where TOp : IUnaryOp
{
    /// <summary>The second constant b the op is tested with (clamp's max; 0 for the ops that ignore it).</summary>
    private float B => OpCases.SecondConstantOf(Name);

    public void Forward(ReadOnlySpan<float> x, Span<float> y, float a) => Elementwise.Unary<TOp>(x, y, a, B);
    public void Forward(ReadOnlySpan<double> x, Span<double> y, double a) => Elementwise.Unary<TOp>(x, y, a, B);
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float a, bool accumulate)
        => Elementwise.UnaryBackward<TOp>(x, y, dy, dx, a, accumulate, B);
    public void Backward(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> dx, double a, bool accumulate)
        => Elementwise.UnaryBackward<TOp>(x, y, dy, dx, a, accumulate, B);
    public float Scalar(float x, float a) => TOp.Forward(x, a, B);
    public double Scalar(double x, double a) => TOp.Forward(x, a, B);
    public float ScalarBackward(float x, float y, float dy, float a) => TOp.Backward(x, y, dy, a, B);
    public double ScalarBackward(double x, double y, double dy, double a) => TOp.Backward(x, y, dy, a, B);
    public Vector256<float> Vector(Vector256<float> x, float a) => TOp.Forward(x, Vector256.Create(a), Vector256.Create(B));
}

public sealed class BinaryCase<TOp> : OpCaseBase<TOp>, IBinaryCase where TOp : IBinaryOp
{
    public void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => Elementwise.Binary<TOp>(a, b, y);
    public void ForwardScalarB(ReadOnlySpan<float> a, float b, Span<float> y) => Elementwise.BinaryScalarB<TOp>(a, b, y);
    public void ForwardScalarA(float a, ReadOnlySpan<float> b, Span<float> y) => Elementwise.BinaryScalarA<TOp>(a, b, y);
    public void Backward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> da, Span<float> db)
        => Elementwise.BinaryBackward<TOp>(a, b, y, dy, da, db);
    public void BackwardScalarB(ReadOnlySpan<float> a, float b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> da)
        => Elementwise.BinaryScalarBBackward<TOp>(a, b, y, dy, da);
    public void BackwardScalarA(float a, ReadOnlySpan<float> b, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> db)
        => Elementwise.BinaryScalarABackward<TOp>(a, b, y, dy, db);
    public void Backward(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> y, ReadOnlySpan<double> dy, Span<double> da, Span<double> db)
        => Elementwise.BinaryBackward<TOp>(a, b, y, dy, da, db);
    public T Scalar<T>(T a, T b) where T : IFloatingPointIeee754<T> => TOp.Forward(a, b);
    public T GradA<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => TOp.GradA(a, b, y, dy);
    public T GradB<T>(T a, T b, T y, T dy) where T : IFloatingPointIeee754<T> => TOp.GradB(a, b, y, dy);
}

public sealed class RowCase<TOp> : OpCaseBase<TOp>, IRowCase where TOp : IRowOp
{
    public void Forward<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T> => TOp.Forward(x, y);
    public void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : IFloatingPointIeee754<T>
        => TOp.Backward(x, y, dy, dx);
    public void Forward(ReadOnlySpan<float> x, Span<float> y, int rows, int cols) => Rows.RowWise<TOp>(x, y, rows, cols);
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int rows, int cols)
        => Rows.RowWiseBackward<TOp>(x, y, dy, dx, rows, cols);
}

public sealed class LossCase<TOp> : OpCaseBase<TOp>, ILossCase where TOp : ILossOp
{
    public T Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, Span<T> scratch) where T : IFloatingPointIeee754<T> => TOp.Forward(x, target, scratch);
    public void Backward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> target, ReadOnlySpan<T> scratch, T dLoss, Span<T> dx) where T : IFloatingPointIeee754<T>
        => TOp.Backward(x, target, scratch, dLoss, dx);
    public void Loss(ReadOnlySpan<float> x, ReadOnlySpan<float> target, Span<float> scratch, Span<float> loss, int rows, int cols)
        => Rows.Loss<TOp>(x, target, scratch, loss, rows, cols);
    public void LossBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> target, ReadOnlySpan<float> scratch, ReadOnlySpan<float> dLoss, Span<float> dx, int rows, int cols)
        => Rows.LossBackward<TOp>(x, target, scratch, dLoss, dx, rows, cols);
}

/// <summary>The discovered op table, per kind, and the per-op test knowledge that is not metadata of the op itself
/// (which constants to try, where the kinks and poles are, what a valid target looks like).</summary>
public static class OpCases
{
    public static readonly Type[] OpTypes = typeof(ReluOp).Assembly.GetTypes()
        .Where(t => t.IsValueType && t.GetCustomAttribute<DlOpAttribute>() is not null)
        .OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

    public static readonly IReadOnlyDictionary<string, IUnaryCase> Unary = Build<IUnaryCase>(typeof(IUnaryOp), typeof(UnaryCase<>));
    public static readonly IReadOnlyDictionary<string, IBinaryCase> Binary = Build<IBinaryCase>(typeof(IBinaryOp), typeof(BinaryCase<>));
    public static readonly IReadOnlyDictionary<string, IRowCase> Row = Build<IRowCase>(typeof(IRowOp), typeof(RowCase<>));
    public static readonly IReadOnlyDictionary<string, ILossCase> Loss = Build<ILossCase>(typeof(ILossOp), typeof(LossCase<>));

    private static Dictionary<string, TCase> Build<TCase>(Type contract, Type harness) where TCase : IOpCase
        => OpTypes.Where(contract.IsAssignableFrom)
            .Select(t => (TCase)Activator.CreateInstance(harness.MakeGenericType(t))!)
            .ToDictionary(c => c.Name);

    /// <summary>The constant <c>a</c> values each unary op is tested with (ops that ignore it: 0).</summary>
    private static readonly Dictionary<string, float[]> Constants = new()
    {
        ["pow"] = [2.5f, 3f, 2f, 0.5f, -1.5f, -1f, 1f],
        ["leaky_relu"] = [0.01f, 0.2f],
        ["elu"] = [1f, 0.7f, 2.5f],
        ["clamp"] = [-1f, 0.5f, 1.5f],
        ["hardtanh"] = [-1f, -0.25f],
    };

    public static float[] ConstantsOf(string op) => Constants.TryGetValue(op, out float[]? a) ? a : [0f];

    /// <summary>The second constant b of the ops that read one (the upper bound of clamp and hardtanh; a ≤ b for every a
    /// above, and a = b is tested by clamp's 1.5).</summary>
    public static float SecondConstantOf(string op) => op switch
    {
        "clamp" => 1.5f,
        "hardtanh" => 1f,
        _ => 0f,
    };

    /// <summary>Points to keep away from: kinks of piecewise ops (finite differences straddle them) and poles.</summary>
    public static bool NearKink(string op, double x) => op switch
    {
        "relu" or "abs" or "leaky_relu" or "step" or "elu" => Math.Abs(x) < 1e-3,
        // The bounds of every constant tested (a ∈ ConstantsOf, b = SecondConstantOf).
        "clamp" or "hardtanh" => ConstantsOf(op).Append(SecondConstantOf(op)).Any(k => Math.Abs(x - k) < 1e-3),
        _ => false,
    };

    public static bool NearKink(string op, double a, double b) => op switch
    {
        "maximum" or "minimum" => Math.Abs(a - b) < 1e-3,
        "divide" => Math.Abs(b) < 0.2,
        _ => false,
    };

    public static TheoryData<string, float> UnaryWithConstants()
    {
        var data = new TheoryData<string, float>();
        foreach (string name in Unary.Keys.Order(StringComparer.Ordinal))
            foreach (float a in ConstantsOf(name)) data.Add(name, a);
        return data;
    }

    public static TheoryData<string> Names<TCase>(IReadOnlyDictionary<string, TCase> cases)
    {
        var data = new TheoryData<string>();
        foreach (string name in cases.Keys.Order(StringComparer.Ordinal)) data.Add(name);
        return data;
    }

    public static TheoryData<string, float> UnaryData => UnaryWithConstants();
    public static TheoryData<string> BinaryData => Names(Binary);
    public static TheoryData<string> RowData => Names(Row);
    public static TheoryData<string> LossData => Names(Loss);

    /// <summary>A valid target row for a loss: class labels, probability distributions, probabilities or reals.</summary>
    public static double[] Target(string op, int cols, Random rng)
    {
        switch (op)
        {
            case "softmax_cross_entropy_labels":
                return [rng.Next(cols)];
            case "softmax_cross_entropy":
            {
                // Deliberately not normalized in half of the rows: the gradient must be exact for any target.
                double[] t = Enumerable.Range(0, cols).Select(_ => rng.NextDouble()).ToArray();
                double s = t.Sum();
                return rng.Next(2) == 0 ? t.Select(v => v / s).ToArray() : t;
            }
            case "binary_cross_entropy" or "binary_cross_entropy_with_logits":
                return Enumerable.Range(0, cols).Select(_ => rng.Next(3) == 0 ? rng.NextDouble() : rng.Next(2)).ToArray();
            default:
                return Enumerable.Range(0, cols).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        }
    }

    /// <summary>Uniform points of the op's declared domain, rounded to float (so float and double see the same input).</summary>
    public static double[] Points(DlOpAttribute meta, int n, Random rng, Func<double, bool>? reject = null)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            double v;
            do v = (float)(meta.DomainMin + (meta.DomainMax - meta.DomainMin) * rng.NextDouble());
            while (reject?.Invoke(v) == true);
            x[i] = v;
        }
        return x;
    }

    public static float[] ToFloat(double[] x) => Array.ConvertAll(x, v => (float)v);
    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>|got - want| ≤ tol·|want| + atol (atol defaults to tol·1e-3: relative, with a small floor for results
    /// near 0), or got is want rounded to float (so tol = 0 demands a correctly rounded result); NaN matches NaN and
    /// infinities match exactly.</summary>
    public static bool Close(double got, double want, double tol, double? atol = null)
    {
        if (double.IsNaN(want)) return double.IsNaN(got);
        if (double.IsInfinity(want) || double.IsInfinity(got)) return got == want;
        return Math.Abs(got - want) <= tol * Math.Abs(want) + (atol ?? tol * 1e-3) || got == (float)want;
    }

    public static void AssertClose(double got, double want, double tol, string what, double? atol = null)
        => Assert.True(Close(got, want, tol, atol), $"{what}: got {got:R}, expected {want:R} (tolerance {tol:G3}, error {Math.Abs(got - want):G3}).");

    /// <summary>The lengths the drivers are tested at: empty, below one vector, whole vectors and every remainder.</summary>
    public static IEnumerable<int> Lengths => Enumerable.Range(0, 3 * Vector256<float>.Count + 2);
}
