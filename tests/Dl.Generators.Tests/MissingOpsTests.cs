namespace Dl.Tests;

/// <summary>The ops of issue 15 at build time: their argument and shape checks as DL diagnostics at the call (with the
/// shared rules' text), and what the generated code does for them (Detach: no backward; Where: no gradient to the mask).</summary>
public class MissingOpsTests
{
    private static (string Generated, Microsoft.CodeAnalysis.Diagnostic[] Diagnostics) Build(string model)
    {
        var (diagnostics, generated, _) = GeneratorHarness.RunModel(model);
        return (generated, diagnostics);
    }

    [Theory]
    [InlineData("Clamp(x, 1f, -1f)", "min is 1 and max is -1; expected finite numbers with min ≤ max")]
    [InlineData("Hardtanh(x, 0.5f, 0.25f)", "min is 0.5 and max is 0.25; expected finite numbers with min ≤ max")]
    [InlineData("Clamp(x, float.NegativeInfinity, 1f)", "min is -Infinity and max is 1; expected finite numbers with min ≤ max")]
    [InlineData("Hardtanh(x, -1f, float.NaN)", "min is -1 and max is NaN; expected finite numbers with min ≤ max")]
    public void Bounds_AreDL0012_WithTheSharedRulesText(string call, string expected)
    {
        var d = GeneratorHarness.SingleDiagnostic($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => {{call}};
            }
            """, "DL0012", out string text);
        Assert.Equal(call, text);
        Assert.Contains(expected, d.GetMessage());
    }

    [Theory]
    [InlineData("Stack([x, Slice(x, 0, 0, 3)])", "DL0003", "stacking needs parts of one shape, got [4] and [3]")]
    [InlineData("Stack([x, x], 2)", "DL0012", "stacking along per-sample axis 2 (the third after the batch B) needs an axis of the result, 0 to 1")]
    [InlineData("Concat([x, Reshape(x, 2, 2), x])", "DL0003", "equal rank and batching")]
    [InlineData("Concat([x], 0)", "DL0012", "needs at least two parts, got 1")]
    [InlineData("Where(x, x, Slice(x, 0, 0, 3))", "DL0003", "they broadcast only when equal or one is 1")]
    [InlineData("Where(Slice(x, 0, 0, 3), x, x)", "DL0003", "they broadcast only when equal or one is 1")]
    [InlineData("Sum(x, -2)", "DL0012", "per-sample axis -2 is out of range for per-sample shape [4] (axes are per sample: 0 is the first axis after the batch (PyTorch's dim 1), -1 the last)")]
    [InlineData("Sum(x, 1)", "DL0012", "axes are per sample: 0 is the first axis after the batch")]
    public void BadArguments_AreDiagnosticsAtTheCall(string call, string id, string expected)
    {
        var d = GeneratorHarness.SingleDiagnostic($$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => Flatten({{call}});
            }
            """, id, out string text);
        Assert.Equal(call, text);
        Assert.Contains(expected, d.GetMessage());
    }

    [Fact]
    public void Detach_HasNoBackward_AndItsParameterIsNotTrained()
    {
        var (generated, diagnostics) = Build("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 3, "a") + Detach(Linear(x, 3, "frozen"));
                [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        Assert.Contains("dfrozen.weight = 0 (the loss does not depend on it)", generated);
        Assert.DoesNotContain("[detach]", generated);
    }

    /// <summary>Detaching every parameter leaves a loss no parameter reaches: the model builds, with Loss and Trace but no
    /// training methods (as a loss that depends on no parameter at all).</summary>
    [Fact]
    public void Detach_OfEveryParameter_LeavesNoTrainingMethods()
    {
        var (generated, diagnostics) = Build("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => Detach(Linear(x, 3, "frozen"));
                [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        Assert.DoesNotContain("ITrainableModel", generated);
        Assert.DoesNotContain("TrainStep", generated);
    }

    [Fact]
    public void WhereMask_TakesNoGradient_SoAStepInItIsNotDL0009()
    {
        var (generated, diagnostics) = Build("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => Where(Step(Linear(x, 4, "gate")), Linear(x, 4, "a"), 0f);
                [Loss] Tensor L(Tensor y, [Shape(4)] Tensor t) => MseLoss(y, t);
            }
            """);
        Assert.DoesNotContain(diagnostics, d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        Assert.Contains("dgate.weight = 0 (the loss does not depend on it)", generated);
    }
}
