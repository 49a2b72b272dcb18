using Dl.Generators.Lowering;

namespace Dl.Tests;

/// <summary>The rules of src/Shared at build time: the generator's diagnostics and sizes are those of the shared contract,
/// which the runtime applies at run time (Dl.Runtime.Tests' SharedContractTapeTests expect the very same texts, so a rule
/// that drifts on one side fails one of the two).</summary>
public class SharedContractTests
{
    /// <summary>One model per window rule (WindowGeometry.Check and ModeFitsStride), with the clause both engines report.</summary>
    public static TheoryData<string, string> WindowRules => new()
    {
        { "Conv2d(x, 2, kernel: 3, name: \"c\", padding: 3)", "padding (3, 3, 3, 3) must be smaller than the kernel 3 x 3 on each side" },
        { "Conv2d(x, 2, kernel: 7, name: \"c\")",
          "output height = floor((H + top + bottom - k) / s) + 1 = floor((6 + 0 + 0 - 7) / 1) + 1 = 0; the kernel does not fit the padded input" },
        { "Conv2d(x, 2, kernel: 3, name: \"c\", stride: 2, padding: Pad.Same)", "'same' padding needs stride 1, got (2, 2)" },
        { "Conv2d(x, 2, kernel: 3, name: \"c\", stride: (1, 0))", "the stride must be at least 1 per dimension, got (1, 0)" },
        { "MaxPool2d(x, kernel: 2, padding: 2)", "pooling padding (2, 2, 2, 2) must be at most half the kernel 2 x 2" },
        { "MaxPool2d(x, kernel: 3, padding: (0, 0, 2, 0))", "pooling padding (0, 0, 2, 0) must be at most half the kernel 3 x 3" },
        { "MaxPool1d(Reshape(x, 2, 36), kernel: 2, padding: 2)", "pooling padding (0, 0, 2, 2) must be at most half the kernel 1 x 2" },
        { "AvgPool1d(Reshape(x, 2, 36), kernel: 37)",
          "output width = floor((W + left + right - k) / s) + 1 = floor((36 + 0 + 0 - 37) / 37) + 1 = 0; the kernel does not fit the padded input" },
        { "MaxPool1d(Reshape(x, 2, 36), kernel: 2, stride: 0)", "the stride must be at least 1 per dimension, got (1, 0)" },
        { "ConvTranspose2d(x, 2, kernel: 3, name: \"t\", stride: 2, outputPadding: 2)",
          "output padding (2, 2) must be non-negative and smaller than the stride (2, 2)" },
        { "ConvTranspose2d(x, 2, kernel: 3, name: \"t\", padding: 3)", "padding (3, 3) must be smaller than the kernel 3 x 3" },
        { "ConvTranspose2d(Reshape(x, 72, 1, 1), 2, kernel: 3, name: \"t\", padding: 2)",
          "output height = (H - 1)·s - 2·p + k + output_padding = (1 - 1)·1 - 2·2 + 3 + 0 = -1; it must be at least 1" },
        { "ConvTranspose2d(x, 2, kernel: (3, 0), name: \"t\")", "the kernel must be at least 1 x 1, got 3 x 0" },
    };

    [Theory]
    [MemberData(nameof(WindowRules))]
    public void WindowGeometry_IsDL0013_WithTheSharedRulesText(string call, string expected)
    {
        var d = GeneratorHarness.SingleDiagnostic($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 6, 6)] Tensor x) => Flatten({{call}});
            }
            """, "DL0013", out _);
        Assert.Contains(expected, d.GetMessage());
    }

    [Theory]
    [InlineData("SelfAttention(x, 5, name: \"sa\")", "5 heads do not divide the model width D = 12")]
    [InlineData("Attention(x, x, x, heads: 5)", "5 heads do not divide the query and key width 12 (= h·d_k)")]
    public void AttentionHeads_IsDL0012_WithTheSharedRulesText(string call, string expected)
    {
        var d = GeneratorHarness.SingleDiagnostic($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(5, 12)] Tensor x) => Mean({{call}}, 0);
            }
            """, "DL0012", out _);
        Assert.Contains(expected, d.GetMessage());
    }

    [Theory]
    [InlineData(4, "groups is 4; expected a positive divisor of the 2 channels")]
    [InlineData(0, "groups is 0; expected a positive divisor of the 2 channels")]
    public void GroupNormGroups_IsDL0012_WithTheSharedRulesText(int groups, string expected)
    {
        var d = GeneratorHarness.SingleDiagnostic($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(2, 6, 6)] Tensor x) => Flatten(GroupNorm(x, {{groups}}, "gn"));
            }
            """, "DL0012", out _);
        Assert.Contains(expected, d.GetMessage());
    }

    /// <summary>The workspace sizes the generator allocates are the published formulas that RecurrentShape and
    /// AttentionShape check the spans against (Dl.Runtime.Tests checks the kernels' side with the same numbers).</summary>
    [Theory]
    [InlineData(0, 5, 3, 4, 5 * 4 + 6 * 4 + 5 * 3, 5 * 4 + 5 * 3 + 2 * 4)]
    [InlineData(1, 5, 3, 4, 5 * 16 + 6 * 4 + 11 * 4 + 5 * 3, 5 * 16 + 5 * 3 + 3 * 4)]
    [InlineData(2, 5, 3, 4, 5 * 12 + 6 * 4 + 5 * 4 + 12 + 5 * 3, 2 * 5 * 12 + 5 * 3 + 2 * 4)]
    [InlineData(3, 5, 3, 4, 5 * 12 + 6 * 4 + 5 * 4 + 12 + 5 * 3, 2 * 5 * 12 + 5 * 3 + 3 * 4)]
    public void RecurrentWorkspace_IsTheSharedFormula(int cell, int steps, int input, int hidden, int saved, int scratch)
        => Assert.Equal((saved, scratch), PlanBuilder.RecurrentWorkspace(cell, steps, input, hidden));
}
