using Dl.Kernels;
using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

/// <summary>The rules of src/Shared at run time: the tape and the kernels report and size what the generator does at build
/// time (Dl.Generators.Tests' SharedContractTests expect the very same texts and numbers).</summary>
public class SharedContractTapeTests
{
    private static string Fails(Func<Tensor, Tensor> forward)
    {
        DynamicModel model = Lambda.Create([], [new InputInfo("x", [2, 6, 6])], [1], null, (_, x) => Sum(Flatten(forward(x[0]))), null);
        return Assert.ThrowsAny<ArgumentException>(() => model.PredictDouble(new double[72], new double[1], 1)).Message;
    }

    public static TheoryData<int, string> WindowRules => new()
    {
        { 0, "padding (3, 3, 3, 3) must be smaller than the kernel 3 x 3 on each side" },
        { 1, "output height = floor((H + top + bottom - k) / s) + 1 = floor((6 + 0 + 0 - 7) / 1) + 1 = 0; the kernel does not fit the padded input" },
        { 2, "'same' padding needs stride 1, got (2, 2)" },
        { 3, "the stride must be at least 1 per dimension, got (1, 0)" },
        { 4, "pooling padding (2, 2, 2, 2) must be at most half the kernel 2 x 2" },
        { 5, "pooling padding (0, 0, 2, 0) must be at most half the kernel 3 x 3" },
        { 6, "pooling padding (0, 0, 2, 2) must be at most half the kernel 1 x 2" },
        { 7, "output width = floor((W + left + right - k) / s) + 1 = floor((36 + 0 + 0 - 37) / 37) + 1 = 0; the kernel does not fit the padded input" },
        { 8, "the stride must be at least 1 per dimension, got (1, 0)" },
        { 9, "output padding (2, 2) must be non-negative and smaller than the stride (2, 2)" },
        { 10, "padding (3, 3) must be smaller than the kernel 3 x 3" },
        { 11, "output height = (H - 1)·s - 2·p + k + output_padding = (1 - 1)·1 - 2·2 + 3 + 0 = -1; it must be at least 1" },
        { 12, "the kernel must be at least 1 x 1, got 3 x 0" },
    };

    /// <summary>The calls of the generator's WindowGeometry_IsDL0013_WithTheSharedRulesText, in the same order.</summary>
    private static readonly Func<Tensor, Tensor>[] WindowCalls =
    [
        x => Conv2d(x, 2, kernel: 3, name: "c", padding: 3),
        x => Conv2d(x, 2, kernel: 7, name: "c"),
        x => Conv2d(x, 2, kernel: 3, name: "c", stride: 2, padding: Pad.Same),
        x => Conv2d(x, 2, kernel: 3, name: "c", stride: (1, 0)),
        x => MaxPool2d(x, kernel: 2, padding: 2),
        x => MaxPool2d(x, kernel: 3, padding: (0, 0, 2, 0)),
        x => MaxPool1d(Reshape(x, 2, 36), kernel: 2, padding: 2),
        x => AvgPool1d(Reshape(x, 2, 36), kernel: 37),
        x => MaxPool1d(Reshape(x, 2, 36), kernel: 2, stride: 0),
        x => ConvTranspose2d(x, 2, kernel: 3, name: "t", stride: 2, outputPadding: 2),
        x => ConvTranspose2d(x, 2, kernel: 3, name: "t", padding: 3),
        x => ConvTranspose2d(Reshape(x, 72, 1, 1), 2, kernel: 3, name: "t", padding: 2),
        x => ConvTranspose2d(x, 2, kernel: (3, 0), name: "t"),
    ];

    [Theory]
    [MemberData(nameof(WindowRules))]
    public void WindowGeometry_Throws_WithTheSharedRulesText(int call, string expected)
        => Assert.Contains(expected, Fails(WindowCalls[call]));

    [Theory]
    [InlineData(4, "groups is 4; expected a positive divisor of the 2 channels")]
    [InlineData(0, "groups is 0; expected a positive divisor of the 2 channels")]
    public void GroupNormGroups_Throw_WithTheSharedRulesText(int groups, string expected)
        => Assert.Contains(expected, Fails(x => GroupNorm(x, groups, "gn")));

