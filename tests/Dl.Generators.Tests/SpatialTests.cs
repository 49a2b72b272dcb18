using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>Convolution and pooling geometry at compile time: impossible kernel/stride/padding combinations are DL0013
/// at the call with the formula's values; the summary carries each layer's output shape and parameter count.</summary>
public class SpatialTests
{
    private static (Diagnostic[] Diagnostics, string Generated, string Source) Run(string model) => GeneratorHarness.RunModel(model);

    private static Diagnostic Single(string model, string id, out string text) => GeneratorHarness.SingleDiagnostic(model, id, out text);

    [Fact]
    public void KernelLargerThanPaddedInput_IsDL0013_WithTheFormulaValues()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(1, 5, 5)] Tensor x) => Conv2d(x, 4, kernel: 7, name: "c");
            }
            """, "DL0013", out string text);
        Assert.StartsWith("Conv2d(x, 4, kernel: 7", text);
        Assert.Contains("floor((5 + 0 + 0 - 7) / 1) + 1 = -1", d.GetMessage());
    }

    [Fact]
    public void ZeroStride_IsDL0013()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 8, 8)] Tensor x) => Conv2d(x, 4, kernel: 3, name: "c", stride: (1, 0));
            }
            """, "DL0013", out _);
        Assert.Contains("stride", d.GetMessage());
    }

    [Fact]
    public void SamePaddingWithStride2_IsDL0013()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 8, 8)] Tensor x) => Conv2d(x, 4, kernel: 3, name: "c", stride: 2, padding: Pad.Same);
            }
            """, "DL0013", out _);
        Assert.Contains("'same' padding needs stride 1", d.GetMessage());
    }

    [Fact]
    public void PoolingPaddingBeyondHalfTheKernel_IsDL0013()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 8, 8)] Tensor x) => MaxPool2d(x, kernel: 2, padding: 2);
            }
            """, "DL0013", out string text);
        Assert.StartsWith("MaxPool2d", text);
        Assert.Contains("at most half the kernel", d.GetMessage());
    }

    [Fact]
    public void ConvOnAVector_IsDL0012()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(16)] Tensor x) => Conv2d(x, 4, kernel: 3, name: "c");
            }
            """, "DL0012", out _);
        Assert.Contains("[C, H, W]", d.GetMessage());
    }

    [Fact]
    public void NonConstantKernel_IsDL0004()
    {
        Single("""
            [Model] partial class M {
                int k = 3;
                [Forward] Tensor F([Shape(1, 8, 8)] Tensor x) => Conv2d(x, 4, kernel: k, name: "c");
            }
            """, "DL0004", out string text);
        Assert.Equal("k", text);
    }

    [Fact]
    public void DropoutProbabilityOutOfRange_IsDL0012()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(8)] Tensor x) => Dropout(x, 1.5f);
            }
            """, "DL0012", out _);
        Assert.Contains("[0, 1)", d.GetMessage());
    }

    /// <summary>The slides' quiz: 227x227x3 through 96 filters of 11x11, stride 4, no padding: 364 x 96 = 34,944
    /// parameters and a 55x55 output; and 3x3, stride 2, total padding 2 (PyTorch padding 1) on 9x13 gives 5x7.</summary>
    [Fact]
    public void Summary_ShowsOutputShapesAndParameterCounts()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(3, 227, 227)] Tensor x, [Shape(1, 9, 13)] Tensor z)
                {
                    var a = Conv2d(x, 96, kernel: 11, name: "alex", stride: 4);
                    var b = Conv2d(z, 1, kernel: 3, name: "quiz", stride: 2, padding: 1);
                    return Concat(Flatten(a), Flatten(b), axis: 0);
                }
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("new(\"alex\", \"Conv2d\", new int[] { 96, 55, 55 }, 34944)", generated);
        Assert.Contains("new(\"quiz\", \"Conv2d\", new int[] { 1, 5, 7 }, 10)", generated);
    }

    [Fact]
    public void PerDimensionStrideAndAsymmetricPadding_GiveTheFormulaShapes()
    {
        // Strides of 3 and 2 (the slides' example) on 8x8 with a 3x3 kernel and padding (top 0, bottom 1, left 1, right 0):
        // height floor((8 + 1 - 3) / 3) + 1 = 3, width floor((8 + 1 - 3) / 2) + 1 = 4.
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 8, 8)] Tensor x) => Conv2d(x, 5, kernel: 3, name: "c", stride: (3, 2), padding: (0, 1, 1, 0));
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("new(\"c\", \"Conv2d\", new int[] { 5, 3, 4 }, 95)", generated);
        Assert.Contains("new global::Dl.Kernels.Window2d(2, 8, 8, 3, 3, 3, 2, 0, 1, 1, 0)", generated);
    }

    [Fact]
    public void Conv1dFull_PadsKernelMinusOneAtBothEnds()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(1, 3)] Tensor x) => Conv1d(x, 1, kernel: 3, name: "c", padding: Pad.Full, bias: false);
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("new(\"c\", \"Conv1d\", new int[] { 1, 5 }, 3)", generated);
    }

    [Theory]
    [InlineData("Pad.Valid", 8)]     // n - k + 1
    [InlineData("Pad.Same", 10)]     // n (p = (k - 1) / 2 on both ends)
    [InlineData("Pad.Full", 12)]     // n + k - 1
    [InlineData("2", 12)]            // 2 per end
    [InlineData("(0, 0, 0, 1)", 9)]  // right end only
    public void Conv1d_PaddingModes_GiveTheirLengths(string padding, int length)
    {
        var (diagnostics, generated, _) = Run($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 10)] Tensor x) => Conv1d(x, 4, kernel: 3, name: "c", padding: {{padding}});
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains($"new(\"c\", \"Conv1d\", new int[] {{ 4, {length} }}, 28)", generated);
    }

    [Fact]
    public void BatchNormAndDropout_AreModeDependent()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4, 6, 6)] Tensor x) => Dropout(Relu(BatchNorm(Conv2d(x, 3, kernel: 3, name: "c", padding: Pad.Same), "bn")), 0.5f);
                [Loss] Tensor L(Tensor y, [Shape(3, 6, 6)] Tensor t) => MseLoss(y, t);
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("if (Training)", generated);
        Assert.Contains("BatchNorm.ForwardTrain", generated);
        Assert.Contains("BatchNorm.ForwardEval", generated);
        Assert.Contains("Dropout.Forward", generated);
        Assert.Contains("\"bn.running_mean\"", generated);
        Assert.Contains("new(\"bn\", \"BatchNorm\", new int[] { 3, 6, 6 }, 6)", generated);
    }

    [Fact]
    public void ConvTranspose2d_GivesPyTorchsShapeAndSummary_AndRunsTheConvKernels()
    {
        // (5 - 1)·2 - 2·1 + 3 + 1 = 10, (7 - 1)·2 - 2·1 + 3 + 1 = 14; weight [3, 4, 3, 3] + bias 4 = 112.
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(3, 5, 7)] Tensor x) => ConvTranspose2d(x, 4, kernel: 3, name: "up", stride: 2, padding: 1, outputPadding: 1);
                [Loss] Tensor L(Tensor y, [Shape(4, 10, 14)] Tensor t) => MseLoss(y, t);
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("new(\"up\", \"ConvTranspose2d\", new int[] { 4, 10, 14 }, 112)", generated);
        Assert.Contains("new global::Dl.Kernels.Window2d(4, 10, 14, 3, 3, 2, 2, 1, 1, 1, 1)", generated);
        Assert.Contains("ConvTranspose2d.ForwardIm2Col", generated);
        Assert.Contains("Conv2d.BackwardWeightIm2Col", generated);
    }

    [Theory]
    [InlineData("ConvTranspose2d(x, 0, kernel: 3, name: \"t\")", "outChannels must be positive, got 0")]
    [InlineData("ConvTranspose2d(Flatten(x), 2, kernel: 3, name: \"t\")", "expected a sample of shape [C, H, W], got")]
    [InlineData("MaxPool1d(x, kernel: 2)", "expected a sample of shape [C, L], got")]
    public void BadArguments_AreDL0012(string call, string expected)
    {
        var d = Single($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 6, 6)] Tensor x) => Flatten({{call}});
            }
            """, "DL0012", out _);
        Assert.Contains(expected, d.GetMessage());
    }
}
