using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>The data methods' parameters mirror the model's <c>[Forward]</c> and <c>[Loss]</c> parameter names
/// (<c>Emit/ApiSurface.cs</c>): named arguments work, and with several inputs a call that passes an input where the
/// target belongs does not compile.</summary>
public class NamedArgumentTests
{
    private const string TwoInputs = """
        [Model] partial class M
        {
            [Forward] Tensor Forward([Shape(3, 4)] Tensor x, [Shape(6)] Tensor h0) => Linear(Last(Gru(x, 6, name: "gru", h0: h0)), 2, name: "fc");
            [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
        }
        """;

    private const string OneInput = """
        [Model] partial class M
        {
            [Forward] Tensor Forward([Shape(4)] Tensor image) => Linear(image, 3, name: "fc");
            [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor label) => SoftmaxCrossEntropy(logits, label);
        }
        """;

    /// <summary>The model and code using it; the compiler's errors (warnings as errors) and the generator's diagnostics.</summary>
    private static Diagnostic[] Compile(string model, string body)
    {
        string uses = "static class Uses { static float Run(Dl.IOptimizer o, float[] a, float[] b, int[] l, float[] y) { var m = new M(new Dl.ModelOptions()); "
            + body + " } }";
        var (generator, _, errors) = GeneratorHarness.RunWarningsAsErrors(GeneratorHarness.Usings + model + "\n" + uses);
        return generator.Concat(errors).ToArray();
    }

    [Fact]
    public void OneInput_NamedArguments_Compile_AndTheInterfacesAreImplemented()
    {
        var errors = Compile(OneInput, """
            m.Predict(image: a, output: y, batch: 1);
            Dl.ITrainableModel<int> t = m; Dl.IModel i = m;
            return m.TrainStep(image: a, label: l, batch: 1, optimizer: o) + m.ComputeGradients(image: a, label: l, batch: 1)
                + m.Loss(label: l, image: a, batch: 1) + m.Trace(image: a, label: l, batch: 1).GetHashCode()
                + t.ComputeGradients(a, l, 1) + t.Loss(input: a, target: l, batch: 1) + i.MaxBatch;
            """);
        Assert.Empty(errors);
    }

    [Fact]
    public void SeveralInputs_OneSpanPerInput_NamedArguments_Compile()
    {
        var errors = Compile(TwoInputs, """
            m.Predict(x: a, h0: b, output: y, batch: 1);
            return m.TrainStep(x: a, h0: b, y: l, batch: 1, optimizer: o) + m.ComputeGradients(a, b, l, 1)
                + m.Loss(h0: b, x: a, y: l, batch: 1) + m.Trace(x: a, h0: b, y: l, batch: 1).GetHashCode();
            """);
        Assert.Empty(errors);
    }

    [Fact]
    public void SeveralInputs_TheConcatenatedForm_IsTheInterfaces()
    {
        var errors = Compile(TwoInputs, """
            Dl.ITrainableModel<int> t = m; Dl.IModel i = m;
            i.Predict(a, y, 1);
            return t.TrainStep(a, l, 1, o) + t.ComputeGradients(a, l, 1) + t.Loss(input: a, target: l, batch: 1);
            """);
        Assert.Empty(errors);
    }

