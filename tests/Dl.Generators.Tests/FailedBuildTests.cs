namespace Dl.Tests;

/// <summary>A model with a DL error fails the build with that diagnostic alone: the stub the generator emits instead of
/// the model keeps every use of the model compiling, so no compiler error, nor a warning under -warnaserror, joins it.</summary>
public class FailedBuildTests
{
    [Theory]
    [MemberData(nameof(FailingModels.Names), MemberType = typeof(FailingModels))]
    public void FailingModel_UsedEverywhere_ReportsOnlyDlDiagnostics(string name)
    {
        var model = FailingModels.Get(name);
        // Where no stub can be emitted (DL0005) the uses would fail whatever the generator did: only the model is compiled.
        string source = GeneratorHarness.Usings + model.Source + (model.Stub ? Uses(model) : "");
        var (generator, _, errors) = GeneratorHarness.RunWarningsAsErrors(source);
        Assert.NotEmpty(generator);
        Assert.All(generator, d => Assert.Matches("^DL[0-9]{4}$", d.Id));
        Assert.True(errors.Length == 0, "compiler errors besides the DL diagnostics:\n" + string.Join("\n", errors.Select(e => e.ToString())));
    }

    [Fact]
    public void Stub_MembersThrow_NamingTheModel()
    {
        var stub = Dl.Generators.Emit.StubEmitter.Emit(new Dl.Generators.Model.ModelShell("App", "Net", "", new string[0], new[] { "w" }, new[] { "int" }), "1");
        Assert.Contains("The model Net failed to build with DL diagnostics (see the build output)", stub);
        Assert.Contains("w = default!;", stub);
        // Long lines are wrapped (SourceWriter.MaxWidth): compare with the line breaks and indentation as single spaces.
        Assert.Contains("public float TrainStep(global::System.ReadOnlySpan<float> input, global::System.ReadOnlySpan<int> target, int batch, global::Dl.IOptimizer optimizer) => throw new global::System.InvalidOperationException(DlBuildError);",
            System.Text.RegularExpressions.Regex.Replace(stub, @"\s+", " "));
    }

    [Fact]
    public void InternalError_InLowering_StillEmitsAStub()
    {
        // DL0010 after parsing: the stub comes from the spec (the broken spec of DiagnosticTests.DL0010_...).
        var spec = new Dl.Generators.Model.ModelSpec("App", "Broken", "partial", "Forward", null,
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.InputSpec>.Empty,
            new Dl.Generators.Model.InputSpec("t", new int[0], 3),
            new[] { new Dl.Generators.Model.ParameterSpec("w", new[] { 2 }, 0, 0, 1, 1, "w") },
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.NodeSpec>.Empty, OutputNode: 3, LossNode: -1,
            Dl.Generators.Helpers.EquatableArray<Dl.Generators.Model.LayerSpec>.Empty);
        var stub = Dl.Generators.Emit.StubEmitter.Emit(Dl.Generators.Model.ModelShell.Of(spec), "1");
        var model = new FailingModel("namespace App; [Model] partial class Broken { [Param(2)] Tensor w; Tensor F(Tensor x) => x * w; }",
            Type: "App.Broken", Target: "int");
        var compilation = GeneratorHarness.Compilation(GeneratorHarness.Usings + model.Source, Uses(model), stub);
        var errors = compilation.WithOptions(compilation.Options.WithGeneralDiagnosticOption(Microsoft.CodeAnalysis.ReportDiagnostic.Error))
            .GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error).ToArray();
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => e.ToString())));
    }

    /// <summary>Code that uses every public member of the generated model, as an application would.</summary>
    private static string Uses(FailingModel model)
    {
        string training = string.Concat(model.Target.Split(", ", StringSplitOptions.RemoveEmptyEntries).Select(t => $$"""

                    global::Dl.ITrainableModel<{{t}}> trainable{{t}} = m;
                    loss += m.TrainStep(new float[4], new {{t}}[1], 1, optimizer) + m.ComputeGradients(new float[4], new {{t}}[1], 1)
                        + m.Loss(new float[4], new {{t}}[1], 1) + m.Trace(new float[4], new {{t}}[1], 1).GetHashCode();
            """));
        return $$"""

            static class Uses
            {
                static float Run(global::Dl.IOptimizer optimizer)
                {
                    var m = new {{model.Type}}(new global::Dl.ModelOptions { MaxBatch = 1 });
                    global::Dl.IModel model = m;
                    model.Predict(new float[4], new float[4], 1);   // the interface's form: every model has it, whatever its inputs
                    m.Training = false;
                    m.DropoutStep++;
                    m.Parameter("w").Clear();
                    m.Gradient("w").Clear();
                    m.Parameters.Clear();
                    m.Gradients.Clear();
                    m.State.Clear();
                    m.Save("m.safetensors");
                    m.Load("m.safetensors");
                    string text = m.Summary() + m.Graph(global::Dl.GraphFormat.Dot) + m.Description.Name + {{model.Type}}.StaticDescription.Name + model.MaxBatch;
                    var tape = global::Dl.Dynamic.Dynamic.Create<{{model.Type}}>(seed: 1);
                    float loss = text.Length + tape.GetHashCode();{{training}}
                    return loss;
                }
            }
            """;
    }
}
