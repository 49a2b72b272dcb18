using System.Reflection;
using Dl.Kernels;

namespace Dl.Tests.Ops;

public class ElementwiseDriverTests
{
    [Fact]
    public void Unary_DestinationTooShort_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => Elementwise.Unary<ExpOp>(new float[9], new float[8], 0f));
        Assert.Equal("y", e.ParamName);
        Assert.Throws<ArgumentException>(() => Elementwise.Unary<ExpOp>(new double[3], new double[2], 0.0));
    }

    [Fact]
    public void Unary_PartialOverlap_Throws_InPlaceAllowed()
    {
        float[] buf = Enumerable.Range(0, 20).Select(i => (float)i).ToArray();
        Assert.Throws<ArgumentException>(() => Elementwise.Unary<SquareOp>(buf.AsSpan(0, 16), buf.AsSpan(1, 16), 0f));
        Elementwise.Unary<SquareOp>(buf, buf, 0f);
        Assert.Equal(361f, buf[19]);
    }

    [Fact]
    public void Backward_LengthMismatch_Throws()
    {
        float[] a = new float[10], b = new float[9];
        var e = Assert.Throws<ArgumentException>(() => Elementwise.UnaryBackward<TanhOp>(a, b, a, new float[10], 0f, false));
        Assert.Contains("'y' has 9 elements; expected 10", e.Message);
        Assert.Throws<ArgumentException>(() => Elementwise.Binary<AddOp>(a, b, new float[10]));
        Assert.Throws<ArgumentException>(() => Elementwise.BinaryBackward<MultiplyOp>(a, a, a, a, new float[9], Span<float>.Empty));
        float[] g = new float[20];
        Assert.Throws<ArgumentException>(() => Elementwise.BinaryBackward<MultiplyOp>(a, a, a, a, g.AsSpan(0, 10), g.AsSpan(5, 10)));
    }

    [Fact]
    public void UnaryBackward_Accumulates_EachElementOnce()
    {
        // Lengths with a remainder: a re-processed overlap would add twice.
        for (int n = 1; n < 30; n++)
        {
            float[] x = Enumerable.Range(0, n).Select(i => i + 1f).ToArray(), y = new float[n], dy = Enumerable.Repeat(1f, n).ToArray();
            float[] dx = Enumerable.Repeat(10f, n).ToArray();
            Elementwise.Unary<SquareOp>(x, y, 0f);
            Elementwise.UnaryBackward<SquareOp>(x, y, dy, dx, 0f, accumulate: true);
            for (int i = 0; i < n; i++) Assert.Equal(10f + 2 * x[i], dx[i]);
        }
    }

    [Fact]
    public void OpsSurface_BindsEachMethodToAnOpOfTheRightKind()
    {
        var contracts = new Dictionary<OpKind, Type>
        {
            [OpKind.Unary] = typeof(IUnaryOp), [OpKind.Binary] = typeof(IBinaryOp), [OpKind.RowWise] = typeof(IRowOp), [OpKind.Loss] = typeof(ILossOp),
        };
        var methods = typeof(Dl.Ops).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Concat(typeof(Tensor).GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Select(m => (Method: m, Op: m.GetCustomAttribute<OpAttribute>()))
            .Where(p => p.Op is not null && contracts.ContainsKey(p.Op.Kind)).ToList();
        Assert.NotEmpty(methods);
        foreach (var (m, op) in methods)
        {
            Assert.True(op!.Impl is not null, $"{m.Name}: [Op({op.Kind})] needs its implementing struct.");
            foreach (Type impl in new[] { op.Impl!, op.LabelsImpl }.OfType<Type>())
            {
                Assert.True(impl.GetCustomAttribute<DlOpAttribute>() is not null, $"{m.Name}: {impl.Name} has no [DlOp].");
                Assert.True(contracts[op.Kind].IsAssignableFrom(impl), $"{m.Name}: {impl.Name} does not implement {contracts[op.Kind].Name}.");
            }
        }
        // Every primitive is reachable from the surface, and op names are unique.
        var bound = methods.SelectMany(p => new[] { p.Op!.Impl, p.Op.LabelsImpl }).OfType<Type>().ToHashSet();
        Assert.All(OpCases.OpTypes.Where(t => t != typeof(AddOp)), t => Assert.Contains(t, bound));
        Assert.Equal(OpCases.OpTypes.Length, OpCases.OpTypes.Select(t => t.GetCustomAttribute<DlOpAttribute>()!.Name).Distinct().Count());
    }
}