    /// <summary>The issue's bug: an input passed where the target belongs used to compile (h0 taken as the target).</summary>
    [Theory]
    [InlineData("return m.ComputeGradients(a, b, 1);")]
    [InlineData("return m.Loss(a, b, 1);")]
    [InlineData("return m.TrainStep(a, b, 1, o);")]
    [InlineData("m.Predict(a, b, 1); return 0;")]
    [InlineData("return m.ComputeGradients(x: a, y: b, batch: 1);")]
    [InlineData("return m.Trace(a, b, 1).GetHashCode();")]
    public void SeveralInputs_AnInputAsTheTarget_DoesNotCompile(string call)
    {
        var errors = Compile(TwoInputs, call);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.StartsWith("CS", e.Id));
    }

    [Fact]
    public void OneInput_AWrongName_DoesNotCompile()
    {
        var errors = Compile(OneInput, "return m.ComputeGradients(input: a, target: l, batch: 1);");
        Assert.Contains(errors, e => e.Id == "CS1739");   // no parameter named 'input'
    }

    [Theory]
    // A name the method uses already, or one an input took, falls back to input/target; a keyword is escaped.
    [InlineData("[Shape(4)] Tensor batch", "Tensor o, [Labels(3)] Tensor output", "m.ComputeGradients(input: a, target: l, batch: 1)")]
    [InlineData("[Shape(4)] Tensor @class", "Tensor o, [Labels(3)] Tensor @class", "m.ComputeGradients(@class: a, target: l, batch: 1)")]
    [InlineData("[Shape(4)] Tensor optimizer", "Tensor o, [Labels(3)] Tensor busy", "m.TrainStep(input: a, target: l, batch: 1, optimizer: o)")]
    [InlineData("[Shape(4)] Tensor target", "Tensor o, [Labels(3)] Tensor input", "m.Loss(target: a, input: l, batch: 1)")]
    public void Names_ThatClash_FallBack(string forward, string loss, string call)
    {
        string model = $$"""
            [Model] partial class M
            {
                [Forward] Tensor Forward({{forward}}) => Linear({{forward.Split(' ')[^1]}}, 3, name: "fc");
                [Loss] Tensor L({{loss}}) => SoftmaxCrossEntropy(o, {{loss.Split(' ')[^1]}});
            }
            """;
        Assert.Empty(Compile(model, $"return {call};"));
    }

    [Fact]
    public void Stub_OfAFailedModelWithSeveralInputs_HasTheSameSurface()
    {
        // A shape error (DL0003) in a two-input model: the uses below compile against its stub, the DL error alone remains.
        string broken = TwoInputs.Replace("Last(Gru(x, 6, name: \"gru\", h0: h0))", "Last(Gru(x, 6, name: \"gru\", h0: h0)) + x");
        var errors = Compile(broken, """
            m.Predict(x: a, h0: b, output: y, batch: 1);
            Dl.ITrainableModel<int> t = m;
            return m.TrainStep(x: a, h0: b, y: l, batch: 1, optimizer: o) + m.Trace(x: a, h0: b, y: l, batch: 1).GetHashCode()
                + t.ComputeGradients(a, l, 1);
            """);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.StartsWith("DL", e.Id));
    }

    [Fact]
    public void SeveralInputs_GeneratedCode_StagesEachInputWithItsName()
    {
        var (diagnostics, generated, _) = GeneratorHarness.RunModel(TwoInputs);
        Assert.Empty(diagnostics);
        Assert.Contains("ThrowInputLength(\"h0\", h0.Length, batch, 6)", generated);
        Assert.Contains("float global::Dl.ITrainableModel<int>.ComputeGradients(", generated);
    }

    [Fact]
    public void AUserMethodLikeAPerInputDataMethod_IsDL0014_AnotherCountIsAnOverload()
    {
        string clash = TwoInputs.Replace("[Loss]", "public float Loss(float[] x, float[] h0, int[] y, int batch) => 0; [Loss]");
        GeneratorHarness.SingleDiagnostic(clash, "DL0014", out _);
        string overload = TwoInputs.Replace("[Loss]", "public float Loss(float[] x, float[] h0, int[] y, int batch, int more) => 0; [Loss]");
        Assert.DoesNotContain(GeneratorHarness.RunModel(overload).Diagnostics, d => d.Id.StartsWith("DL", StringComparison.Ordinal));
    }
}

/// <summary>Shared layers: <c>shared: true</c> reuses an earlier layer's weights; without it a second layer of the same
/// name stays DL0008; a shared call without an earlier layer, or with other shapes, is DL0012 (LayerRules.Shared, the
/// tape's message too).</summary>
public class SharedLayerDiagnosticTests
{
    private static string Model(string second) => $$"""
        [Model] partial class M
        {
            [Forward] Tensor F([Shape(4)] Tensor x, [Shape(6)] Tensor z) => Linear(x, 3, name: "fc") + {{second}};
        }
        """;

    [Fact]
    public void Shared_Builds_WithOneSetOfParameters()
    {
        var (diagnostics, generated, _) = GeneratorHarness.RunModel(Model("Linear(x * 2f, 3, name: \"fc\", shared: true)"));
        Assert.Empty(diagnostics);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(generated, "new\\(\"fc.weight\""));
        Assert.Contains("new(\"fc\", \"Linear (shared)\", new int[] { 3 }, 0)", generated);
    }

    [Fact]
    public void ASecondLayerOfTheSameName_WithoutShared_IsStillDL0008()
        => GeneratorHarness.SingleDiagnostic(Model("Linear(x * 2f, 3, name: \"fc\")"), "DL0008", out _);

    [Fact]
    public void Shared_WithOtherShapes_IsDL0012_AtTheCall()
    {
        var d = GeneratorHarness.SingleDiagnostic(Model("Linear(z, 3, name: \"fc\", shared: true)"), "DL0012", out string text);
        Assert.Contains("the shared layer 'fc' has weight [3, 4], but this call needs [3, 6]", d.GetMessage());
        Assert.StartsWith("Linear(z", text);
    }

    [Fact]
    public void Shared_WithoutAnEarlierLayer_IsDL0012()
    {
        var d = GeneratorHarness.SingleDiagnostic(Model("Linear(x, 3, name: \"other\", shared: true)"), "DL0012", out _);
        Assert.Contains("reuses the weights of an earlier layer named 'other', but there is none", d.GetMessage());
    }
}
