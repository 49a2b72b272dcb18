using System.Diagnostics;
using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>Recurrent layers, token lookups and per-step labels at compile time: the time loop stays in the kernel (the
/// generated code does not grow with the number of steps), shapes and arguments are diagnostics at the call.</summary>
public class RecurrentTests
{
    private static (Diagnostic[] Diagnostics, string Generated, string Source) Run(string model) => GeneratorHarness.RunModel(model);

    private static Diagnostic Single(string model, string id, out string text) => GeneratorHarness.SingleDiagnostic(model, id, out text);

    private static string Lstm(int steps) => $$"""
        [Model] partial class M {
            [Forward] Tensor F([Shape({{steps}}, 32)] Tensor x) => Linear(Last(Lstm(x, 128, name: "lstm")), 10, name: "fc");
            [Loss] Tensor L(Tensor y, [Labels(10)] Tensor t) => SoftmaxCrossEntropy(y, t);
        }
        """;

    [Fact]
    public void LongSequences_CompileToTheSameCode_NotUnrolled()
    {
        var timer = Stopwatch.StartNew();
        var (d35, g35, _) = Run(Lstm(35));
        double t35 = timer.Elapsed.TotalMilliseconds;
        timer.Restart();
        var (d256, g256, _) = Run(Lstm(256));
        double t256 = timer.Elapsed.TotalMilliseconds;
        Assert.Empty(d35);
        Assert.Empty(d256);
        // Only literals (steps, buffer offsets) differ: the kernel loops over time.
        Assert.InRange(Math.Abs(g256.Length - g35.Length), 0, 200);
        Assert.Contains("Recurrent.Forward(new global::Dl.Kernels.RecurrentShape(global::Dl.Kernels.RecurrentCell.Lstm, 256, 32, 128)", g256);
        Assert.Contains("Recurrent.Backward(", g256);
        Assert.True(t256 < 3 * t35 + 2000, $"generating 256 steps took {t256:0} ms against {t35:0} ms for 35");
    }

    [Fact]
    public void StackedLstm_HasPyTorchParameterNames_AndSummaryRow()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(7, 5)] Tensor x) => Linear(Last(Lstm(x, 13, name: "rnn", layers: 2)), 3, name: "fc");
                [Loss] Tensor L(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """);
        Assert.Empty(diagnostics);
        foreach (var p in new[] { "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.weight_ih_l1", "rnn.bias_hh_l1" })
            Assert.Contains($"\"{p}\"", generated);
        // 4·13·(5 + 13) + 2·4·13 = 1040 for layer 0, 4·13·(13 + 13) + 104 = 1456 for layer 1.
        Assert.Contains("\"Lstm x2\"", generated);
        Assert.Contains("2496", generated);
    }

    [Fact]
    public void InitialStateOfTheWrongShape_IsDL0012()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4, 3)] Tensor x, [Shape(2, 6)] Tensor h) => Last(Gru(x, 5, name: "g", layers: 2, h0: h));
            }
            """, "DL0012", out string text);
        Assert.StartsWith("Gru(x, 5", text);
        Assert.Contains("[2, 5]", d.GetMessage());
    }

    [Fact]
    public void NonSequenceInput_IsDL0012()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(12)] Tensor x) => Rnn(x, 5, name: "r");
            }
            """, "DL0012", out _);
        Assert.Contains("[T, features]", d.GetMessage());
    }

    [Fact]
    public void LoopBoundThatIsNotConstant_IsDL0004_AtTheBound()
    {
        var d = Single("""
            [Model] partial class M {
                int steps = 3;
                [Forward] Tensor F([Shape(3, 2)] Tensor x)
                {
                    var h = Linear(x[0], 4, name: "in");
                    for (int t = 1; t < steps; t++) h = Tanh(Linear(h, 4, name: "hh") + Linear(x[t], 4, name: "in"));
                    return h;
                }
            }
            """, "DL0004", out string text);
        Assert.Equal("steps", text);
        Assert.Contains("bound", d.GetMessage());
    }

    [Fact]
    public void PerStepLabels_NeedAPredictionPerStep_DL0003()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(6)] Tensor tokens) => Linear(Last(Lstm(Embedding(tokens, 20, 8, name: "emb"), 16, name: "l")), 20, name: "out");
                [Loss] Tensor L(Tensor y, [Labels(20), Shape(6)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """, "DL0003", out _);
        Assert.Contains("[6, 20]", d.GetMessage());
    }

    [Fact]
    public void LanguageModel_EmbeddingLstmPerStepLoss_Compiles()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(6)] Tensor tokens) => Linear(Lstm(Embedding(tokens, 20, 8, name: "emb"), 16, name: "l"), 20, name: "out");
                [Loss] Tensor L(Tensor y, [Labels(20), Shape(6)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """);
        Assert.Empty(diagnostics);
        Assert.Contains("EmbeddingLookup.Forward<float>(batch * 6, 20, 8", generated);
        Assert.Contains("if (target.Length != batch * 6) global::Dl.ModelChecks.ThrowLabelCount(target.Length, batch, 6);", generated);
    }

    [Fact]
    public void OneHotOfAComputedValue_ThatDependsOnParameters_IsNotDifferentiable()
    {
        var (diagnostics, _, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => Linear(OneHot(Relu(Linear(x, 1, name: "a"))[0], 3), 2, name: "b");
                [Loss] Tensor L(Tensor y, [Labels(2)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """);
        Assert.Contains(diagnostics, d => d.Id == "DL0009");
    }

    [Fact]
    public void BidirectionalWithoutBias_HasPyTorchNames_Counts_AndAConcatenatedOutput()
    {
        var (diagnostics, generated, _) = Run("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(7, 5)] Tensor x) => Linear(Last(Gru(x, 13, name: "rnn", layers: 2, bias: false, bidirectional: true)), 3, name: "fc");
                [Loss] Tensor L(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """);
        Assert.Empty(diagnostics);
        foreach (var p in new[] { "rnn.weight_ih_l0", "rnn.weight_hh_l0_reverse", "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l1" })
            Assert.Contains($"\"{p}\"", generated);
        Assert.DoesNotContain("bias_ih", generated);
        // nn.GRU(5, 13, 2, bias=False, bidirectional=True): 2·39·(5 + 13) + 2·39·(26 + 13) = 4446.
        Assert.Contains("\"Gru bidirectional x2\"", generated);
        Assert.Contains("4446", generated);
        Assert.Contains("new int[] { 7, 26 }", generated);
        // The reverse direction is the same kernel with a reversed time index (no lengths: default).
        Assert.Contains("default, true, _gemm)", generated);
    }

    [Fact]
    public void Lengths_OfTheWrongShape_OrDependingOnParameters_AreDL0012()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4, 3)] Tensor x, [Shape(2)] Tensor n) => Last(Gru(x, 5, name: "g", lengths: n));
            }
            """, "DL0012", out string text);
        Assert.StartsWith("Gru(x, 5", text);
        Assert.Contains("lengths must be one number per sample", d.GetMessage());
        var p = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4, 3)] Tensor x, [Shape(1)] Tensor n) => Last(Lstm(x, 5, name: "g", lengths: Linear(n, 1, name: "len")));
            }
            """, "DL0012", out _);
        Assert.Contains("lengths must not depend on parameters", p.GetMessage());
    }

    [Fact]
    public void BidirectionalInitialState_IsTwoRowsPerLayer_DL0012()
    {
        var d = Single("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4, 3)] Tensor x, [Shape(1, 5)] Tensor h) => Last(Rnn(x, 5, name: "r", h0: h, bidirectional: true));
            }
            """, "DL0012", out _);
        Assert.Contains("[2, 5]", d.GetMessage());
    }

    [Fact]
    public void NonConstantBidirectional_IsADiagnostic()
    {
        var (diagnostics, _, _) = Run("""
            [Model] partial class M {
                static bool Both() => true;
                [Forward] Tensor F([Shape(4, 3)] Tensor x) => Last(Rnn(x, 5, name: "r", bidirectional: Both()));
            }
            """);
        Assert.NotEmpty(diagnostics);
    }
}