    [Theory]
    [InlineData(1f, -1f, "min is 1 and max is -1; expected finite numbers with min ≤ max")]
    [InlineData(0.5f, 0.25f, "min is 0.5 and max is 0.25; expected finite numbers with min ≤ max")]
    [InlineData(float.NegativeInfinity, 1f, "min is -Infinity and max is 1; expected finite numbers with min ≤ max")]
    [InlineData(-1f, float.NaN, "min is -1 and max is NaN; expected finite numbers with min ≤ max")]
    public void ClampBounds_Throw_WithTheSharedRulesText(float min, float max, string expected)
    {
        Assert.Contains("clamp: " + expected, Fails(x => Clamp(x, min, max)));
        Assert.Contains("hardtanh: " + expected, Fails(x => Hardtanh(x, min, max)));
    }

    /// <summary>Padding ≥ kernel used to pass the generator's check and fail Window2d.Validate; both are now
    /// WindowGeometry.Check, and Window2d's output size is its floor formula.</summary>
    [Fact]
    public void Window2d_ValidatesWithTheSharedRule()
    {
        var g = new Window2d(1, 6, 6, 3, 3, 1, 1, 3, 3, 3, 3);
        Assert.Equal($"Window2d: {WindowGeometry.Check(1, 6, 6, 3, 3, 1, 1, 3, 3, 3, 3, pooling: false)}.",
            Assert.Throws<ArgumentException>(g.Validate).Message);
        Assert.Equal(0, new Window2d(1, 6, 6, 7, 7, 2, 2, 0, 0, 0, 0).OutH);   // floor(-1 / 2) + 1, not the truncated 1
        Assert.Equal(3, WindowGeometry.OutSize(8, 0, 1, 3, 3));
        Assert.Equal((1, 1, 2, 2), WindowGeometry.Resolve(PadMode.Same, 3, 5, 0, 0, 0, 0));
        Assert.Null(WindowGeometry.Check(1, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, pooling: true));
    }

    /// <summary>The numbers of the generator's RecurrentWorkspace_IsTheSharedFormula: the sizes RecurrentShape checks.</summary>
    [Theory]
    [InlineData(RecurrentCell.Rnn, 5, 3, 4, 5 * 4 + 6 * 4 + 5 * 3, 5 * 4 + 5 * 3 + 2 * 4)]
    [InlineData(RecurrentCell.Lstm, 5, 3, 4, 5 * 16 + 6 * 4 + 11 * 4 + 5 * 3, 5 * 16 + 5 * 3 + 3 * 4)]
    [InlineData(RecurrentCell.Gru, 5, 3, 4, 5 * 12 + 6 * 4 + 5 * 4 + 12 + 5 * 3, 2 * 5 * 12 + 5 * 3 + 2 * 4)]
    [InlineData(RecurrentCell.GruResetBefore, 5, 3, 4, 5 * 12 + 6 * 4 + 5 * 4 + 12 + 5 * 3, 2 * 5 * 12 + 5 * 3 + 3 * 4)]
    public void RecurrentShape_Workspaces_AreTheSharedFormula(RecurrentCell cell, int steps, int input, int hidden, int saved, int scratch)
    {
        var shape = new RecurrentShape(cell, steps, input, hidden);
        Assert.Equal((saved, scratch), (shape.SavedPerSample, shape.ScratchPerSample));
        // The saved layout ends where the shared size says (the offsets the kernels use are consistent with it).
        Assert.Equal(saved, shape.OffsetStep + shape.StepLength);
        Assert.Equal(scratch, shape.OffsetCarry + shape.CarryLength);
    }

    [Fact]
    public void AttentionShape_Workspaces_AreTheSharedFormula()
    {
        var shape = new AttentionShape(3, 5, 7, 4, 2, false, true);
        Assert.Equal(3 * 5 * 7, shape.ProbsPerSample);
        Assert.Equal((5 + 14) * 6 + 2 * 35, shape.ScratchLength);
        Assert.Null(AttentionContract.Heads(3, 12, 6));
        Assert.Equal("5 heads do not divide the model width D = 12", AttentionContract.ModelHeads(5, 12));
    }
}

