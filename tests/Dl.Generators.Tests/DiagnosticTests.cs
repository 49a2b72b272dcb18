using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>Every DL#### diagnostic has a model that triggers it, at the offending expression.</summary>
public class DiagnosticTests
{
    private static string _source = "";

    private static Diagnostic Single(string source, string id)
    {
        _source = GeneratorHarness.Usings + source;
        var (generator, _, _) = GeneratorHarness.Run(_source);
        var found = generator.Where(d => d.Id == id).ToList();
        Assert.True(found.Count == 1, $"expected one {id}, got: {string.Join("; ", generator.Select(d => d.Id + " " + d.GetMessage()))}");
        return found[0];
    }

    private static string Text(Diagnostic d) => _source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);

    [Fact]
    public void DL0001_UnsupportedConstruct_AtTheStatement()
    {
        var d = Single(FailingModels.Statement.Source, "DL0001");
        Assert.StartsWith("if (true)", Text(d));
    }

    [Fact]
    public void DL0001_MultiLineCode_IsQuotedOnOneLine()
    {
        var d = Single(FailingModels.MultiLineStatement.Source, "DL0001");
        Assert.StartsWith("'while (x.Rank > 5) { x = Relu(x); }' is not supported in model code: ", d.GetMessage());
    }

    [Fact]
    public void DL0001_LongCode_IsTruncatedWithAnEllipsis()
    {
        var d = Single(FailingModels.LongStatement.Source, "DL0001");
        string quote = d.GetMessage().Substring(1, d.GetMessage().IndexOf("' is not supported", StringComparison.Ordinal) - 1);
        Assert.StartsWith("if (true) { x = Relu(Relu(", quote);
        Assert.EndsWith("…", quote);
        Assert.InRange(quote.Length, 70, Dl.Generators.Diagnostics.MessageText.MaxQuote);
    }

    [Fact]
    public void MessageArguments_EveryKindOfLineBreak_BecomesOneSpace()
    {
        var d = Dl.Generators.Diagnostics.DiagnosticInfo.Create(Dl.Generators.Diagnostics.DiagnosticDescriptors.InvalidArgument, null,
            "a\r\n\tb", "c\u0085d\u2028e\u2029 \vf\n").ToDiagnostic();
        Assert.Equal("Invalid argument of a b: c d e f", d.GetMessage());
    }

    [Theory]
    [InlineData("op_Addition", "operator +")]
    [InlineData("op_Subtraction", "operator -")]
    [InlineData("op_Multiply", "operator *")]
    [InlineData("op_Division", "operator /")]
    [InlineData("op_UnaryNegation", "unary operator -")]
    public void Operators_AreNamedAsWritten(string metadataName, string expected)
    {
        var tensor = GeneratorHarness.Compilation("").GetTypeByMetadataName("Dl.Tensor")!;
        Assert.Equal(expected, Dl.Generators.Diagnostics.MessageText.OpName(tensor.GetMembers(metadataName)[0]));
    }

    [Fact]
    public void DL0002_UnknownOp_NamesTheMethod()
    {
        var d = Single(FailingModels.UnknownOp.Source, "DL0002");
        Assert.Contains("Mystery", d.GetMessage());
    }

    [Fact]
    public void DL0003_ShapeMismatch_NamesBothShapes()
    {
        var d = Single(FailingModels.BroadcastAdd.Source, "DL0003");
        Assert.Contains("[B, 4]", d.GetMessage());
        Assert.Contains("[B, 3]", d.GetMessage());
        Assert.Equal("x + y", Text(d));
        Assert.Equal("Shape mismatch in operator +: [B, 4] and [B, 3]: per-sample axis 0 (the first after the batch B) is 4 against 3; "
            + "they broadcast only when equal or one is 1", d.GetMessage());
    }

    [Fact]
    public void DL0003_Multiply_NamesTheOperatorAndThePerSampleAxis()
    {
        var d = Single(FailingModels.BroadcastMultiplyMatrices.Source, "DL0003");
        Assert.StartsWith("Shape mismatch in operator *: [B, 2, 4] and [B, 3, 4]: per-sample axis 0 (the first after the batch B) is 2 against 3", d.GetMessage());
    }

    [Fact]
    public void DL0003_Concat_NamesThePerSampleAxis()
    {
        var d = Single(FailingModels.ConcatAxis.Source, "DL0003");
        Assert.EndsWith(": per-sample axis 1 (the second after the batch B) differs (4 against 3)", d.GetMessage());
    }

    [Fact]
    public void DL0003_MatMulInnerDimensions()
    {
        var d = Single(FailingModels.MatMulInner.Source, "DL0003");
        Assert.Contains("inner dimensions differ (4 against 5)", d.GetMessage());
    }

    [Fact]
    public void DL0004_NonConstantWidth()
    {
        var d = Single(FailingModels.NonConstantWidth.Source, "DL0004");
        Assert.Contains("width", d.GetMessage() + Text(d));
    }

    [Fact]
    public void DL0004_NonConstantLoopBound()
    {
        var d = Single(FailingModels.NonConstantLoopBound.Source, "DL0004");
        Assert.Equal("layers", Text(d));
    }

    [Fact]
    public void DL0005_NotPartial()
    {
        var d = Single(FailingModels.NotPartial.Source, "DL0005");
        Assert.Equal("M", Text(d));
    }

    [Fact]
    public void DL0005_ContainingTypeNotPartial()
    {
        var d = Single(FailingModels.ContainerNotPartial.Source, "DL0005");
        Assert.Equal("Outer", Text(d));
    }

    [Fact]
    public void NestedModel_InPartialContainers_Compiles()
    {
        var (generator, sources, errors) = GeneratorHarness.Run(GeneratorHarness.Usings + """
            namespace App;
            public static partial class Outer
            {
                public partial record Middle
                {
                    [Model] public sealed partial class Net
                    {
                        [Forward] Tensor F([Shape(3)] Tensor x) => Linear(x, 2, "fc");
                        [Loss] Tensor L(Tensor y, [Labels(2)] Tensor t) => SoftmaxCrossEntropy(y, t);
                    }
                }
            }
            """);
        Assert.Empty(generator);
        Assert.Empty(errors);
        Assert.Contains("partial record Middle", sources[0]);
    }

    [Fact]
    public void IdentityAndParameterOutputs_Compile()
    {
        // Degenerate graphs: the output is the input itself, or a parameter (the same for every sample).
        var (generator, _, errors) = GeneratorHarness.Run(GeneratorHarness.Usings + """
            [Model] partial class Identity { [Forward] Tensor F([Shape(3)] Tensor x) => x; }
            [Model] partial class Constant { [Param(2)] Tensor w; [Forward] Tensor F([Shape(3)] Tensor x) => w; }
            """);
        Assert.Empty(generator);
        Assert.Empty(errors);
    }

    [Fact]
    public void DL0001_GenericModel()
    {
        var d = Single(FailingModels.Generic.Source, "DL0001");
        Assert.Contains("generic", d.GetMessage());
    }

    /// <summary>A loss that depends on no parameter was DL0007 ("nothing to train"); it is allowed now, for the trace and
    /// input gradients, and the model has Loss and Trace but no training methods (not ITrainableModel).</summary>
    [Fact]
    public void LossWithoutParameters_Builds_WithoutTrainingMethods()
    {
        var (diagnostics, generated, _) = GeneratorHarness.RunModel("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) => Relu(x);
                [Loss] Tensor L(Tensor y, [Shape(4)] Tensor t) => MseLoss(y, t);
            }
            """);
        Assert.Empty(diagnostics);
        Assert.DoesNotContain("ITrainableModel", generated);
        Assert.DoesNotContain("TrainStep", generated);
        Assert.Contains("public float Loss(global::System.ReadOnlySpan<float> x, global::System.ReadOnlySpan<float> t, int batch)", generated);
    }

    [Fact]
    public void DL0006_MissingForward() => Single(FailingModels.MissingForward.Source, "DL0006");

    [Fact]
    public void DL0007_LossNotScalar()
    {
        var d = Single(FailingModels.LossNotScalar.Source, "DL0007");
        Assert.Contains("scalar per sample", d.GetMessage());
    }

    [Fact]
    public void DL0008_DuplicateParameterName()
    {
        var d = Single(FailingModels.DuplicateParameter.Source, "DL0008");
        Assert.Contains("fc.weight", d.GetMessage());
    }

    [Fact]
    public void DL0009_StepOnTheGradientPath()
    {
        var d = Single(FailingModels.StepOnGradientPath.Source, "DL0009");
        Assert.StartsWith("Step(", Text(d));
    }

    [Fact]
    public void DL0011_InputWithoutShape()
    {
        var d = Single(FailingModels.InputWithoutShape.Source, "DL0011");
        Assert.Contains("'x'", d.GetMessage());
    }

    [Fact]
    public void DL0011_TargetWithoutShape()
    {
        var d = Single(FailingModels.TargetWithoutShape.Source, "DL0011");
        Assert.Contains("'t'", d.GetMessage());
    }

    [Fact]
    public void DL0014_MemberNamedLikeAGeneratedOne_AtTheMember()
    {
        var d = Single(FailingModels.MemberNamedLikeGenerated.Source, "DL0014");
        Assert.Equal("Training", Text(d));
        Assert.Equal("'Training' in model 'M' collides with generated code: the generated half of the class declares a member of that name; rename it", d.GetMessage());
    }

    [Fact]
    public void DL0014_UserConstructor_AtTheConstructor()
    {
        var d = Single(FailingModels.UserConstructor.Source, "DL0014");
        Assert.Equal("M", Text(d));
        Assert.StartsWith("'M(...)' in model 'M' collides with generated code: the generator declares the model's constructors", d.GetMessage());
    }

    [Fact]
    public void DL0015_BufferOverArrayMaxLength_CountsIn64Bits()
    {
        var d = Single(FailingModels.HugeLinear.Source, "DL0015");
        Assert.Equal("Linear(x, 50000, \"fc\")", Text(d));
        Assert.Equal("the weight of Linear fc.weight [50000, 50000] has 2,500,000,000 elements; a buffer holds at most 2,147,483,591 elements (Array.MaxLength)", d.GetMessage());
    }

    [Fact]
    public void DL0001_AbstractModelAndRefInput_AtTheDeclaration()
    {
        Assert.Contains("cannot be abstract", Single(FailingModels.AbstractModel.Source, "DL0001").GetMessage());
        var d = Single(FailingModels.RefInput.Source, "DL0001");
        Assert.Equal("x", Text(d));
        Assert.Equal("'ref x' is not supported in model code: the parameters of a [Forward] method are passed by value (no ref, out, in or params)", d.GetMessage());
    }

    [Fact]
    public void DL0012_IndexOutOfRange()
    {
        var d = Single(FailingModels.IndexOutOfRange.Source, "DL0012");
        Assert.Contains("index 5 is outside 0..1 on per-sample axis 0 (the first after the batch B)", d.GetMessage());
    }

    [Fact]
    public void DL0010_InternalError_IsADiagnosticNotACrash()
    {
        // A spec whose output node does not exist: lowering fails inside the generator, which must report DL0010.
        var spec = new Dl.Generators.Model.ModelSpec("App", "Broken", "partial", "Forward", null,
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.InputSpec>.Empty, null,
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.ParameterSpec>.Empty,
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.NodeSpec>.Empty, OutputNode: 3, LossNode: -1,
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.LayerSpec>.Empty);
        var (source, error) = Dl.Generators.ModelGenerator.Render(spec);
        Assert.Null(source);
        Assert.Equal("DL0010", error!.Id);
        Assert.Contains("Broken", error.GetMessage());
    }
}