/// <summary>The shared blocks of slice and concat (the generator lowers to the same copies; its snapshots pin them).</summary>
public class StructuralGeometryTests
{
    [Fact]
    public void SliceAndConcat_Blocks_AndTheirGradients()
    {
        // [2, 5, 3], elements 1 .. 3 of axis 1: per outer row, 2·3 elements from offset 3 of a 15-element row.
        BlockCopy slice = StructuralGeometry.Slice(2, 5, 3, 1, 2);
        Assert.Equal((2, 6, 15, 3, 6, 0), (slice.Groups, slice.Run, slice.SourceStride, slice.SourceOffset, slice.TargetStride, slice.TargetOffset));
        BlockCopy back = slice.Reversed();
        Assert.Equal((6, 0, 15, 3), (back.SourceStride, back.SourceOffset, back.TargetStride, back.TargetOffset));
        float[] x = [.. Enumerable.Range(0, 30).Select(i => (float)i)], y = new float[12];
        TapeKernels.CopyBlocks<float>(x, 30, y, 12, 1, slice, accumulate: false);
        Assert.Equal([3, 4, 5, 6, 7, 8, 18, 19, 20, 21, 22, 23], y);
        // Concat [2, 1] and [2, 2] on axis 1: the second operand lands after the first in each row of 3.
        BlockCopy second = StructuralGeometry.ConcatPart(2, 3, 1, 2, 1);
        float[] joined = new float[6];
        TapeKernels.CopyBlocks<float>([7, 8, 9, 10], 4, joined, 6, 1, second, accumulate: false);
        Assert.Equal([0, 7, 8, 0, 9, 10], joined);
        float[] grad = new float[4];
        TapeKernels.CopyBlocks<float>([1, 2, 3, 4, 5, 6], 6, grad, 0, 1, second.Reversed(), accumulate: true);
        Assert.Equal([2, 3, 5, 6], grad);
    }

    /// <summary>The GEMMs of C = A·op(B) and its gradients: dA = dC·op(B)ᵀ, dB = Aᵀ·dC (or dCᵀ·A for B stored transposed),
    /// checked on numbers against the definitions through the tape's GEMM.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatMulGeometry_Gradients_AreTheDefinitions(bool transB)
    {
        const int rows = 2, inner = 3, cols = 4;
        double[] a = [.. Enumerable.Range(1, rows * inner).Select(i => (double)i)];
        double[] b = [.. Enumerable.Range(1, inner * cols).Select(i => 0.5 * i)];
        double[] dc = [.. Enumerable.Range(1, rows * cols).Select(i => (double)(i % 3) - 1)];
        double B(int i, int j) => transB ? b[j * inner + i] : b[i * cols + j];   // op(B)[i, j], i < inner, j < cols
        using var gemm = new GemmContext(1);
        double[] Run(GemmGeometry g, int size)
        {
            double[] target = new double[size];
            double[] Of(MatMulRole r) => r == MatMulRole.A ? a : r == MatMulRole.B ? b : dc;
            TapeKernels.Gemm<double>(Of(g.Left), Of(g.Right), target, MatMulGeometry.Size(g.M, rows, inner, cols),
                MatMulGeometry.Size(g.N, rows, inner, cols), MatMulGeometry.Size(g.K, rows, inner, cols), g.TransLeft, g.TransRight, false, gemm);
            return target;
        }
        double[] c = Run(MatMulGeometry.Forward(transB), rows * cols), da = Run(MatMulGeometry.GradA(transB), rows * inner);
        double[] db = Run(MatMulGeometry.GradB(transB), inner * cols);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
                Assert.Equal(Enumerable.Range(0, inner).Sum(i => a[r * inner + i] * B(i, j)), c[r * cols + j], 9);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < inner; i++)
                Assert.Equal(Enumerable.Range(0, cols).Sum(j => dc[r * cols + j] * B(i, j)), da[r * inner + i], 9);
        for (int i = 0; i < inner; i++)
            for (int j = 0; j < cols; j++)
                Assert.Equal(Enumerable.Range(0, rows).Sum(r => a[r * inner + i] * dc[r * cols + j]), db[transB ? j * inner + i : i * cols + j], 9);
    }
}
